/**
 * The batches of one layer of a preferred-inputs run: units split into about
 * equal batches (at least one per worker), as many in flight as the runner
 * runs at once; each finished batch's files written, then its rows committed
 * in one transaction (the resume marker). The unit's top-1 dataset image goes
 * with its batch and is measured by the same forward graph as the optimised
 * image; its recomputed value must equal the stored one (else the weights or
 * images changed since the top-activations run and the ratio would mislead).
 */
import { checkStoredActivation } from '../../src/deconv/check-activation.js';
import type { MosaicLayer } from '../../src/mosaic/mosaic-layers.js';
import type { PreferredJob, PreferredJobResult } from '../../src/preferred/preferred-job.js';
import type { PreferredGraphs } from '../../src/preferred/preferred-graphs.js';
import type { Store } from '../../src/store/open-store.js';
import { createPreferredInputsStore, type PreferredInputRow } from '../../src/store/preferred-inputs-store.js';
import { queryTopRows, type TopActivationRun, type TopRowView } from '../../src/store/top-activations-store.js';
import { deriveSeed } from '../../src/data/seeded-rng.js';
import type { PreferredRunner } from '../../src/preferred/preferred-runner.js';
import type { PreferredSettings } from '../../src/preferred/preferred-settings.js';
import type { Progress } from '../../src/progress.js';
import type { OpenedRun } from '../shared/experiment-session.js';
import type { PreferredInputsOptions } from './preferred-inputs-options.js';
import type { PreferredModel } from './preferred-inputs-model.js';
import { writeUnitFiles } from './preferred-inputs-output.js';

/** What a run's batches share. */
export interface PreferredContext {
  options: PreferredInputsOptions;
  model: PreferredModel;
  settings: PreferredSettings;
  runner: PreferredRunner;
  opened: OpenedRun;
  progress: Progress;
  done: { units: number };
}

/** The unit's own stream: the same whatever batch, worker or call optimises it. */
export function unitSeed(seed: number, layer: number, unit: number): number {
  return deriveSeed(seed, layer, unit);
}

/** A run's top-k rows of one layer, by unit, in rank order. */
export function topRowsOf(db: Store, run: TopActivationRun, layer: number): Map<number, TopRowView[]> {
  const byUnit = new Map<number, TopRowView[]>();
  for (const row of queryTopRows(db, run.runId, layer, null)) byUnit.set(row.unit, [...(byUnit.get(row.unit) ?? []), row]);
  return byUnit;
}

/** `units` in about equal batches of at most `batchSize`, at least `lanes` of them when there are enough units. */
export function splitBatches(units: readonly number[], batchSize: number, lanes: number): number[][] {
  if (units.length === 0) return [];
  const count = Math.min(units.length, Math.max(lanes, Math.ceil(units.length / batchSize)));
  return Array.from({ length: count }, (_, i) => units.slice(Math.floor((i * units.length) / count), Math.floor(((i + 1) * units.length) / count)));
}

/** What optimising units needs, whoever asks (the command's batches, serve's one unit). */
export interface UnitsSource {
  model: PreferredModel;
  settings: PreferredSettings;
  runner: PreferredRunner;
  /** The run's --seed (each unit draws from unitSeed(seed, layer, unit)). */
  seed: number;
  outDir: string;
}

/** The job of a batch: its rows with their seeds, and the top-1 inputs of the rows that have one. */
async function buildJob(source: UnitsSource, layer: MosaicLayer, units: readonly number[], top1: ReadonlyMap<number, TopRowView>, window: PreferredJob['window']): Promise<PreferredJob> {
  const { model, settings } = source;
  const rows = units.map((unit) => ({ unit, seed: unitSeed(source.seed, layer.layer.number, unit) }));
  const referenceRows = rows.flatMap((r, i) => (top1.has(r.unit) ? [i] : []));
  const n = model.inputSizePx * model.inputSizePx * 3;
  const references = new Float32Array(referenceRows.length * n);
  for (const [k, i] of referenceRows.entries()) references.set((await model.run!.inputs.get(top1.get(rows[i]!.unit)!.path)).input, k * n);
  return { rows, settings, mapping: model.mapping, channels: 3, measureLayer: layer.layer.name, references, referenceRows, window };
}

/** The store row of row `b` of a finished batch. */
function rowOf(source: UnitsSource, layer: MosaicLayer, job: PreferredJob, result: PreferredJobResult, b: number, extra: { top: TopRowView | undefined; files: { png: string; fieldPng: string | null; npy: string }; objectiveNode: string; elapsedMs: number }): PreferredInputRow {
  const image = result.images[b]!;
  const measured = result.optimised[b]!;
  const k = job.referenceRows.indexOf(b);
  const top1 = k < 0 ? null : result.references[k]!.max;
  if (extra.top !== undefined && top1 !== null) {
    checkStoredActivation({ runId: source.model.run!.record.runId, layer: layer.layer.name, unit: image.unit, imageId: extra.top.imageId, imageName: extra.top.path, value: extra.top.value }, top1);
  }
  const ratio = top1 === null || top1 <= 0 ? null : measured.max / top1;
  return {
    layer: layer.layer.number, layerName: layer.layer.name, unit: image.unit, objective: source.settings.objective, objectiveNode: extra.objectiveNode,
    startObjective: image.startObjective, finalObjective: image.objective, activation: measured.max, activationMean: measured.mean,
    top1ImageId: extra.top?.imageId ?? null, top1Stored: extra.top?.value ?? null, top1Activation: top1, ratio, reached: ratio === null ? null : ratio >= 1,
    steps: source.settings.steps, seed: job.rows[b]!.seed, ...extra.files, history: [...image.history], elapsedMs: extra.elapsedMs,
  };
}

/**
 * Optimises `units` of a layer as one batch, measures them against their top-1 images and writes their files.
 * @param onStep called after each optimisation step
 * @throws UsageError when a top-1 image's recomputed value is not the stored one
 */
export async function optimiseUnits(source: UnitsSource, layer: MosaicLayer, units: readonly number[], graphs: PreferredGraphs, top1: ReadonlyMap<number, TopRowView>, onStep: () => void): Promise<PreferredInputRow[]> {
  const started = performance.now();
  const job = await buildJob(source, layer, units, top1, graphs.window);
  const result = await source.runner.run(graphs, job, onStep);
  const elapsedMs = performance.now() - started;
  const rows: PreferredInputRow[] = [];
  for (const [b, image] of result.images.entries()) {
    const files = await writeUnitFiles(source.outDir, layer, image, source.settings.objective === 'centre');
    rows.push(rowOf(source, layer, job, result, b, { top: top1.get(image.unit), files, objectiveNode: graphs.objectiveNode, elapsedMs }));
  }
  return rows;
}

/** The top-1 entry of each unit of a layer (none without a top-activations run). */
export function top1Of(db: Store, model: PreferredModel, layer: number): Map<number, TopRowView> {
  const tops = model.run === null ? new Map<number, TopRowView[]>() : topRowsOf(db, model.run.record, layer);
  return new Map([...tops].flatMap(([unit, rows]) => (rows[0] === undefined ? [] : [[unit, rows[0]] as const])));
}

/** Optimises one batch, writes its files and commits its rows. */
async function runBatch(ctx: PreferredContext, layer: MosaicLayer, units: readonly number[], graphs: PreferredGraphs, top1: ReadonlyMap<number, TopRowView>): Promise<void> {
  const source = { model: ctx.model, settings: ctx.settings, runner: ctx.runner, seed: ctx.options.seed, outDir: ctx.opened.outDir };
  const rows = await optimiseUnits(source, layer, units, graphs, top1, () => ctx.progress.tick(units.length, { layer: layer.layer.name }));
  const store = createPreferredInputsStore(ctx.options.db);
  ctx.opened.commit(() => rows.forEach((row) => store.insert(ctx.opened.runId, row)));
  ctx.done.units += rows.length;
  ctx.options.onBatchDone?.(ctx.done.units);
}

/**
 * Optimises `units` of one layer, as many batches at once as the runner runs.
 * @throws the first batch's error after the other lanes' batches in flight end
 */
export async function runLayerBatches(ctx: PreferredContext, layer: MosaicLayer, units: readonly number[], graphs: PreferredGraphs): Promise<void> {
  const top1 = top1Of(ctx.options.db, ctx.model, layer.layer.number);
  const batches = splitBatches(units, ctx.options.batchSize, ctx.runner.parallelism);
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (next < batches.length && !failed) await runBatch(ctx, layer, batches[next++]!, graphs, top1);
  };
  const lanes = Array.from({ length: Math.max(1, ctx.runner.parallelism) }, () => lane().catch((error: unknown) => {
    failed = true;
    throw error;
  }));
  const rejected = (await Promise.allSettled(lanes)).find((r) => r.status === 'rejected');
  if (rejected !== undefined) throw (rejected as PromiseRejectedResult).reason;
}
