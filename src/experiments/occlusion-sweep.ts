/**
 * The occlusion sweep of Fig. 7: the unoccluded image picks the feature map
 * to watch, then occluded copies go through the model in batches, and each
 * occluder position gets (b) that map's summed activation, (d) p(true class)
 * and (e) the most probable class. No IO; tensors are created and disposed here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { forward } from '../model/network.js';
import type { ModelParams } from '../model/params.js';
import type { ModelConfig, TapName } from '../model/spec.js';
import { applyOccluder, type OccluderPlacement } from './occluder.js';

/**
 * What the sweep reads from a model for a batch: a spatial feature tap and
 * class probabilities. Ownership: the caller of the probe disposes both.
 * @param batch [B, S, S, 3]
 * @returns feature [B, h, w, C], probs [B, K]
 */
export type ModelProbe = (batch: tf.Tensor4D) => { feature: tf.Tensor4D; probs: tf.Tensor2D };

/** A probe reading `layer` (e.g. conv5, the paper's layer 5) and probs from forward(). */
export function createForwardProbe(config: ModelConfig, params: ModelParams, layer: TapName): ModelProbe {
  return (batch) => {
    const taps = forward(config, params, batch, { taps: [layer, 'probs'] });
    return { feature: taps[layer] as tf.Tensor4D, probs: taps.probs as tf.Tensor2D };
  };
}

/** The unoccluded image: the strongest feature map and the class probabilities. */
export interface UnoccludedResult {
  /** Channel whose spatial maximum is largest (first on ties). */
  unit: number;
  /** Cell of that maximum (first in row-major order on ties). */
  y: number;
  x: number;
  activation: number;
  /** The map's summed activation. */
  unitSum: number;
  probs: Float32Array;
  topClass: number;
  topProb: number;
}

/** Index and value of the first maximum. */
export function findArgMax(values: ArrayLike<number>): [number, number] {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return [best, values[best]!];
}

/**
 * Runs the unoccluded input and finds the strongest feature map.
 * @param input [S, S, 3]
 */
export async function measureUnoccluded(probe: ModelProbe, input: Float32Array, sizePx: number): Promise<UnoccludedResult> {
  const batch = tf.tensor4d(input, [1, sizePx, sizePx, 3]);
  const { feature, probs } = probe(batch);
  batch.dispose();
  const [h, w, c] = feature.shape.slice(1) as [number, number, number];
  const [map, p] = [await feature.data(), await probs.data() as Float32Array];
  feature.dispose();
  probs.dispose();
  const perUnitMax = new Float32Array(c).fill(-Infinity);
  for (let i = 0; i < h * w * c; i++) if (map[i]! > perUnitMax[i % c]!) perUnitMax[i % c] = map[i]!;
  const [unit, activation] = findArgMax(perUnitMax);
  const column = Array.from({ length: h * w }, (_, i) => map[i * c + unit]!);
  const [cell] = findArgMax(column);
  const [topClass, topProb] = findArgMax(p);
  return { unit, y: Math.floor(cell / w), x: cell % w, activation, unitSum: column.reduce((a, b) => a + b, 0), probs: p, topClass, topProb };
}

/** One occluder position's measures. */
export interface OcclusionCell {
  placement: OccluderPlacement;
  featureSum: number;
  /** null when the true class is unknown. */
  trueProb: number | null;
  topClass: number;
  topProb: number;
}

export interface SweepOptions {
  probe: ModelProbe;
  /** [S, S, 3] model input. */
  input: Float32Array;
  sizePx: number;
  placements: readonly OccluderPlacement[];
  /** [S, S, 3] input-space fill (computeFillImage). */
  fill: Float32Array;
  unit: number;
  trueClass: number | null;
  /** Occluded copies per forward pass. */
  batchSize: number;
  onBatch?: (done: number) => void;
}

/** Sweeps the occluder over every placement, `batchSize` copies per forward pass. */
export async function sweepOccluder(options: SweepOptions): Promise<OcclusionCell[]> {
  const { sizePx, placements, batchSize } = options;
  const perImage = sizePx * sizePx * 3;
  const cells: OcclusionCell[] = [];
  for (let start = 0; start < placements.length; start += batchSize) {
    const chunk = placements.slice(start, start + batchSize);
    const pixels = new Float32Array(chunk.length * perImage);
    chunk.forEach((p, i) => applyOccluder(options.input, sizePx, p.rect, options.fill, pixels, i * perImage));
    const batch = tf.tensor4d(pixels, [chunk.length, sizePx, sizePx, 3]);
    const { feature, probs } = options.probe(batch);
    batch.dispose();
    const sums = tf.tidy(() => tf.sum(tf.gather(feature, [options.unit], 3), [1, 2, 3]));
    feature.dispose();
    const [sumValues, probValues] = [await sums.data(), await probs.data()];
    const k = probs.shape[1];
    sums.dispose();
    probs.dispose();
    chunk.forEach((placement, i) => {
      const row = probValues.subarray(i * k, (i + 1) * k);
      const [topClass, topProb] = findArgMax(row);
      const trueProb = options.trueClass === null ? null : row[options.trueClass]!;
      cells.push({ placement, featureSum: sumValues[i]!, trueProb, topClass, topProb });
    });
    options.onBatch?.(Math.min(placements.length, start + batchSize));
  }
  return cells;
}
