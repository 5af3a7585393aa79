/**
 * The two loops of a training run over an async iterable of batches: one
 * epoch of SGD steps (stoppable between steps) and one evaluation pass. They
 * take batches from the caller, so they know nothing of files or the store.
 */
import type { ModelParams } from '../model/params.js';
import type { ModelConfig } from '../model/spec.js';
import type { ImageBatch } from '../stages/stage-items.js';
import { forEachForwardResult, type ForwardExecutor } from '../workers/forward-executor.js';
import { computeDropoutSeed, drawDropoutMasks, listDropoutLayers } from './dropout-masks.js';
import type { SgdHyperParams } from './sgd-momentum.js';
import { computeProbabilities } from './train-step.js';
import type { Trainer } from './trainer.js';
import { addBatchMetrics, addClassTally, createMetricSums, scoreProbabilities, type ClassTally, type MetricSums } from './topk-metrics.js';

export interface TrainEpochOptions extends SgdHyperParams {
  /** The engine that takes the steps (tfjs-trainer.ts, onnx-trainer.ts). */
  trainer: Trainer;
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
  const layers = listDropoutLayers(options.trainer.config);
  if (options.shouldStop()) return { steps, sums, lastImageId, stopped: true, trainMs: 0 };
  for await (const batch of batches) {
    const images = batch.labels.length;
    lastImageId = batch.imageIds[batch.imageIds.length - 1]!;
    const dropoutMasks = drawDropoutMasks(layers, computeDropoutSeed(options.seed, options.epoch, steps), images);
    const result = await options.trainer.step(batch, { learningRate: options.learningRate, momentum: options.momentum, weightDecay: options.weightDecay, dropoutMasks });
    steps += 1;
    sums = addBatchMetrics(sums, result.loss, result.ranks);
    options.onStep?.({ step: steps, images, loss: result.loss });
    if (options.shouldStop()) return { steps, sums, lastImageId, stopped: true, trainMs: performance.now() - startMs };
  }
  return { steps, sums, lastImageId, stopped: false, trainMs: performance.now() - startMs };
}

export interface EvaluateBatchesOptions {
  config: ModelConfig;
  /** The weights of an in-process evaluation (needed when there is no executor). */
  params?: ModelParams;
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
  const params = options.params;
  if (params === undefined) throw new RangeError('evaluateBatches needs params or an executor');
  for await (const batch of batches) {
    addBatch(batch, computeProbabilities(options.config, params, batch.pixels, batch.shape));
    if (options.shouldStop?.() === true) return { sums, stopped: true };
  }
  return { sums, stopped: false };
}
