import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng, type Rng } from '../../src/data/seeded-rng.js';
import { addToExactSum, createExactSum, decodeExactSum, encodeExactSum, mergeExactSum, roundExactSum } from '../../src/topk/exact-sum.js';

/** Float32 values of wide dynamic range (as activations and their squares are). */
function drawValues(rng: Rng, n: number): number[] {
  const scratch = new Float32Array(1);
  return Array.from({ length: n }, () => {
    scratch[0] = (rng.next() - 0.3) * 10 ** (rng.nextInt(12) - 6);
    return scratch[0]!;
  });
}

function shuffle<T>(items: T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function sumOf(values: readonly number[]): number[] {
  const sum = createExactSum();
  for (const v of values) addToExactSum(sum, v);
  return sum;
}

/** Exact reference: every value is a multiple of 2^-200 here, so a BigInt numerator is exact. */
function referenceSum(values: readonly number[]): number {
  const scaleBits = 200n;
  let numerator = 0n;
  for (const v of values) {
    let m = v;
    let e = 0;
    while (!Number.isInteger(m)) { m *= 2; e += 1; }
    numerator += (BigInt(m) << (scaleBits - BigInt(e)));
  }
  // Number(bigint) rounds to nearest, ties to even; dividing by a power of two is exact here.
  return Number(numerator) / 2 ** 200;
}

test('the rounded exact sum equals the correctly rounded true sum', () => {
  for (let seed = 1; seed <= 30; seed++) {
    const values = drawValues(createRng(seed), 500);
    assert.equal(roundExactSum(sumOf(values)), referenceSum(values), `seed ${seed}`);
  }
  assert.equal(roundExactSum(sumOf([1e100, 1, -1e100])), 1);
  assert.equal(roundExactSum(sumOf(Array.from({ length: 10 }, () => 0.1))), 1);
  assert.equal(roundExactSum(createExactSum()), 0);
});

test('order and grouping never change the result (shards merge to one pass bit for bit)', () => {
  for (let seed = 1; seed <= 30; seed++) {
    const rng = createRng(1000 + seed);
    const values = drawValues(rng, 400);
    const whole = roundExactSum(sumOf(values));
    const shuffled = shuffle(values, rng);
    const cut1 = rng.nextInt(400);
    const cut2 = cut1 + rng.nextInt(400 - cut1);
    const merged = sumOf(shuffled.slice(0, cut1));
    mergeExactSum(merged, sumOf(shuffled.slice(cut2)));
    mergeExactSum(merged, sumOf(shuffled.slice(cut1, cut2)));
    assert.equal(roundExactSum(merged), whole, `seed ${seed}`);
    assert.equal(roundExactSum(sumOf(shuffled)), whole, `seed ${seed}`);
  }
});

test('encode then decode gives back the partials', () => {
  const sum = sumOf([1e30, 3.5, -2e-20, 7]);
  assert.deepEqual(decodeExactSum(encodeExactSum(sum)), sum);
  assert.deepEqual(decodeExactSum(encodeExactSum([])), []);
  assert.throws(() => decodeExactSum(new Uint8Array(7)), { name: 'RangeError', message: 'Expected a multiple of 8 bytes for an exact sum but received 7' });
});
