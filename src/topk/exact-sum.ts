/**
 * Exact floating-point sums whose value does not depend on the order of the
 * additions, so statistics gathered in shards merge to exactly the numbers of
 * one pass.
 *
 * An `ExactSum` is a Shewchuk expansion: non-overlapping float64 partials in
 * increasing magnitude whose real-number sum is exactly the sum of every value
 * added (no rounding ever happens, only redistribution between partials).
 * `roundExactSum` returns the correctly rounded float64 of that exact sum (the
 * algorithm of Python's `math.fsum`), so two sums of the same multiset of
 * values read the same to the last bit whatever the order or grouping of the
 * additions and merges. Partials stay short (typically 1 to 3) for real data.
 *
 * Inputs must be finite; an overflow of the exact sum past float64 is not
 * handled (activations are far from 1e308).
 */

/** Partials, increasing magnitude, non-overlapping. Mutated in place by the functions here. */
export type ExactSum = number[];

/** A new sum of nothing (exactly 0). */
export function createExactSum(): ExactSum {
  return [];
}

/**
 * Adds one finite value exactly (Shewchuk's grow-expansion with zero elimination).
 * Precondition: `value` is finite (callers validate; a NaN would poison the sum).
 */
export function addToExactSum(sum: ExactSum, value: number): void {
  let x = value;
  let kept = 0;
  for (let j = 0; j < sum.length; j++) {
    let y = sum[j]!;
    if (Math.abs(x) < Math.abs(y)) {
      const t = x;
      x = y;
      y = t;
    }
    const hi = x + y;
    const lo = y - (hi - x);
    if (lo !== 0) sum[kept++] = lo;
    x = hi;
  }
  if (kept === sum.length) sum.push(x);
  else {
    sum[kept] = x;
    // Shrinking the array is rare; leaving length alone keeps V8's fast elements path.
    if (sum.length !== kept + 1) sum.length = kept + 1;
  }
}

/** Adds every partial of `from` into `into`: afterwards `into` holds the exact sum of both. */
export function mergeExactSum(into: ExactSum, from: readonly number[]): void {
  for (const partial of from) addToExactSum(into, partial);
}

/** The correctly rounded (half-even) float64 of the exact sum. */
export function roundExactSum(sum: readonly number[]): number {
  let n = sum.length;
  if (n === 0) return 0;
  let hi = sum[--n]!;
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = sum[--n]!;
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  // Half-way case: the rounding of hi + lo went one way, but the partials
  // below lo push the exact value past the half-way point.
  if (n > 0 && ((lo < 0 && sum[n - 1]! < 0) || (lo > 0 && sum[n - 1]! > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi;
}

/** Encodes the partials as little-endian float64 bytes (for a BLOB column). */
export function encodeExactSum(sum: readonly number[]): Buffer {
  const bytes = Buffer.alloc(sum.length * 8);
  sum.forEach((partial, i) => bytes.writeDoubleLE(partial, i * 8));
  return bytes;
}

/**
 * Decodes bytes written by encodeExactSum.
 * @throws RangeError when the byte length is not a multiple of 8.
 */
export function decodeExactSum(bytes: Uint8Array): ExactSum {
  if (bytes.byteLength % 8 !== 0) throw new RangeError(`Expected a multiple of 8 bytes for an exact sum but received ${bytes.byteLength}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sum: ExactSum = [];
  for (let offset = 0; offset < bytes.byteLength; offset += 8) sum.push(view.getFloat64(offset, true));
  return sum;
}
