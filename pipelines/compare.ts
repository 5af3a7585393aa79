/**
 * `run-pipeline compare` (Fig. 6, Sec. 4.1): two checkpoints side by side
 * (the paper: its AlexNet replication and ZFNet). For each: the layer-1
 * filters on one common scale, the fraction of dead (near-zero) filters, and
 * the share of each filter's energy in low / mid / high spatial-frequency
 * bands of its 2-D DFT. Numbers go to the store (filter_stats) and
 * filters.csv; pictures to filters-A.png, filters-B.png and bands.png.
 * Unless `layer2` is null, also the layer-2 top-9 sheets of each model
 * (compare-layer2.ts): a conv2 top-activations pass per checkpoint (reused
 * when an identical one finished), its mosaics in layer2-<label>-<model>/,
 * and layer2-side-by-side.png; the pass run ids go to the run's options and
 * summary.json.
 */
import { join } from 'node:path';
import { readCheckpointFile } from '../src/checkpoint/checkpoint-file.js';
import {
  computeBandEnergies, computeFilterRms, detectDeadFilters, extractFilterImages, DEFAULT_FREQUENCY_BANDS, type BandEnergy,
} from '../src/experiments/filter-spectrum.js';
import { formatCsv } from '../src/experiments/result-files.js';
import { computeMeanAndStd } from '../src/experiments/feature-measures.js';
import { drawFilterSheet } from '../src/mosaic/draw-sheet.js';
import { writeSheetPng, writeTextFile } from '../src/mosaic/render-sheet.js';
import { lineChartSvg } from '../src/plot/line-chart.js';
import { writeSvgAndPng } from '../src/plot/render-png.js';
import { convertFromTorch, parameterLayouts } from '../src/checkpoint/torch-layout.js';
import type { Store } from '../src/store/open-store.js';
import { insertFilterStats } from '../src/store/experiment-results-store.js';
import { createRun, makeRunId, setRunStatus, uniqueRunId } from '../src/store/runs.js';
import { runLayer2Passes, writeLayer2Sheets, type Layer2Options, type Layer2Pass, type Layer2Result } from './compare-layer2.js';

export interface ComparePipelineOptions {
  db: Store;
  /** Two (or more) checkpoint files, labelled A, B, ... in this order. */
  checkpoints: string[];
  /** Dead when RMS < deadRatio x the layer's median filter RMS. */
  deadRatio: number;
  /** Default out/compare/<run id>. */
  outDir?: string;
  /** The layer-2 top-9 sheets of each model; null for the filter-only comparison. */
  layer2: Layer2Options | null;
  log?: (line: string) => void;
}

export interface CheckpointFilterSummary {
  label: string;
  path: string;
  model: string;
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

interface FilterStats { label: string; path: string; sha256: string; model: string; shape: number[]; rms: Float64Array; dead: boolean[]; bands: BandEnergy[]; weights: Float32Array }

/** Reads conv1 of a checkpoint (no backend needed) and computes its statistics. */
function analyseCheckpoint(label: string, path: string, deadRatio: number): FilterStats {
  const contents = readCheckpointFile(path);
  const layout = parameterLayouts(contents.config).find((l) => l.name === 'conv1.weight')!;
  const weights = convertFromTorch(layout, contents.tensors.get('conv1.weight')!.data);
  const shape = layout.tfjsShape;
  const rms = computeFilterRms(weights, shape);
  return { label, path, sha256: contents.sha256, model: contents.config.name, shape, rms, dead: detectDeadFilters(rms, deadRatio), bands: computeBandEnergies(weights, shape), weights };
}

function summarise(s: FilterStats): CheckpointFilterSummary {
  const live = s.bands.filter((_, i) => !s.dead[i]);
  const mean = (key: keyof BandEnergy) => computeMeanAndStd(live.map((b) => b[key])).mean;
  return {
    label: s.label, path: s.path, model: s.model, kernelPx: s.shape[0]!, filters: s.rms.length,
    deadFraction: s.dead.filter(Boolean).length / s.rms.length,
    meanBands: { low: mean('low'), mid: mean('mid'), high: mean('high') },
    mostlyLow: live.filter((b) => b.low > 0.5).length, mostlyHigh: live.filter((b) => b.high > 0.5).length,
  };
}

/**
 * Compares the layer-1 filters of checkpoints and, unless `layer2` is null, their layer-2 top-9 sheets.
 * @throws UsageError naming a checkpoint that cannot be read, or an unusable dataset, split or unit selection.
 */
export async function runComparePipeline(options: ComparePipelineOptions): Promise<ComparePipelineResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const stats = options.checkpoints.map((path, i) => analyseCheckpoint(String.fromCharCode(65 + i), path, options.deadRatio));
  // The passes are runs of their own, so they go first and the compare run can name them in its options.
  const passes = options.layer2 === null ? null : await runLayer2Passes(options.db, stats.map(({ label, path, model }) => ({ label, path, model })), options.layer2, log);
  const runId = uniqueRunId(options.db, makeRunId('compare', new Date(), stats.map((s) => s.model).join('-vs-')));
  const outDir = options.outDir ?? join('out', 'compare', runId);
  createRun(options.db, { id: runId, kind: 'compare', model: stats.map((s) => s.model).join(','), options: {
    checkpoints: stats.map((s) => ({ label: s.label, path: s.path, sha256: s.sha256 })), deadRatio: options.deadRatio, bands: DEFAULT_FREQUENCY_BANDS,
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
      log(`compare ${s.label} ${s.model} (${s.kernelPx}x${s.kernelPx} conv1): ${(100 * s.deadFraction).toFixed(1)}% dead; bands low/mid/high ${s.meanBands.low.toFixed(2)}/${s.meanBands.mid.toFixed(2)}/${s.meanBands.high.toFixed(2)}`);
    }
    writeTextFile(join(outDir, 'summary.json'), `${JSON.stringify({ runId, summaries, layer2 }, null, 2)}\n`);
    return { runId, outDir, summaries, layer2, files: [...files, join(outDir, 'summary.json')] };
  } catch (error) {
    setRunStatus(options.db, runId, 'failed');
    throw error;
  }
}

/** The layer-2 part of the run's options: its settings and the top-activations run of each checkpoint. */
function describeLayer2(layer2: Layer2Options | null, passes: Layer2Pass[] | null): Record<string, unknown> | null {
  if (layer2 === null || passes === null) return null;
  return {
    data: layer2.data ?? null, split: layer2.split, units: layer2.units, seed: layer2.seed,
    topActivationsRuns: passes.map((p) => ({ label: p.label, model: p.model, runId: p.topActivationsRunId, status: p.status })),
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
  await writeSvgAndPng(lineChartSvg({ title: 'conv1 filters: low and high band energy share', xLabel: 'filter rank (fraction of filters)', yLabel: 'share of DFT energy', series, yMin: 0, yMax: 1 }), bands);
  return [...files, csv, bands];
}
