/**
 * The measures of Fig. 5 for one image: its transformed copies go through the
 * model in batches; for each copy, the Euclidean distance between the
 * original's and the copy's feature vectors at layer 1 (the rectified conv1
 * output, flattened) and layer 7 (fc7), raw and divided by the original's
 * norm, and p(true class). No IO; tensors are created and disposed here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { forward } from '../model/network.js';
import type { ModelParams } from '../model/params.js';
import type { ModelConfig, TapName } from '../model/spec.js';
import { applyTransform, transformAmount, type InvarianceTransform } from './invariance-transforms.js';
import { divideByNorm } from './feature-measures.js';
import { findArgMax } from './occlusion-sweep.js';

/** The taps standing for the paper's layer 1 and layer 7 (project choice: rectified conv1, fc7 after ReLU). */
export const INVARIANCE_TAPS = { layer1: 'conv1', layer7: 'fc7' } as const satisfies Record<string, TapName>;

export interface InvarianceRow {
  transform: InvarianceTransform;
  amount: number;
  layer1Distance: number;
  layer1Normalised: number;
  layer7Distance: number;
  layer7Normalised: number;
  /** null when the true class is unknown. */
  trueProb: number | null;
  topClass: number;
}

export interface MeasureInvarianceOptions {
  config: ModelConfig;
  params: ModelParams;
  /** [S, S, 3] model input. */
  input: Float32Array;
  transforms: readonly InvarianceTransform[];
  trueClass: number | null;
  batchSize: number;
}

/** Flattened feature taps and probs of a batch. Ownership: the caller disposes the three tensors. */
function runTaps(config: ModelConfig, params: ModelParams, batch: tf.Tensor4D): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D] {
  return tf.tidy(() => {
    const taps = forward(config, params, batch, { taps: [INVARIANCE_TAPS.layer1, INVARIANCE_TAPS.layer7, 'probs'] });
    const n = batch.shape[0];
    return [tf.reshape(taps.conv1!, [n, -1]), taps.fc7 as tf.Tensor2D, taps.probs as tf.Tensor2D];
  });
}

/** Per-row distances ||rows - reference|| (rows [B, D], reference [1, D]). Ownership: caller disposes. */
function rowDistances(rows: tf.Tensor2D, reference: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(tf.sub(rows, reference)), 1)) as tf.Tensor1D);
}

/** Measures every transformed copy of one image against the untransformed image. */
export async function measureInvariance(options: MeasureInvarianceOptions): Promise<InvarianceRow[]> {
  const S = options.config.inputSizePx;
  const perImage = S * S * 3;
  const original = tf.tensor4d(options.input, [1, S, S, 3]);
  const [ref1, ref7, refProbs] = runTaps(options.config, options.params, original);
  original.dispose();
  refProbs.dispose();
  const norms = tf.tidy(() => tf.stack([tf.norm(ref1), tf.norm(ref7)]));
  const [norm1, norm7] = await norms.data();
  norms.dispose();
  const rows: InvarianceRow[] = [];
  try {
    for (let start = 0; start < options.transforms.length; start += options.batchSize) {
      const chunk = options.transforms.slice(start, start + options.batchSize);
      const pixels = new Float32Array(chunk.length * perImage);
      chunk.forEach((t, i) => applyTransform(options.input, S, 3, t, pixels, i * perImage));
      const batch = tf.tensor4d(pixels, [chunk.length, S, S, 3]);
      const [f1, f7, probs] = runTaps(options.config, options.params, batch);
      batch.dispose();
      const [d1, d7] = [rowDistances(f1, ref1), rowDistances(f7, ref7)];
      const [v1, v7, p] = [await d1.data(), await d7.data(), await probs.data()];
      const k = probs.shape[1];
      for (const t of [f1, f7, probs, d1, d7]) t.dispose();
      chunk.forEach((transform, i) => {
        const row = p.subarray(i * k, (i + 1) * k);
        rows.push({
          transform, amount: transformAmount(transform),
          layer1Distance: v1[i]!, layer1Normalised: divideByNorm(v1[i]!, norm1!),
          layer7Distance: v7[i]!, layer7Normalised: divideByNorm(v7[i]!, norm7!),
          trueProb: options.trueClass === null ? null : row[options.trueClass]!, topClass: findArgMax(row)[0],
        });
      });
    }
  } finally {
    ref1.dispose();
    ref7.dispose();
  }
  return rows;
}

