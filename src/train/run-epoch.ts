/**
 * The two loops of a training run over an async iterable of batches: one
 * epoch of SGD steps (stoppable between steps) and one evaluation pass. They
 * take batches from the caller, so they know nothing of files or the store.
 */
import { deriveSeed } from '../data/seeded-rng.js';
import type { ModelParams } from '../model/params.js';
import type { ModelConfig } from '../model/spec.js';
import type { ImageBatch } from '../stages/stage-items.js';
import { forEachForwardResult, type ForwardExecutor } from '../workers/forward-executor.js';
import type { MomentumBuffers, SgdHyperParams } from './sgd-momentum.js';
import { computeProbabilities, runTrainStep } from './train-step.js';
import { addBatchMetrics, addClassTally, createMetricSums, scoreProbabilities, type ClassTally, type MetricSums } from './topk-metrics.js';

/** Purpose tag of dropout seeds, apart from the input's shuffle/crop/sample tags. */
export const DROPOUT_SEED_PURPOSE = 101;

/** Dropout seed of one step: a function of (seed, epoch, step) only, so a resumed run draws the same masks. */
export function computeDropoutSeed(seed: number, epoch: number, step: number): number {
  return deriveSeed(seed, epoch, step, DROPOUT_SEED_PURPOSE);
}

export interface TrainEpochOptions extends SgdHyperParams {
  config: ModelConfig;
  params: ModelParams;
  buffers: MomentumBuffers;
  filterRadius: number;
  /** Images per forward/backward pass (see train-step.ts). */
  microBatchSize: number;
  seed: number;
  /** 1-based epoch being trained. */
  epoch: number;
  /** Steps already done in this epoch (resume); the batches start after them. */
  startStep: number;
  /** Sums carried over from before an interruption. */
  sums: MetricSums;
  /** Checked between steps; when true the loop returns with `stopped`. */
  shouldStop: () => boolean;
  /** Called after every step. */
  onStep?: (info: { step: number; images: number; loss: number }) => void;
}

export interface TrainEpochResult {
  /** Steps done in this epoch, including those before a resume. */
  steps: number;
  sums: MetricSums;
  /** Id of the last image trained on (null when none was). */
  lastImageId: number | null;
  stopped: boolean;
  /** Time spent in steps (forward, backward, update, renormalization) and waiting for batches. */
  trainMs: number;
}

/**
 * Trains on every batch until the batches end or `shouldStop` says so.
 * Creates no lasting tensors. @throws RangeError for a batch label outside the model's classes.
 */
export async function trainEpoch(batches: AsyncIterable<ImageBatch>, options: TrainEpochOptions): Promise<TrainEpochResult> {
  let steps = options.startStep;
  let sums = options.sums;
  let lastImageId: number | null = null;
  const startMs = performance.now();
  if (options.shouldStop()) return { steps, sums, lastImageId, stopped: true, trainMs: 0 };
  for await (const batch of batches) {
    const result = runTrainStep(options.config, options.params, options.buffers, batch, {
      ...options, dropoutSeed: computeDropoutSeed(options.seed, options.epoch, steps),
    });
    steps += 1;
    sums = addBatchMetrics(sums, result.loss, result.ranks);
    lastImageId = batch.imageIds[batch.imageIds.length - 1]!;
    options.onStep?.({ step: steps, images: batch.labels.length, loss: result.loss });
    if (options.shouldStop()) return { steps, sums, lastImageId, stopped: true, trainMs: performance.now() - startMs };
  }
  return { steps, sums, lastImageId, stopped: false, trainMs: performance.now() - startMs };
}

export interface EvaluateBatchesOptions {
  config: ModelConfig;
  params: ModelParams;
  /** Per-class counts are added here when given. */
  classTally?: ClassTally;
  shouldStop?: () => boolean;
  onBatch?: (images: number) => void;
  /**
   * Runs the forward passes here instead of on the main thread (worker threads,
   * see src/workers). It must hold the same model as config/params; the
   * probabilities, and so the sums, are the same either way.
   */
  executor?: ForwardExecutor;
}

export interface EvaluateBatchesResult {
  sums: MetricSums;
  stopped: boolean;
}

/**
 * Scores every batch without dropout (ten-crop batches averaged per image).
 * Creates no lasting tensors. @throws RangeError for an unlabelled image.
 */
export async function evaluateBatches(batches: AsyncIterable<ImageBatch>, options: EvaluateBatchesOptions): Promise<EvaluateBatchesResult> {
  let sums = createMetricSums();
  const addBatch = (batch: ImageBatch, probs: Float32Array): void => {
    const scored = scoreProbabilities(probs, options.config.numClasses, batch.labels, batch.cropsPerImage);
    sums = addBatchMetrics(sums, scored.meanLoss, scored.ranks);
    if (options.classTally) addClassTally(options.classTally, scored.labels, scored.ranks);
    options.onBatch?.(scored.labels.length);
  };
  if (options.executor !== undefined) {
    const { stopped } = await forEachForwardResult(batches, options.executor, { reducer: 'taps', taps: ['probs'] }, (batch, result) => addBatch(batch, result.taps.probs!.data), { stopWhen: options.shouldStop });
    return { sums, stopped };
  }
  for await (const batch of batches) {
    addBatch(batch, computeProbabilities(options.config, options.params, batch.pixels, batch.shape));
    if (options.shouldStop?.() === true) return { sums, stopped: true };
  }
  return { sums, stopped: false };
}
