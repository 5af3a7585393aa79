/**
 * `npm run bench [-- NAME ...] [-- --flag=value ...]`: runs the named
 * benchmarks (all without a name), each in its own child process so that the
 * peak RSS of one does not carry into the next, prints each benchmark's rows
 * and notes, then one summary table of every row with its peak RSS, and
 * writes the whole run as JSON under out/bench/ with the machine's core
 * count and the backends measured.
 *
 * Each benchmark is a module exporting `runBenchmark(args): Promise<BenchResult>`;
 * flags (arguments starting with --) go to every benchmark.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { BenchResult } from './bench-types.js';

/** What a benchmark's child process hands back. */
interface ChildReport {
  result: BenchResult;
  /** Peak RSS of the whole child process (getrusage maxRSS). */
  processPeakRssMiB: number;
  /** The tfjs backend active in the child at the end, if one was started. */
  activeBackend: string | null;
}

/** Two decimals, or three significant digits for values under 1 (a cpu step of full zfnet is 0.0049 img/s). */
function formatValue(value: number): string {
  return Math.abs(value) >= 1 || value === 0 ? value.toFixed(2) : value.toPrecision(3);
}

type BenchModule = { runBenchmark(args: string[]): Promise<BenchResult> };

/** The table of benchmarks: name -> module. */
const BENCHMARKS: Readonly<Record<string, () => Promise<BenchModule>>> = Object.freeze({
  forward: () => import('./forward.js'),
  input: () => import('./input.js'),
  'top-activations': () => import('./top-activations.js'),
  'top-activations-rss': () => import('./top-activations-rss.js'),
  throughput: () => import('./throughput.js'),
  'onnx-vs-torch': () => import('./onnx-vs-torch.js'),
  project: () => import('./project.js'),
  mosaics: () => import('./mosaics.js'),
  kernels: () => import('./kernels.js'),
  train: () => import('./train.js'),
  'train-vs-torch': () => import('./train-vs-torch.js'),
  'train-rss': () => import('./train-rss.js'),
  serve: () => import('./serve.js'),
  'preferred-inputs': () => import('./preferred-inputs.js'),
});

function printRows(title: string, report: ChildReport): void {
  process.stdout.write(`\n== ${title} (process peak RSS ${report.processPeakRssMiB.toFixed(0)} MiB)\n`);
  for (const row of report.result.rows) {
    const rss = row.peakRssMiB !== undefined ? `  peak RSS ${row.peakRssMiB.toFixed(0)} MiB` : '';
    process.stdout.write(`${row.name.padEnd(64)} ${formatValue(row.value).padStart(10)} ${row.unit}${rss}\n`);
  }
  for (const note of report.result.notes ?? []) process.stdout.write(`  note: ${note}\n`);
}

/** The one table of every row; a row without its own peak RSS shows its benchmark process's peak, marked *. */
export function formatSummaryTable(reports: Readonly<Record<string, ChildReport>>): string {
  const lines = [`${'benchmark'.padEnd(12)} ${'measurement'.padEnd(64)} ${'value'.padStart(10)} ${'unit'.padEnd(10)} ${'peak RSS MiB'.padStart(12)}`];
  for (const [name, report] of Object.entries(reports)) {
    for (const row of report.result.rows) {
      const rss = row.peakRssMiB !== undefined ? row.peakRssMiB.toFixed(0) : `${report.processPeakRssMiB.toFixed(0)}*`;
      lines.push(`${name.padEnd(12)} ${row.name.padEnd(64)} ${formatValue(row.value).padStart(10)} ${row.unit.padEnd(10)} ${rss.padStart(12)}`);
    }
  }
  lines.push('* no per-row figure: the peak of the whole benchmark process');
  return lines.join('\n');
}

/** Child mode: runs one benchmark here and writes its report to `file`. */
async function runChild(name: string, file: string, flags: string[]): Promise<void> {
  const mod = await BENCHMARKS[name]!();
  const result = await mod.runBenchmark(flags);
  const activeBackend = (tf.engine() as { backendName?: string }).backendName ?? null;
  const report: ChildReport = { result, processPeakRssMiB: process.resourceUsage().maxRSS / 1024, activeBackend };
  writeFileSync(file, JSON.stringify(report));
}

/** Runs one benchmark in a child process (its output goes straight to this terminal). */
function runInChild(name: string, flags: string[]): ChildReport {
  const dir = mkdtempSync(join(tmpdir(), 'zfnet-bench-'));
  const file = join(dir, 'report.json');
  try {
    execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', name, file, ...flags], { stdio: 'inherit' });
    return JSON.parse(readFileSync(file, 'utf8')) as ChildReport;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function collectBackends(reports: Readonly<Record<string, ChildReport>>): string[] {
  const names = new Set<string>();
  for (const report of Object.values(reports)) {
    if (report.activeBackend) names.add(report.activeBackend);
    for (const row of report.result.rows) if (row.backend) names.add(row.backend);
  }
  return [...names];
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--child') return runChild(argv[1]!, argv[2]!, argv.slice(3));
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`usage: npm run bench [-- NAME ...] [-- --flag=value ...]\nruns the named benchmarks (all of them without a name), each in its own process; flags go to every benchmark (docs/readme/throughput.md)\nbenchmarks: ${Object.keys(BENCHMARKS).join(', ')}\n`);
    return;
  }
  const names = argv.filter((a) => !a.startsWith('--'));
  const flags = argv.filter((a) => a.startsWith('--'));
  const unknown = names.filter((n) => !(n in BENCHMARKS));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark ${unknown.join(', ')}; valid: ${Object.keys(BENCHMARKS).join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  const selected = names.length > 0 ? names : Object.keys(BENCHMARKS);
  const reports: Record<string, ChildReport> = {};
  const failed: string[] = [];
  for (const name of selected) {
    try {
      reports[name] = runInChild(name, flags);
      printRows(name, reports[name]!);
    } catch (error) {
      failed.push(name);
      process.stderr.write(`benchmark ${name} failed: ${(error as Error).message.split('\n')[0]}\n`);
    }
  }
  process.stdout.write(`\n== summary (${availableParallelism()} cores)\n${formatSummaryTable(reports)}\n`);
  const outDir = join('out', 'bench');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const results = Object.fromEntries(Object.entries(reports).map(([name, r]) => [name, { ...r.result, processPeakRssMiB: r.processPeakRssMiB, activeBackend: r.activeBackend }]));
  writeFileSync(file, JSON.stringify({ cores: availableParallelism(), cpu: cpus()[0]?.model, node: process.version, backends: collectBackends(reports), failed, results }, null, 2));
  process.stdout.write(`\nwritten ${file}\n`);
  if (failed.length > 0) process.exitCode = 1;
}

await main(process.argv.slice(2));
