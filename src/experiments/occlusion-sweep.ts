/**
 * The occlusion sweep of Fig. 7: the unoccluded image picks the feature map
 * to watch, then occluded copies go through the model in batches, and each
 * occluder position gets (b) that map's summed activation, (d) p(true class)
 * and (e) the most probable class. The forward passes run on the forward
 * executor (onnx or tfjs, in-process or worker threads); sums are taken
 * here in float64. No IO.
 */
import type { TapArray } from '../workers/batch-reducers.js';
import { forEachForwardResult, type ForwardExecutor } from '../workers/forward-executor.js';
import { makeCopyBatches } from './copy-batches.js';
import { computeChannelMaxima, computeSoftmax } from './feature-measures.js';
import { applyOccluder, type OccluderPlacement } from './occluder.js';

/**
 * What the sweep reads from the model: a spatial feature tap ([N, h, w, C],
 * e.g. conv5, the paper's layer 5, or an imported model's layer by name) and
 * the logits, whose softmax is taken here in float64.
 */
export interface OcclusionProbe {
  /** The forward executor (either engine; tests may hand-set one). */
  executor: ForwardExecutor;
  layer: string;
}

function requestOf(probe: OcclusionProbe): { reducer: 'taps'; taps: string[] } {
  return { reducer: 'taps', taps: [probe.layer, 'logits'] };
}

/** Row `i` of [N, K] logits as probabilities. */
function probsOfRow(logits: TapArray, i: number): Float64Array {
  const k = logits.shape[1]!;
  return computeSoftmax(logits.data.subarray(i * k, (i + 1) * k));
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
  probs: Float64Array;
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
 * @param input [S, S, 3] (copied: a worker pool takes the batch's buffer)
 */
export async function measureUnoccluded(probe: OcclusionProbe, input: Float32Array, sizePx: number): Promise<UnoccludedResult> {
  const { taps } = await probe.executor.run({ pixels: Float32Array.from(input), shape: [1, sizePx, sizePx, 3] }, requestOf(probe));
  const feature = taps[probe.layer]!;
  const [h, w, c] = feature.shape.slice(1) as [number, number, number];
  const [map, p] = [feature.data, probsOfRow(taps['logits']!, 0)];
  const [unit, activation] = findArgMax(computeChannelMaxima(map.subarray(0, h * w * c), c));
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
  probe: OcclusionProbe;
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

/** Per image of a batch, the sum of channel `unit` of an [N, h, w, C] tap, in float64. */
function sumUnit(tap: TapArray, unit: number): number[] {
  const [n, h, w, c] = tap.shape as [number, number, number, number];
  return Array.from({ length: n }, (_, image) => {
    let sum = 0;
    for (let i = image * h * w * c + unit, end = (image + 1) * h * w * c; i < end; i += c) sum += tap.data[i]!;
    return sum;
  });
}

/** Sweeps the occluder over every placement, `batchSize` copies per forward pass, as many batches in flight as the executor takes. */
export async function sweepOccluder(options: SweepOptions): Promise<OcclusionCell[]> {
  const cells: OcclusionCell[] = [];
  const { input, sizePx, fill } = options;
  const batches = makeCopyBatches(options.placements, sizePx, options.batchSize, (p, out, offset) => applyOccluder(input, sizePx, p.rect, fill, out, offset));
  await forEachForwardResult(batches, options.probe.executor, requestOf(options.probe), (batch, { taps }) => {
    const sums = sumUnit(taps[options.probe.layer]!, options.unit);
    batch.items.forEach((placement, i) => {
      const row = probsOfRow(taps['logits']!, i);
      const [topClass, topProb] = findArgMax(row);
      const trueProb = options.trueClass === null ? null : row[options.trueClass]!;
      cells.push({ placement, featureSum: sums[i]!, trueProb, topClass, topProb });
    });
    options.onBatch?.(cells.length);
  });
  return cells;
}
