/**
 * Feature vectors for the correspondence experiment (Table 1): the paper's
 * layer 5 and layer 7 (by default the last conv layer, flattened in NHWC
 * order, and the layer before the logits: conv5 and fc7 on the project's
 * architectures), read through the forward executor (onnx or tfjs). No IO.
 */
import { forEachForwardResult, type ForwardExecutor } from '../workers/forward-executor.js';
import { makeCopyBatches } from './copy-batches.js';
import { computeSignChangeDelta, computeMeanAndStd, type SignChangeResult } from './feature-measures.js';

/** The default layers (src/experiments/experiment-layers.ts): the paper's layer 5 and layer 7 (the project's conv5 and fc7). */
export const CORRESPONDENCE_DEFAULT_LAYERS = ['last-conv', 'before-logits'] as const;

/** Feature vectors of each input, per layer name, in input order. */
export type FeatureVectors = Record<string, Float32Array[]>;

/**
 * Runs one [S, S, 3] copy per item through the executor `batchSize` at a
 * time (`writeCopy(item, out, offset)` writes it, when its batch is built, so
 * only the batches in flight hold pixels) and keeps `layers` (names) of
 * each, flattened as the taps request gives them (NHWC for maps).
 * @returns per layer, one vector per item, in item order (copies: the caller owns them)
 */
export async function extractFeatureVectors<T>(
  executor: ForwardExecutor, layers: readonly string[], items: readonly T[], sizePx: number, batchSize: number,
  writeCopy: (item: T, out: Float32Array, offset: number) => void,
): Promise<FeatureVectors> {
  const out: FeatureVectors = Object.fromEntries(layers.map((layer) => [layer, []]));
  const batches = makeCopyBatches(items, sizePx, batchSize, writeCopy);
  await forEachForwardResult(batches, executor, { reducer: 'taps', taps: [...layers] }, (batch, { taps }) => {
    const n = batch.shape[0];
    for (const layer of layers) {
      const values = taps[layer]!.data;
      const size = values.length / n;
      for (let i = 0; i < n; i++) out[layer].push(values.slice(i * size, (i + 1) * size));
    }
  });
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
