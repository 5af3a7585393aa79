/**
 * The paper's filter renormalization (Sec. 3): after each update, every
 * convolutional filter whose RMS exceeds a fixed radius is rescaled to that
 * radius. A filter is one output channel's kh x kw x in block.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getParam, type ModelParams } from '../model/params.js';
import type { ModelConfig } from '../model/spec.js';

/** The paper's radius, 1e-1. */
export const PAPER_FILTER_RADIUS = 0.1;

/**
 * RMS of each filter of a conv weight.
 * weight: [kh, kw, in, out] -> [out]. Ownership: the caller disposes the result.
 */
export function computeFilterRms(weight: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => tf.sqrt(tf.mean(tf.square(weight), [0, 1, 2])) as tf.Tensor1D);
}

/**
 * Scales the filters of one conv weight whose RMS exceeds `radius` down to
 * RMS `radius`; smaller filters are left exactly as they are.
 * weight: [kh, kw, in, out]. Ownership: the caller disposes the result.
 */
export function renormalizeFilters(weight: tf.Tensor4D, radius: number): tf.Tensor4D {
  return tf.tidy(() => {
    const rms = computeFilterRms(weight); // [out]
    const scale = tf.where(tf.greater(rms, radius), tf.div(radius, rms), tf.onesLike(rms)); // [out]
    return tf.mul(weight, scale) as tf.Tensor4D; // broadcasts over the last axis
  });
}

/**
 * Renormalizes every conv layer's filters in place. Creates no lasting tensors.
 * @throws RangeError when a conv layer of `config` has no weight in `params`.
 */
export function renormalizeConvFilters(config: ModelConfig, params: ModelParams, radius: number): void {
  for (const layer of config.layers) {
    if (layer.kind !== 'conv') continue;
    const weight = getParam(params, `${layer.name}.weight`);
    tf.tidy(() => {
      weight.assign(renormalizeFilters(weight as tf.Tensor4D, radius));
    });
  }
}
