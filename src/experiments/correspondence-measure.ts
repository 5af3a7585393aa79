/**
 * Feature vectors for the correspondence experiment (Table 1): the paper's
 * layer 5 and layer 7 as the rectified conv5 output (flattened, NHWC order)
 * and fc7. No IO; tensors are created and disposed here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { forward } from '../model/network.js';
import type { ModelParams } from '../model/params.js';
import type { ModelConfig } from '../model/spec.js';
import { computeSignChangeDelta, computeMeanAndStd, type SignChangeResult } from './feature-measures.js';

export const CORRESPONDENCE_LAYERS = ['conv5', 'fc7'] as const;
export type CorrespondenceLayer = (typeof CORRESPONDENCE_LAYERS)[number];

/** Feature vectors of each input, per layer, in input order. */
export type FeatureVectors = Record<CorrespondenceLayer, Float32Array[]>;

/**
 * Runs `inputs` ([S, S, 3] each) through the model `batchSize` at a time.
 * @returns per layer, one vector per input (copies: the caller owns them; no tensors remain)
 */
export async function extractFeatureVectors(config: ModelConfig, params: ModelParams, inputs: readonly Float32Array[], batchSize: number): Promise<FeatureVectors> {
  const S = config.inputSizePx;
  const perImage = S * S * 3;
  const out: FeatureVectors = { conv5: [], fc7: [] };
  for (let start = 0; start < inputs.length; start += batchSize) {
    const chunk = inputs.slice(start, start + batchSize);
    const pixels = new Float32Array(chunk.length * perImage);
    chunk.forEach((input, i) => pixels.set(input, i * perImage));
    const batch = tf.tensor4d(pixels, [chunk.length, S, S, 3]);
    const taps = forward(config, params, batch, { taps: [...CORRESPONDENCE_LAYERS] });
    batch.dispose();
    for (const layer of CORRESPONDENCE_LAYERS) {
      const values = (await taps[layer]!.data()) as Float32Array;
      const size = values.length / chunk.length;
      for (let i = 0; i < chunk.length; i++) out[layer].push(values.slice(i * size, (i + 1) * size));
      taps[layer]!.dispose();
    }
  }
  return out;
}

/** Delta_l of one part, or of the random control pooled over its draws. */
export interface DeltaSummary {
  /** The paper's D_l (for random: the mean over draws). */
  deltaSum: number;
  /** Mean pair value over all pairs (and draws): the scale of Table 1. */
  deltaMean: number;
  /** Spread (standard deviation) of the pair values. */
  deltaStd: number;
  pairs: number;
  /** One result per draw (a named part has one). */
  draws: SignChangeResult[];
}

/**
 * Delta_l over one or more draws of masked copies.
 * @param masked masked[d][i]: image i's masked features in draw d
 */
export function summariseDelta(originals: readonly Float32Array[], masked: readonly (readonly Float32Array[])[]): DeltaSummary {
  const draws = masked.map((m) => computeSignChangeDelta([...originals], [...m]));
  const pooled = draws.flatMap((d) => d.pairFractions);
  const { mean, std } = computeMeanAndStd(pooled);
  return { deltaSum: draws.reduce((a, d) => a + d.deltaSum, 0) / draws.length, deltaMean: mean, deltaStd: std, pairs: pooled.length, draws };
}
