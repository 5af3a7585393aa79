/**
 * `run-pipeline compare` (Fig. 6, Sec. 4.1): two models side by side (the
 * paper: its AlexNet replication and ZFNet), checkpoints of the project's
 * architectures or imported models (compare-sources.ts). For each: the
 * filters of the first conv layer (the one reading the image) on one common
 * scale, the fraction of dead (near-zero) filters, and the share of each
 * filter's energy in low / mid / high spatial-frequency bands of its 2-D DFT.
 * Numbers go to the store (filter_stats) and filters.csv; pictures to
 * filters-A-<model>.png, filters-B-<model>.png and bands.png. Unless `layer2`
 * is null, also the top-9 sheets of one layer of each model (conv2 unless
 * named; compare-layer2.ts): a top-activations pass of that layer per model
 * (reused when an identical one finished), its mosaics in
 * top9-<label>-<model>-<layer>/, and top9-side-by-side.png; the pass
 * run ids go to the run's options and summary.json.
 */
import { join } from 'node:path';
import { UsageError } from '../../src/errors.js';
import { extractFilterImages, DEFAULT_FREQUENCY_BANDS, type BandEnergy } from '../../src/experiments/filter-spectrum.js';
import { formatCsv } from '../../src/experiments/result-files.js';
import { computeMeanAndStd } from '../../src/experiments/feature-measures.js';
import { drawFilterSheet } from '../../src/mosaic/draw-sheet.js';
import { writeSheetPng, writeTextFile } from '../../src/mosaic/render-sheet.js';
import { lineChartSvg } from '../../src/plot/line-chart.js';
import { writeSvgAndPng } from '../../src/plot/render-png.js';
import type { Store } from '../../src/store/open-store.js';
import { insertFilterStats } from '../../src/store/experiment-results-store.js';
import { createRun, makeRunId, setRunStatus, uniqueRunId } from '../../src/store/runs.js';
import { DEFAULT_COMPARE_LAYER, runLayer2Passes, writeLayer2Sheets, type Layer2Model, type Layer2Options, type Layer2Pass, type Layer2Result } from './compare-layer2.js';
import { readCompareFilters, resolveImportedLayer, type CompareSource, type FilterStats } from './compare-sources.js';

export interface ComparePipelineOptions {
  db: Store;
  /** Two (or more) models, labelled A, B, ... in this order: checkpoint files or imported model names. */
  sources: CompareSource[];
  /** Dead when RMS < deadRatio x the layer's median filter RMS. */
  deadRatio: number;
  /** Default out/compare/<run id>. */
  outDir?: string;
  /** The top-9 sheets of one layer of each model (conv2 unless named); null for the filter-only comparison. */
  layer2: Layer2Options | null;
  log?: (line: string) => void;
}

export interface CheckpointFilterSummary {
  label: string;
  path: string;
  model: string;
  /** The layer the filters belong to (`conv1`, `features.0`). */
  filterLayer: string;
  kernelPx: number;
  filters: number;
  deadFraction: number;
  /** Mean band fractions over the filters that are not dead. */
  meanBands: BandEnergy;
  /** Filters (not dead) with more than half their energy in one band. */
  mostlyLow: number;
  mostlyHigh: number;
}

export interface ComparePipelineResult {
  runId: string;
  outDir: string;
  summaries: CheckpointFilterSummary[];
  /** Null when layer 2 was not asked for. */
  layer2: Layer2Result | null;
  files: string[];
}

function summarise(s: FilterStats): CheckpointFilterSummary {
  const live = s.bands.filter((_, i) => !s.dead[i]);
  const mean = (key: keyof BandEnergy) => computeMeanAndStd(live.map((b) => b[key])).mean;
  return {
    label: s.label, path: s.path, model: s.model, filterLayer: s.filterLayer, kernelPx: s.shape[0]!, filters: s.rms.length,
    deadFraction: s.dead.filter(Boolean).length / s.rms.length,
    meanBands: { low: mean('low'), mid: mean('mid'), high: mean('high') },
    mostlyLow: live.filter((b) => b.low > 0.5).length, mostlyHigh: live.filter((b) => b.high > 0.5).length,
  };
}

/**
 * Compares the first-layer filters of the models and, unless `layer2` is null, the top-9 sheets of one layer of each.
 * @throws UsageError naming a checkpoint or imported model that cannot be used, a layer a model lacks, or an unusable dataset, split or unit selection.
 */
export async function runComparePipeline(options: ComparePipelineOptions): Promise<ComparePipelineResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const stats = readCompareFilters(options.db, options.sources, options.deadRatio);
  // The passes are runs of their own, so they go first and the compare run can name them in its options.
  const passes = options.layer2 === null ? null : await runLayer2Passes(options.db, layer2Models(options.db, stats, options.layer2), options.layer2, log);
  const runId = uniqueRunId(options.db, makeRunId('compare', new Date(), stats.map((s) => s.model).join('-vs-')));
  const outDir = options.outDir ?? join('out', 'compare', runId);
  createRun(options.db, { id: runId, kind: 'compare', model: stats.map((s) => s.model).join(','), options: {
    models: stats.map((s) => ({ label: s.label, ...s.source, model: s.model, path: s.path, sha256: s.sha256, filterLayer: s.filterLayer })), deadRatio: options.deadRatio, bands: DEFAULT_FREQUENCY_BANDS,
    layer2: describeLayer2(options.layer2, passes),
  } });
  try {
    storeStats(options.db, runId, stats);
    const files = await writeOutputs(outDir, stats);
    const layer2 = options.layer2 === null || passes === null ? null : await writeLayer2Sheets(options.db, passes, options.layer2, outDir, log);
    if (layer2 !== null) files.push(join(outDir, layer2.sideBySide));
    setRunStatus(options.db, runId, 'finished');
    const summaries = stats.map(summarise);
    for (const s of summaries) {
      log(`compare ${s.label} ${s.model} (${s.kernelPx}x${s.kernelPx} ${s.filterLayer}): ${(100 * s.deadFraction).toFixed(1)}% dead; bands low/mid/high ${s.meanBands.low.toFixed(2)}/${s.meanBands.mid.toFixed(2)}/${s.meanBands.high.toFixed(2)}`);
    }
    writeTextFile(join(outDir, 'summary.json'), `${JSON.stringify({ runId, summaries, layer2 }, null, 2)}\n`);
    return { runId, outDir, summaries, layer2, files: [...files, join(outDir, 'summary.json')] };
  } catch (error) {
    setRunStatus(options.db, runId, 'failed');
    throw error;
  }
}

/**
 * Each model with its compared layer: conv2 unless named (one name for all, or one per model), an imported model's by its own name.
 * @throws UsageError when the count of names fits neither, or an imported model lacks its layer
 */
function layer2Models(db: Store, stats: readonly FilterStats[], options: Layer2Options): Layer2Model[] {
  const names = (options.layer ?? DEFAULT_COMPARE_LAYER).split(',').map((n) => n.trim());
  if (names.some((n) => n === '') || (names.length !== 1 && names.length !== stats.length)) {
    throw new UsageError(`Expected one layer name, or one per model (${stats.length}) separated by commas, for --layer but received ${JSON.stringify(options.layer)}`);
  }
  return stats.map((s, i) => {
    const layer = names[names.length === 1 ? 0 : i]!;
    return { label: s.label, source: s.source, model: s.model, layer: 'model' in s.source ? resolveImportedLayer(db, s.source.model, layer) : layer };
  });
}

/** The top-9 part of the run's options: its settings and the top-activations run of each model. */
function describeLayer2(layer2: Layer2Options | null, passes: Layer2Pass[] | null): Record<string, unknown> | null {
  if (layer2 === null || passes === null) return null;
  return {
    layer: layer2.layer ?? DEFAULT_COMPARE_LAYER, data: layer2.data ?? null, split: layer2.split, units: layer2.units, seed: layer2.seed,
    topActivationsRuns: passes.map((p) => ({ label: p.label, model: p.model, layer: p.layer, runId: p.topActivationsRunId, status: p.status })),
  };
}

function storeStats(db: Store, runId: string, stats: FilterStats[]): void {
  insertFilterStats(db, runId, stats.flatMap((s) => s.bands.map((b, filter) => ({
    checkpoint: s.label, checkpointPath: s.path, checkpointSha256: s.sha256, model: s.model, filter, rms: s.rms[filter]!, dead: s.dead[filter] ? 1 as const : 0 as const,
    bandLow: b.low, bandMid: b.mid, bandHigh: b.high,
  }))));
}

/** filters-X.png per checkpoint, filters.csv, and bands.png (each filter's high-band share, sorted, per checkpoint). */
async function writeOutputs(outDir: string, stats: FilterStats[]): Promise<string[]> {
  const files: string[] = [];
  for (const s of stats) {
    const path = join(outDir, `filters-${s.label}-${s.model}.png`);
    await writeSheetPng(path, drawFilterSheet(extractFilterImages(s.weights, s.shape), 44, Math.ceil(Math.sqrt(s.rms.length))));
    files.push(path);
  }
  const csv = join(outDir, 'filters.csv');
  writeTextFile(csv, formatCsv(['checkpoint', 'model', 'filter', 'rms', 'dead', 'band_low', 'band_mid', 'band_high'],
    stats.flatMap((s) => s.bands.map((b, f) => [s.label, s.model, f, s.rms[f]!, s.dead[f] ? 1 : 0, b.low, b.mid, b.high]))));
  const series = stats.flatMap((s) => (['low', 'high'] as const).map((band) => ({
    name: `${s.label} ${s.model}: ${band}`,
    points: s.bands.map((b) => b[band]).sort((x, y) => y - x).map((v, i) => [i / Math.max(1, s.bands.length - 1), v] as [number, number]),
  })));
  const bands = join(outDir, 'bands.png');
  await writeSvgAndPng(lineChartSvg({ title: `first-layer filters (${[...new Set(stats.map((s) => s.filterLayer))].join(', ')}): low and high band energy share`, xLabel: 'filter rank (fraction of filters)', yLabel: 'share of DFT energy', series, yMin: 0, yMax: 1 }), bands);
  return [...files, csv, bands];
}
