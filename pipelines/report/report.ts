/**
 * run-pipeline report: a static HTML report of one run under
 * out/reports/<run>/index.html, linking (relatively) to the figures and
 * mosaics other commands wrote under out/, so it opens from the file system.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { collectReport } from '../../src/report/collect-report.js';
import { renderReportPage } from '../../src/report/report-page.js';
import type { Store } from '../../src/store/open-store.js';
import { describeExplorerCommand } from '../../src/vocabulary.js';

export interface ReportOptions {
  db: Store;
  runId: string;
  /** Root of the generated artefacts; default out. */
  outRoot?: string;
  /** Default <outRoot>/reports/<run>. */
  outDir?: string;
  /** The store's path, for the line that says how to open the explorer on it. */
  dbPath?: string;
}

export interface ReportResult {
  path: string;
  passes: number;
  experiments: number;
  epochs: number;
}

/**
 * Writes the report of `runId`.
 * @throws UsageError when the run is not in the store.
 */
export function writeReport(options: ReportOptions): ReportResult {
  const outRoot = resolve(options.outRoot ?? 'out');
  const data = collectReport(options.db, options.runId, outRoot);
  const outDir = resolve(options.outDir ?? join(outRoot, 'reports', data.run.id));
  mkdirSync(outDir, { recursive: true });
  const link = (target: string) => relative(outDir, resolve(target)).split('\\').join('/');
  const path = join(outDir, 'index.html');
  writeFileSync(path, renderReportPage(data, link, options.dbPath === undefined ? undefined : describeExplorerCommand(options.dbPath, process.cwd())));
  return { path, passes: data.passes.length, experiments: data.experiments.length, epochs: data.epochs.length };
}
