/**
 * A small seeded PRNG (mulberry32) and a way to derive independent streams
 * from (seed, epoch, image id, ...), so that a draw never depends on the order
 * in which images happen to be processed, on sharding or on resuming.
 * Pure: no global state.
 */

/** A source of uniform numbers in [0, 1). */
export interface Rng {
  /** Next uniform number in [0, 1). */
  next(): number;
  /** Next integer uniform in [0, n). */
  nextInt(n: number): number;
}

/** Mixes one 32-bit word into a hash state (murmur3 finalizer style). */
function mixWord(h: number, word: number): number {
  let k = Math.imul(word | 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  let x = (h ^ k) >>> 0;
  x = (x << 13) | (x >>> 19);
  return (Math.imul(x, 5) + 0xe6546b64) >>> 0;
}

function finalize(h: number): number {
  let x = h >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * Derives a 32-bit seed from a base seed and any number of integer parts
 * (e.g. epoch, image id, a purpose tag). Integers up to 2^53 are split into
 * two words so large image ids stay distinct.
 */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = mixWord(0x9e3779b9, seed);
  for (const part of parts) {
    const hi = Math.floor(part / 0x100000000);
    h = mixWord(h, part >>> 0);
    h = mixWord(h, hi >>> 0);
  }
  return finalize(mixWord(h, parts.length));
}

/** Creates a mulberry32 generator from a 32-bit seed. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, nextInt: (n: number) => Math.floor(next() * n) };
}

/** Purpose tags so streams for different uses of one (seed, epoch) never coincide. */
export const RNG_PURPOSE = Object.freeze({ shuffle: 1, crop: 2, sample: 3 });

/**
 * A permutation of 0..n-1 (Fisher-Yates) drawn from `rng`. An Int32Array so
 * a 1.28M-image split costs 5 MB.
 */
export function drawPermutation(n: number, rng: Rng): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}
