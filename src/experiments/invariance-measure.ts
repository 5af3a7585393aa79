/**
 * The measures of Fig. 5 for one image: its transformed copies go through the
 * model in batches; for each copy, the Euclidean distance between the
 * original's and the copy's feature vectors at layer 1 (the rectified conv1
 * output, flattened) and layer 7 (fc7), raw and divided by the original's
 * norm, and p(true class). The forward passes run on the forward executor
 * (the `distances` request: only [N] distances per layer come back). No IO.
 */
import type { TapName } from '../model/spec.js';
import { forEachForwardResult, type ForwardExecutor } from '../workers/forward-executor.js';
import { makeCopyBatches } from './copy-batches.js';
import { applyTransform, transformAmount, type InvarianceTransform } from './invariance-transforms.js';
import { computeNorm, divideByNorm } from './feature-measures.js';
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
  /** The forward executor (onnx or tfjs, in-process or worker threads). */
  executor: ForwardExecutor;
  /** [S, S, 3] model input. */
  input: Float32Array;
  sizePx: number;
  transforms: readonly InvarianceTransform[];
  trueClass: number | null;
  batchSize: number;
}

/**
 * Measures every transformed copy of one image against the untransformed
 * image: one pass for the original's layer-1 and layer-7 features, then the
 * copies in batches, each returning only its distances to them (float64) and its probabilities.
 */
export async function measureInvariance(options: MeasureInvarianceOptions): Promise<InvarianceRow[]> {
  const S = options.sizePx;
  const { layer1, layer7 } = INVARIANCE_TAPS;
  const original = await options.executor.run({ pixels: Float32Array.from(options.input), shape: [1, S, S, 3] }, { reducer: 'taps', taps: [layer1, layer7] });
  const [ref1, ref7] = [original.taps[layer1]!.data, original.taps[layer7]!.data];
  const [norm1, norm7] = [computeNorm(ref1), computeNorm(ref7)];
  const request = { reducer: 'distances' as const, references: [{ tap: layer1, values: ref1 }, { tap: layer7, values: ref7 }], taps: ['probs' as const] };
  const rows: InvarianceRow[] = [];
  const batches = makeCopyBatches(options.transforms, S, options.batchSize, (t, out, offset) => applyTransform(options.input, S, 3, t, out, offset));
  await forEachForwardResult(batches, options.executor, request, (batch, { distances, taps }) => {
    const [d1, d7, probs] = [distances[layer1]!, distances[layer7]!, taps.probs!];
    const k = probs.shape[1]!;
    batch.items.forEach((transform, i) => {
      const row = probs.data.subarray(i * k, (i + 1) * k);
      rows.push({
        transform, amount: transformAmount(transform),
        layer1Distance: d1[i]!, layer1Normalised: divideByNorm(d1[i]!, norm1),
        layer7Distance: d7[i]!, layer7Normalised: divideByNorm(d7[i]!, norm7),
        trueProb: options.trueClass === null ? null : row[options.trueClass]!, topClass: findArgMax(row)[0],
      });
    });
  });
  return rows;
}
