/**
 * The end of a training epoch (validation, learning-rate schedule,
 * checkpoint pair, store row, retention, curves) and the save of an
 * interrupted one. Split from train.ts to keep each file readable.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/backend/select-backend.js';
import { createForwardExecutor } from '../../src/workers/forward-executor.js';
import type { DatasetRecord } from '../../src/store/image-index.js';
import type { ImageOrderOptions } from '../../src/data/image-order.js';
import type { MeanImage } from '../../src/data/mean-image.js';
import { parameterLayouts } from '../../src/model/torch-layout.js';
import type { ModelConfig } from '../../src/model/spec.js';
import { writeSvgAndPng } from '../../src/plot/render-png.js';
import { createProgress } from '../../src/progress.js';
import { recordSkippedItem } from '../../src/store/runs.js';
import type { RunHeartbeat } from '../../src/store/run-owner.js';
import type { EpochRecord, TrainingStore } from '../../src/store/training-store.js';
import { selectEpochsToDelete } from '../../src/train/checkpoint-retention.js';
import {
  deleteCheckpointPair, epochCheckpointName, listCheckpoints, partialCheckpointName, saveTrainCheckpoint, type TrainCheckpointState,
} from '../../src/train/checkpoint-folder.js';
import { advanceLrSchedule } from '../../src/train/lr-schedule.js';
import { describeStuckLoss } from '../../src/train/learning-check.js';
import { evaluateBatches, type TrainEpochResult } from '../../src/train/run-epoch.js';
import type { Trainer, TrainTensors } from '../../src/train/trainer.js';
import { summarizeMetrics, type MetricSummary } from '../../src/train/topk-metrics.js';
import { buildErrorChartSvg, buildLossChartSvg } from '../../src/train/training-plot.js';
import { createBatchStream } from '../shared/input-stream.js';
import type { TrainPipelineOptions, TrainRecipe } from './train-recipe.js';

/** What the epoch loop shares. The trainer belongs to runTrainPipeline. */
export interface EpochContext {
  options: TrainPipelineOptions;
  recipe: TrainRecipe;
  runId: string;
  runDir: string;
  checkpointDir: string;
  dataset: DatasetRecord;
  /** Subtracted from every crop and saved in every checkpoint. */
  meanImage: MeanImage;
  /** The run's ownership heartbeat, beaten before each checkpoint is written. */
  heartbeat?: RunHeartbeat;
  config: ModelConfig;
  /** The engine taking the steps and holding the weights and momentum buffers. */
  trainer: Trainer;
  store: TrainingStore;
  /** The training split's order without seed and epoch. */
  trainOrder: Omit<ImageOrderOptions, 'seed' | 'epoch'>;
  log: (line: string) => void;
}

/**
 * Validation top-1/top-5 on centre crops, no dropout; null when aborted, undefined when there is no validation split.
 * Bad images are recorded in skipped_items under the training run (each epoch's pass records its own) and counted.
 */
async function validate(ctx: EpochContext, epoch: number, tensors: TrainTensors): Promise<MetricSummary | null | undefined> {
  const { recipe } = ctx;
  if (recipe.valSplit === null) return undefined;
  let skipped = 0;
  const batches = createBatchStream({
    db: ctx.options.db, dataset: ctx.dataset, split: recipe.valSplit, inputSizePx: ctx.config.inputSizePx, meanImage: ctx.meanImage,
    crop: 'centre', order: 'sorted', limit: recipe.valLimit ?? undefined, batchSize: recipe.batchSize,
    decodeConcurrency: ctx.options.decodeConcurrency, strict: ctx.options.strict,
    onSkip: (item) => { skipped++; recordSkippedItem(ctx.options.db, ctx.runId, item); },
  });
  // An inference pass on the training run's engine (onnx under --backend auto/onnx: one session, every core; else
  // in-process on the tfjs backend). The run's engine line was printed when training started.
  await initBackend(ctx.options.backend, { purpose: 'inference', log: () => undefined });
  const contents = { config: ctx.config, tensors: new Map(parameterLayouts(ctx.config).map((layout) => [layout.name, { shape: layout.torchShape, data: tensors.weights.get(layout.name)! }])), sha256: null };
  const executor = await createForwardExecutor({ workers: 1, intraOpThreads: availableParallelism(), backend: ctx.options.backend, model: { kind: 'contents', contents }, graphCacheDir: null });
  const progress = createProgress({ label: `val epoch ${epoch}`, total: batches.total });
  const result = await evaluateBatches(batches, {
    config: ctx.config, onBatch: (n) => progress.tick(n, { skipped: String(skipped) }), shouldStop: () => ctx.options.signal?.aborted === true, executor,
  }).finally(() => executor.close());
  progress.done();
  if (skipped > 0) ctx.log(`val epoch ${epoch}: skipped ${skipped} bad images of ${recipe.valSplit} (recorded in skipped_items of run ${ctx.runId})`);
  return result.stopped ? null : summarizeMetrics(result.sums);
}

function buildEpochRecord(ctx: EpochContext, state: TrainCheckpointState, result: TrainEpochResult, val: MetricSummary | undefined, wallMs: number): EpochRecord {
  const train = summarizeMetrics(result.sums);
  const trainMs = (state.partial?.trainMs ?? 0) + result.trainMs;
  const epoch = state.epoch + 1;
  return {
    runId: ctx.runId, epoch, steps: result.steps, trainImages: train.images,
    trainLoss: finiteOrNull(train.loss), trainTop1Error: finiteOrNull(train.top1Error), trainTop5Error: finiteOrNull(train.top5Error),
    valImages: val?.images ?? null, valLoss: finiteOrNull(val?.loss), valTop1Error: finiteOrNull(val?.top1Error), valTop5Error: finiteOrNull(val?.top5Error),
    learningRate: state.lrSchedule.learningRate, imagesPerS: trainMs > 0 ? train.images / (trainMs / 1000) : null, wallS: wallMs / 1000,
    checkpointPath: join(ctx.checkpointDir, epochCheckpointName(epoch)), checkpointKept: true, completedAt: new Date().toISOString(),
  };
}

function finiteOrNull(value: number | undefined): number | null {
  return value !== undefined && Number.isFinite(value) ? value : null;
}

/**
 * Validates, advances the schedule, saves the epoch's checkpoint pair, writes
 * its row, applies retention and redraws the curves. Returns null when
 * aborted during validation (the caller saves an interruption).
 */
export async function finishEpoch(ctx: EpochContext, state: TrainCheckpointState, result: TrainEpochResult, startedMs: number): Promise<{ state: TrainCheckpointState; checkpointPath: string } | null> {
  const epoch = state.epoch + 1;
  const tensors = await ctx.trainer.readTensors();
  const val = await validate(ctx, epoch, tensors);
  if (val === null) return null;
  const wallMs = (state.partial?.wallMs ?? 0) + performance.now() - startedMs;
  const record = buildEpochRecord(ctx, state, result, val, wallMs);
  const lrOptions = { kind: ctx.recipe.lrSchedule, initialLr: ctx.recipe.learningRate, patience: ctx.recipe.patience, stepEpochs: ctx.recipe.stepEpochs, factor: ctx.recipe.lrFactor };
  const next: TrainCheckpointState = {
    ...state, epoch, step: 0, position: 0, partial: null, epochRecord: { ...record },
    lrSchedule: advanceLrSchedule(lrOptions, state.lrSchedule, epoch, val?.top1Error ?? null),
  };
  ctx.heartbeat?.beat(); // writes only while this process owns the run
  saveTrainCheckpoint(record.checkpointPath!, ctx.config, tensors, next, ctx.meanImage);
  ctx.store.saveEpoch(record);
  for (const old of listCheckpoints(ctx.checkpointDir)) if (old.partial) deleteCheckpointPair(old.path);
  applyRetention(ctx);
  await writeCurves(ctx);
  ctx.log(describeEpoch(record));
  const stuck = epoch === 1 ? describeStuckLoss({ trainLoss: record.trainLoss, valLoss: record.valLoss, numClasses: ctx.config.numClasses }, ctx.recipe) : null;
  if (stuck !== null) ctx.log(stuck);
  return { state: next, checkpointPath: record.checkpointPath! };
}

/** Deletes epoch checkpoints the retention policy does not keep, and marks them in the store. */
function applyRetention(ctx: EpochContext): void {
  const kept = ctx.store.listEpochs(ctx.runId).filter((e) => e.checkpointKept);
  const toDelete = selectEpochsToDelete(kept.map((e) => ({ epoch: e.epoch, valError: e.valTop1Error })), { keepEpochs: ctx.recipe.keepEpochs, keepAll: ctx.recipe.keepAll });
  for (const epoch of toDelete) deleteCheckpointPair(join(ctx.checkpointDir, epochCheckpointName(epoch)));
  ctx.store.markCheckpointsDeleted(ctx.runId, toDelete);
}

async function writeCurves(ctx: EpochContext): Promise<void> {
  const epochs = ctx.store.listEpochs(ctx.runId);
  await writeSvgAndPng(buildLossChartSvg(ctx.runId, epochs), join(ctx.runDir, 'loss.png'), join(ctx.runDir, 'loss.svg'));
  await writeSvgAndPng(buildErrorChartSvg(ctx.runId, epochs), join(ctx.runDir, 'error.png'), join(ctx.runDir, 'error.svg'));
}

/** One line per epoch: "epoch 3: loss 1.234, train top-1 error 45.0%, val top-1 error 30.0%, top-5 error 2.0%, lr 0.01, 52.1 img/s, 40.2 s". */
export function describeEpoch(r: EpochRecord): string {
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`);
  return `epoch ${r.epoch}: loss ${r.trainLoss?.toFixed(4) ?? 'n/a'}, train top-1 error ${pct(r.trainTop1Error)}, val top-1 error ${pct(r.valTop1Error)}, top-5 error ${pct(r.valTop5Error)}, `
    + `lr ${r.learningRate.toPrecision(3)}, ${r.imagesPerS?.toFixed(1) ?? 'n/a'} img/s, ${r.wallS?.toFixed(1) ?? 'n/a'} s`;
}

/** Saves an interrupted epoch as a partial checkpoint pair; returns its path. */
export async function saveInterruption(ctx: EpochContext, state: TrainCheckpointState, result: TrainEpochResult, position: number, startedMs: number): Promise<string> {
  const path = join(ctx.checkpointDir, partialCheckpointName(state.epoch, result.steps));
  const partial = {
    sums: result.sums,
    trainMs: (state.partial?.trainMs ?? 0) + result.trainMs,
    wallMs: (state.partial?.wallMs ?? 0) + performance.now() - startedMs,
  };
  const tensors = await ctx.trainer.readTensors();
  ctx.heartbeat?.beat();
  saveTrainCheckpoint(path, ctx.config, tensors, { ...state, step: result.steps, position, partial, epochRecord: null }, ctx.meanImage);
  for (const old of listCheckpoints(ctx.checkpointDir)) if (old.partial && old.path !== path) deleteCheckpointPair(old.path);
  ctx.log(`train: stopped in epoch ${state.epoch + 1} after step ${result.steps}; saved ${path}`);
  return path;
}
