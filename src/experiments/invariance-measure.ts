/**
 * The measures of Fig. 5 for one image: its transformed copies go through the
 * model in batches; for each copy, the Euclidean distance between the
 * original's and the copy's feature vectors at layer 1 (the rectified conv1
 * output, flattened) and layer 7 (fc7), raw and divided by the original's
 * norm, and p(true class). The forward passes run on the forward executor
 * (the `distances` request: only [N] distances and norms per layer come back). No IO.
 */
import { forEachForwardResult, type ForwardExecutor } from '../workers/forward-executor.js';
import { makeCopyBatches } from './copy-batches.js';
import { applyTransform, transformAmount, type InvarianceTransform } from './invariance-transforms.js';
import { computeSoftmax, divideByNorm } from './feature-measures.js';
import { findArgMax } from './occlusion-sweep.js';

/** The default layers (src/experiments/experiment-layers.ts): the paper's layer 1 and layer 7 (the project's rectified conv1 and fc7 after ReLU). */
export const INVARIANCE_DEFAULT_LAYERS = ['first-conv', 'before-logits'] as const;

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
  /** The layers measured as the paper's layer 1 and layer 7 (by name). */
  layers: readonly [string, string];
  /** [S, S, 3] model input (read, not changed). */
  input: Float32Array;
  sizePx: number;
  transforms: readonly InvarianceTransform[];
  trueClass: number | null;
  batchSize: number;
}

/**
 * Measures every transformed copy of one image against the untransformed
 * image: each batch holds the original first, then up to `batchSize` copies,
 * and returns only each copy's distances to the original (float64), the
 * original's norm and the probabilities.
 */
export async function measureInvariance(options: MeasureInvarianceOptions): Promise<InvarianceRow[]> {
  const S = options.sizePx;
  const [layer1, layer7] = options.layers;
  const request = { reducer: 'distances' as const, features: [layer1, layer7], taps: ['logits'] };
  const batches = makeCopyBatches(options.transforms, S, options.batchSize, (t, out, offset) => applyTransform(options.input, S, 3, t, out, offset), options.input);
  const rows: InvarianceRow[] = [];
  await forEachForwardResult(batches, options.executor, request, (batch, { distances, norms, taps }) => {
    const [d1, d7, logits] = [distances[layer1]!, distances[layer7]!, taps['logits']!];
    const [norm1, norm7] = [norms[layer1]!, norms[layer7]!]; // the original's, from the same pass as its copies
    const k = logits.shape[1]!;
    batch.items.forEach((transform, i) => {
      const row = computeSoftmax(logits.data.subarray((i + 1) * k, (i + 2) * k));
      rows.push({
        transform, amount: transformAmount(transform),
        layer1Distance: d1[i + 1]!, layer1Normalised: divideByNorm(d1[i + 1]!, norm1),
        layer7Distance: d7[i + 1]!, layer7Normalised: divideByNorm(d7[i + 1]!, norm7),
        trueProb: options.trueClass === null ? null : row[options.trueClass]!, topClass: findArgMax(row)[0],
      });
    });
  });
  return rows;
}
