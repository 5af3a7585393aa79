/**
 * Measures between feature vectors for the invariance (Fig. 5) and
 * correspondence (Table 1) experiments. Pure; accumulates in float64.
 */

/** Euclidean distance ||a - b||. @throws RangeError when the lengths differ. */
export function computeEuclideanDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSameLength(a, b);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    sum += d * d;
  }
  return Math.sqrt(sum);
}

/** Euclidean norm ||a||. */
export function computeNorm(a: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * a[i]!;
  return Math.sqrt(sum);
}

/**
 * The project's normalised distance: ||original - transformed|| / ||original||,
 * so layers of different size and scale share one axis (0 = unchanged,
 * 1 = as far as the original is from zero). 0 when both are zero vectors,
 * Infinity when only the original is.
 * @throws RangeError when the lengths differ.
 */
export function computeNormalisedDistance(original: ArrayLike<number>, transformed: ArrayLike<number>): number {
  return divideByNorm(computeEuclideanDistance(original, transformed), computeNorm(original));
}

/** distance / norm of the original: 0 when both are 0, Infinity when only the norm is. */
export function divideByNorm(distance: number, norm: number): number {
  if (norm === 0) return distance === 0 ? 0 : Infinity;
  return distance / norm;
}

/** Signs of `v` as -1, 0, +1. */
export function computeSigns(v: ArrayLike<number>): Int8Array {
  const out = new Int8Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = Math.sign(v[i]!);
  return out;
}

/**
 * Hamming distance between two sign vectors, normalised by their length
 * (the fraction of components whose sign differs; 0 counts as its own sign).
 * @throws RangeError when the lengths differ or are zero.
 */
export function computeHammingFraction(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSameLength(a, b);
  if (a.length === 0) throw new RangeError('Cannot compare empty sign vectors');
  let differ = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differ += 1;
  return differ / a.length;
}

/** Delta_l of one part (Table 1) and its spread over image pairs. */
export interface SignChangeResult {
  /** H(sign e_i, sign e_j) for every pair i < j, in (0,1), (0,2), ... (1,2), ... order. */
  pairFractions: number[];
  /** The paper's D_l = sum over i != j (each unordered pair counted twice). */
  deltaSum: number;
  /** D_l / (n (n - 1)): the mean over pairs, the scale of the paper's Table 1 values. */
  deltaMean: number;
  /** Standard deviation of the pair values (population). */
  deltaStd: number;
}

/**
 * Delta_l for one part: e_i = x_i - x~_i (original minus masked features of
 * image i), D_l = sum_{i != j} H(sign e_i, sign e_j).
 * @throws RangeError when fewer than 2 images are given or the lists differ in length.
 */
export function computeSignChangeDelta(originals: ArrayLike<number>[], masked: ArrayLike<number>[]): SignChangeResult {
  if (originals.length !== masked.length) throw new RangeError(`Expected as many masked as original feature vectors but received ${masked.length} and ${originals.length}`);
  if (originals.length < 2) throw new RangeError(`Expected at least 2 images for Delta_l but received ${originals.length}`);
  const signs = originals.map((x, i) => {
    checkSameLength(x, masked[i]!);
    const e = new Float64Array(x.length);
    for (let k = 0; k < x.length; k++) e[k] = x[k]! - masked[i]![k]!;
    return computeSigns(e);
  });
  const pairFractions: number[] = [];
  for (let i = 0; i < signs.length; i++) {
    for (let j = i + 1; j < signs.length; j++) pairFractions.push(computeHammingFraction(signs[i]!, signs[j]!));
  }
  const { mean, std } = computeMeanAndStd(pairFractions);
  return { pairFractions, deltaSum: 2 * pairFractions.reduce((a, b) => a + b, 0), deltaMean: mean, deltaStd: std };
}

/** Mean and population standard deviation; NaN for an empty list. */
export function computeMeanAndStd(values: readonly number[]): { mean: number; std: number } {
  if (values.length === 0) return { mean: NaN, std: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) * (v - mean), 0) / values.length;
  return { mean, std: Math.sqrt(variance) };
}

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new RangeError(`Expected feature vectors of equal length but received ${a.length} and ${b.length}`);
}

/**
 * Softmax of one row of logits in float64 (the largest logit subtracted
 * first), so probabilities do not depend on the engine's softmax kernel.
 */
export function computeSoftmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i]! - max);
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / sum;
  return out;
}

/** Per channel, the largest value of an NHWC map flattened to [..., channels] (-Infinity for an empty map). */
export function computeChannelMaxima(map: ArrayLike<number>, channels: number): Float32Array {
  const out = new Float32Array(channels).fill(-Infinity);
  for (let i = 0; i < map.length; i++) if (map[i]! > out[i % channels]!) out[i % channels] = map[i]!;
  return out;
}
