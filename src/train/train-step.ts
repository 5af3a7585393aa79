/**
 * One training step (forward with dropout, softmax cross-entropy, gradients,
 * SGD-momentum update, filter renormalization) and one evaluation step, as
 * synchronous tensor work on the backend chosen at start.
 */
import * as tf from '@tensorflow/tfjs-core';
import { forward } from '../model/network.js';
import { listDropoutLayers, sliceDropoutMasks, type DropoutMasks } from './dropout-masks.js';
import './register-gradients.js';
import type { ModelParams } from '../model/params.js';
import type { ModelConfig } from '../model/spec.js';
import { renormalizeConvFilters } from './filter-renorm.js';
import { applySgdUpdate, type MomentumBuffers, type SgdHyperParams } from './sgd-momentum.js';
import { rankLabels } from './topk-metrics.js';

/**
 * Mean softmax cross-entropy of logits against integer labels.
 * logits: [N, C], labels: [N] int32 -> scalar. Ownership: the caller disposes the result.
 */
export function computeCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits); // [N, C]
    const oneHot = tf.oneHot(labels, logits.shape[1]); // [N, C]
    return tf.neg(tf.mean(tf.sum(tf.mul(logProbs, oneHot), 1))) as tf.Scalar;
  });
}

export interface StepInput {
  /** [N, S, S, 3] float32, mean-subtracted. */
  pixels: Float32Array;
  shape: [number, number, number, number];
  labels: readonly number[];
}

export interface TrainStepOptions extends SgdHyperParams {
  /** This step's dropout masks for the whole batch (src/train/dropout-masks.ts). */
  dropoutMasks: DropoutMasks;
  /** Filter RMS radius; 0 or less disables renormalization. */
  filterRadius: number;
  /**
   * Images per forward/backward pass; a larger batch is split and its
   * gradients summed (weighted by slice size) before the one update, which
   * bounds activation memory (wasm's heap is 4 GiB). Default: the whole batch.
   */
  microBatchSize?: number;
}

export interface StepResult {
  /** Mean cross-entropy over the batch (before the update for training steps). */
  loss: number;
  /** Rank of each label among the logits (0 = top-1 correct). */
  ranks: number[];
}

interface SliceGradients {
  /** Loss of the slice, already weighted by its share of the batch. */
  weightedLoss: number;
  ranks: number[];
  /** By parameter name. Ownership: the caller disposes them. */
  grads: Map<string, tf.Tensor>;
}

/** Gradients of (slice size / batch size) x the slice's mean cross-entropy. */
function computeSliceGradients(config: ModelConfig, params: ModelParams, input: StepInput, from: number, to: number, allMasks: DropoutMasks): SliceGradients {
  const [n, h, w, c] = input.shape;
  const perImage = h * w * c;
  const labels = input.labels.slice(from, to);
  const x = tf.tensor4d(input.pixels.subarray(from * perImage, to * perImage), [to - from, h, w, c], 'float32');
  const y = tf.tensor1d(labels as number[], 'int32');
  const layers = listDropoutLayers(config);
  const masks = new Map([...sliceDropoutMasks(allMasks, layers, from, to)].map(([name, mask], k) => [name, tf.tensor2d(mask, [to - from, layers[k]!.units])]));
  let logits: tf.Tensor | null = null;
  try {
    const { value, grads } = tf.variableGrads(() => {
      const out = forward(config, params, x, { taps: ['logits'], dropoutMasks: masks });
      logits = tf.keep(out.logits!);
      return tf.mul(computeCrossEntropy(out.logits as tf.Tensor2D, y), (to - from) / n) as tf.Scalar;
    }, [...params.values()]);
    const byParam = new Map<string, tf.Tensor>();
    for (const [name, variable] of params) {
      const grad = grads[variable.name];
      if (grad !== undefined) byParam.set(name, grad);
    }
    const weightedLoss = value.dataSync()[0]!;
    value.dispose();
    return { weightedLoss, ranks: rankLabels((logits as unknown as tf.Tensor).dataSync(), config.numClasses, labels), grads: byParam };
  } finally {
    tf.dispose([x, y, ...masks.values()]);
    if (logits !== null) tf.dispose(logits);
  }
}

/** Adds `more` into `total` (both by name), disposing the replaced tensors and `more`. */
function accumulateGradients(total: Map<string, tf.Tensor>, more: Map<string, tf.Tensor>): void {
  for (const [name, grad] of more) {
    const previous = total.get(name);
    if (previous === undefined) {
      total.set(name, grad);
      continue;
    }
    total.set(name, tf.add(previous, grad));
    tf.dispose([previous, grad]);
  }
}

/**
 * Runs one SGD step in place on `params` and `buffers`. Creates no lasting tensors.
 * A split batch's slices take their rows of the batch's dropout masks.
 * @throws RangeError when the input shape does not match the model.
 */
export function runTrainStep(config: ModelConfig, params: ModelParams, buffers: MomentumBuffers, input: StepInput, options: TrainStepOptions): StepResult {
  const n = input.shape[0];
  const micro = Math.max(1, Math.min(n, options.microBatchSize ?? n));
  const grads = new Map<string, tf.Tensor>();
  let loss = 0;
  const ranks: number[] = [];
  try {
    for (let from = 0; from < n; from += micro) {
      const slice = computeSliceGradients(config, params, input, from, Math.min(n, from + micro), options.dropoutMasks);
      accumulateGradients(grads, slice.grads);
      loss += slice.weightedLoss;
      ranks.push(...slice.ranks);
    }
    applySgdUpdate(params, buffers, grads, options);
  } finally {
    tf.dispose([...grads.values()]);
  }
  if (options.filterRadius > 0) renormalizeConvFilters(config, params, options.filterRadius);
  return { loss, ranks };
}

/**
 * Forward pass without dropout, returning the softmax probabilities
 * ([N, C] row-major). Creates no lasting tensors.
 * @throws RangeError when the input shape does not match the model.
 */
export function computeProbabilities(config: ModelConfig, params: ModelParams, pixels: Float32Array, shape: [number, number, number, number]): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(pixels, shape, 'float32');
    return forward(config, params, x, { taps: ['probs'] }).probs!.dataSync() as Float32Array;
  });
}
