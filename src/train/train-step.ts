/**
 * One training step (forward with dropout, softmax cross-entropy, gradients,
 * SGD-momentum update, filter renormalization) and one evaluation step, as
 * synchronous tensor work on the backend chosen at start.
 */
import * as tf from '@tensorflow/tfjs-core';
import { forward } from '../model/network.js';
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
  /** Seed of this step's dropout masks. */
  dropoutSeed: number;
  /** Filter RMS radius; 0 or less disables renormalization. */
  filterRadius: number;
}

export interface StepResult {
  /** Mean cross-entropy over the batch (before the update for training steps). */
  loss: number;
  /** Rank of each label among the logits (0 = top-1 correct). */
  ranks: number[];
}

function toTensors(input: StepInput): { x: tf.Tensor4D; y: tf.Tensor1D } {
  return { x: tf.tensor4d(input.pixels, input.shape, 'float32'), y: tf.tensor1d(input.labels as number[], 'int32') };
}

/**
 * Runs one SGD step in place on `params` and `buffers`. Creates no lasting tensors.
 * @throws RangeError when the input shape does not match the model.
 */
export function runTrainStep(config: ModelConfig, params: ModelParams, buffers: MomentumBuffers, input: StepInput, options: TrainStepOptions): StepResult {
  const { x, y } = toTensors(input);
  let logits: tf.Tensor | null = null;
  try {
    const variables = [...params.values()];
    const { value, grads } = tf.variableGrads(() => {
      const out = forward(config, params, x, { taps: ['logits'], training: true, dropoutSeed: options.dropoutSeed });
      logits = tf.keep(out.logits!);
      return computeCrossEntropy(out.logits as tf.Tensor2D, y);
    }, variables);
    const byParam = new Map<string, tf.Tensor>();
    for (const [name, variable] of params) {
      const grad = grads[variable.name];
      if (grad !== undefined) byParam.set(name, grad);
    }
    applySgdUpdate(params, buffers, byParam, options);
    if (options.filterRadius > 0) renormalizeConvFilters(config, params, options.filterRadius);
    const loss = value.dataSync()[0]!;
    tf.dispose([value, ...Object.values(grads)]);
    return { loss, ranks: rankLabels((logits as unknown as tf.Tensor).dataSync(), config.numClasses, input.labels) };
  } finally {
    tf.dispose([x, y]);
    if (logits !== null) tf.dispose(logits);
  }
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
