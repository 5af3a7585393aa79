/**
 * `run-pipeline train`: SGD with momentum on the paper's crops, validation,
 * a checkpoint pair after every epoch (weights + momentum), metrics in the
 * store, training curves beside the checkpoints. Stoppable between steps
 * (the CLI maps SIGINT/SIGTERM to `signal`): the position inside the epoch is
 * saved as a partial checkpoint that `resume` continues bit for bit.
 */
import { join, resolve } from 'node:path';
import { initBackend } from '../../src/backend/select-backend.js';
import { UsageError } from '../../src/errors.js';
import { computeSquareSizePx } from '../../src/data/crop-geometry.js';
import { computeSplitBaseId, type DatasetRecord } from '../../src/store/image-index.js';
import { iterateImageIds } from '../../src/data/image-order.js';
import { loadMeanImage } from '../../src/store/mean-store.js';
import { describeMean, type MeanImage } from '../../src/data/mean-image.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { createTrainer } from '../../src/train/create-trainer.js';
import type { ModelConfig } from '../../src/model/spec.js';
import { createProgress } from '../../src/progress.js';
import type { Store } from '../../src/store/open-store.js';
import { claimRun, startRunHeartbeat, type RunHeartbeat } from '../../src/store/run-owner.js';
import { createRun, getRun, makeRunId, markRunFailed, recordRunMean, recordSkippedItem, setRunStatus, uniqueRunId, updateRunRecord } from '../../src/store/runs.js';
import { createTrainingStore, type EpochRecord, type TrainingStore } from '../../src/store/training-store.js';
import type { TrainCheckpointState } from '../../src/train/checkpoint-folder.js';
import { chooseMicroBatchSize } from '../../src/train/micro-batch.js';
import { trainEpoch } from '../../src/train/run-epoch.js';
import { createMetricSums } from '../../src/train/topk-metrics.js';
import { createBatchStream, prepareDataset } from '../shared/input-stream.js';
import { runMeanPipeline } from '../shared/mean.js';
import { finishEpoch, saveInterruption, type EpochContext } from './train-epoch-end.js';
import type { TrainPipelineOptions, TrainRecipe } from './train-recipe.js';
import { loadStartingPoint } from './train-start.js';

export type { TrainPipelineOptions, TrainRecipe } from './train-recipe.js';

export interface TrainPipelineResult {
  runId: string;
  status: 'finished' | 'interrupted';
  /** Epochs completed. */
  epochs: number;
  /** The newest checkpoint written (null when none was). */
  checkpointPath: string | null;
  lastEpoch: EpochRecord | null;
}

/** The model of a recipe over a dataset: classes from the dataset, dropout from the recipe. */
export function buildTrainConfig(recipe: TrainRecipe, dataset: DatasetRecord): ModelConfig {
  const config = buildModelConfig(recipe.model, { classIds: dataset.classes.map((c) => c.key) });
  for (const layer of config.layers) if (layer.kind === 'dense' && layer.dropout > 0) layer.dropout = recipe.dropout;
  return config;
}

/**
 * Reads a run's recipe for --resume.
 * @throws UsageError when the run does not exist, is not a training run, or an override changes the recipe.
 */
export function resolveResumeRecipe(db: Store, runId: string, overrides: Partial<TrainRecipe>): TrainRecipe {
  const run = getRun(db, runId);
  if (run === undefined || run.kind !== 'train') throw new UsageError(`No training run ${runId} in the store (run-pipeline runs lists them)`);
  const recorded = run.options as unknown as TrainRecipe;
  for (const [key, value] of Object.entries(overrides)) {
    if (key === 'epochs' || value === undefined) continue;
    if (JSON.stringify(value) !== JSON.stringify((recorded as unknown as Record<string, unknown>)[key])) {
      throw new UsageError(`--${key.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)} cannot change when resuming run ${runId} (recorded ${JSON.stringify((recorded as unknown as Record<string, unknown>)[key])})`);
    }
  }
  return { ...recorded, epochs: overrides.epochs ?? recorded.epochs };
}

/** Where a run writes: out/runs/<run>/ with checkpoints/ inside. */
export function runFolder(recipe: TrainRecipe, runId: string): { runDir: string; checkpointDir: string } {
  const runDir = join(resolve(recipe.outDir), 'runs', runId);
  return { runDir, checkpointDir: join(runDir, 'checkpoints') };
}

/** Index of the image after `lastImageId` in an epoch's training order (skipped images included). */
function findPositionAfter(ctx: EpochContext, epoch: number, lastImageId: number): number {
  let index = 0;
  for (const id of iterateImageIds({ ...ctx.trainOrder, seed: ctx.recipe.seed, epoch })) {
    index += 1;
    if (id === lastImageId) return index;
  }
  throw new RangeError(`Image ${lastImageId} is not in epoch ${epoch}'s training order`);
}

/** Starts (or reopens) the run row and returns its id and recipe. */
function openRun(options: TrainPipelineOptions, backendInfo: Record<string, unknown>): { runId: string; recipe: TrainRecipe } {
  if (options.resume !== undefined) {
    const recipe = resolveResumeRecipe(options.db, options.resume, options.resumeOverrides ?? {});
    // Refuses (naming the owner) while another live process trains this run; marks it running otherwise.
    const { tookOverFrom } = claimRun(options.db, options.resume);
    if (tookOverFrom !== null) (options.log ?? ((line: string) => process.stderr.write(`${line}\n`)))(`taking over run ${options.resume} from process ${tookOverFrom.pid} on host ${tookOverFrom.host}: ${tookOverFrom.reason}`);
    updateRunRecord(options.db, options.resume, { options: { ...recipe }, backend: String(backendInfo['name']), backendInfo });
    return { runId: options.resume, recipe };
  }
  if (options.recipe === undefined) throw new RangeError('runTrainPipeline needs a recipe or a run to resume');
  const runId = uniqueRunId(options.db, makeRunId('train', new Date(), options.recipe.model));
  createRun(options.db, { id: runId, kind: 'train', model: options.recipe.model, backend: String(backendInfo['name']), backendInfo, options: { ...options.recipe } });
  return { runId, recipe: options.recipe };
}

/** The mean image the crops subtract: computed over train (once, stored), the paper's choice. */
async function prepareMean(options: TrainPipelineOptions, recipe: TrainRecipe, inputSizePx: number, dataset: DatasetRecord, log: (line: string) => void): Promise<MeanImage> {
  await runMeanPipeline({ db: options.db, data: recipe.data ?? undefined, split: 'train', inputSizePx, decodeConcurrency: options.decodeConcurrency, strict: options.strict, log });
  return loadMeanImage(options.db, dataset.id, computeSquareSizePx(inputSizePx));
}

/**
 * Trains a new run or resumes one until `recipe.epochs` epochs are done or the signal aborts.
 * @throws UsageError for dataset, option or checkpoint problems; DataError for a bad image under `strict`.
 */
export async function runTrainPipeline(options: TrainPipelineOptions): Promise<TrainPipelineResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const backendInfo = await initBackend(options.backend, { purpose: 'training' });
  const { runId, recipe } = openRun(options, { ...backendInfo });
  let heartbeat: RunHeartbeat | undefined;
  try {
    const splits = recipe.valSplit === null ? ['train'] : ['train', recipe.valSplit];
    const { dataset, splits: splitRecords } = await prepareDataset({ db: options.db, data: recipe.data ?? undefined, splits, log });
    if (splitRecords['train']!.labelSource === null) throw new UsageError(`Split train of ${dataset.root} has no labels`);
    const config = buildTrainConfig(recipe, dataset);
    const { runDir, checkpointDir } = runFolder(recipe, runId);
    const start = loadStartingPoint(recipe, config, runId, checkpointDir, log);
    // A resumed run keeps the mean its checkpoints carry, even if the store computed another since.
    const meanImage = start.mean ?? await prepareMean(options, recipe, config.inputSizePx, dataset, log);
    log(`train: ${describeMean(meanImage)}${start.mean === null ? '' : ', from the checkpoint resumed'}`);
    recordRunMean(options.db, runId, meanImage.sha256);
    heartbeat = startRunHeartbeat(options.db, runId);
    const train = splitRecords['train']!;
    const microBatchSize = recipe.microBatch ?? chooseMicroBatchSize(start.config, recipe.batchSize, backendInfo.name);
    const trainer = await createTrainer(backendInfo, { config: start.config, filterRadius: recipe.filterRadius, weightDecay: recipe.weightDecay, microBatchSize }, start.tensors);
    const ctx: EpochContext = {
      options, recipe, runId, runDir, checkpointDir, dataset, meanImage, heartbeat, log, config: start.config, trainer,
      store: createTrainingStore(options.db), trainOrder: { baseId: computeSplitBaseId(train.ordinal), imageCount: train.imageCount, order: 'shuffled', limit: recipe.limit ?? undefined },
    };
    if (microBatchSize < recipe.batchSize) log(`train: each batch of ${recipe.batchSize} runs as passes of ${microBatchSize} images (gradients summed, one update)`);
    try {
      return await runEpochs(ctx, start.state);
    } finally {
      await trainer.close();
    }
  } catch (error) {
    markRunFailed(options.db, runId, error);
    throw error;
  } finally {
    heartbeat?.stop();
  }
}

/** The epoch loop; returns when all epochs are done or after saving an interruption. */
async function runEpochs(ctx: EpochContext, initial: TrainCheckpointState): Promise<TrainPipelineResult> {
  let state = initial;
  let checkpointPath: string | null = null;
  restoreEpochRow(ctx.store, state);
  while (state.epoch < ctx.recipe.epochs) {
    const epoch = state.epoch + 1;
    const startedMs = performance.now();
    const result = await trainOneEpoch(ctx, state, epoch);
    if (result.stopped) {
      const position = result.lastImageId === null ? state.position : findPositionAfter(ctx, epoch, result.lastImageId);
      checkpointPath = await saveInterruption(ctx, state, result, position, startedMs);
      setRunStatus(ctx.options.db, ctx.runId, 'interrupted');
      return { runId: ctx.runId, status: 'interrupted', epochs: state.epoch, checkpointPath, lastEpoch: ctx.store.listEpochs(ctx.runId).at(-1) ?? null };
    }
    const finished = await finishEpoch(ctx, state, result, startedMs);
    if (finished === null) {
      checkpointPath = await saveInterruption(ctx, state, result, ctx.trainOrder.imageCount, startedMs);
      setRunStatus(ctx.options.db, ctx.runId, 'interrupted');
      return { runId: ctx.runId, status: 'interrupted', epochs: state.epoch, checkpointPath, lastEpoch: ctx.store.listEpochs(ctx.runId).at(-1) ?? null };
    }
    state = finished.state;
    checkpointPath = finished.checkpointPath;
  }
  setRunStatus(ctx.options.db, ctx.runId, 'finished');
  return { runId: ctx.runId, status: 'finished', epochs: state.epoch, checkpointPath, lastEpoch: ctx.store.listEpochs(ctx.runId).at(-1) ?? null };
}

/** A crash between a checkpoint and its store row loses the row, never the epoch: put it back from the checkpoint. */
function restoreEpochRow(store: TrainingStore, state: TrainCheckpointState): void {
  if (state.step === 0 && state.epochRecord !== null) store.saveEpoch(state.epochRecord as unknown as EpochRecord);
}

/** Trains one epoch from the state's position, with a progress bar. */
async function trainOneEpoch(ctx: EpochContext, state: TrainCheckpointState, epoch: number): ReturnType<typeof trainEpoch> {
  const { recipe } = ctx;
  const batches = createBatchStream({
    db: ctx.options.db, dataset: ctx.dataset, split: 'train', inputSizePx: ctx.config.inputSizePx, meanImage: ctx.meanImage,
    crop: recipe.crop, order: 'shuffled', seed: recipe.seed, epoch, start: state.position,
    limit: recipe.limit === null ? undefined : Math.max(0, recipe.limit - state.position), batchSize: recipe.batchSize,
    decodeConcurrency: ctx.options.decodeConcurrency, strict: ctx.options.strict,
    onSkip: (item) => recordSkippedItem(ctx.options.db, ctx.runId, item),
  });
  const progress = createProgress({ label: `train epoch ${epoch}/${recipe.epochs}`, total: batches.total });
  const lr = state.lrSchedule.learningRate;
  const result = await trainEpoch(batches, {
    trainer: ctx.trainer, learningRate: lr, momentum: recipe.momentum, weightDecay: recipe.weightDecay,
    seed: recipe.seed, epoch, startStep: state.step, sums: state.partial?.sums ?? createMetricSums(),
    shouldStop: () => ctx.options.signal?.aborted === true,
    onStep: ({ step, images, loss }) => {
      progress.tick(images, { step: String(step), loss: loss.toFixed(3), lr: lr.toPrecision(3) });
      ctx.options.onStep?.({ epoch, step, loss });
    },
  });
  progress.done();
  return result;
}
