import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../../src/data/seeded-rng.js';
import {
  computeChannelMaxima, computeEuclideanDistance, computeHammingFraction, computeMeanAndStd, computeNormalisedDistance, computeSignChangeDelta, computeSigns,
} from '../../src/experiments/feature-measures.js';

function randomVector(rng: ReturnType<typeof createRng>, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.next() < 0.3 ? 0 : rng.next() * 2 - 1));
}

test('distances equal the direct computation', () => {
  assert.equal(computeEuclideanDistance([0, 3], [4, 0]), 5);
  assert.equal(computeNormalisedDistance([3, 4], [3, 4]), 0);
  assert.equal(computeNormalisedDistance([3, 4], [0, 0]), 1);
  assert.equal(computeNormalisedDistance([0, 0], [0, 0]), 0);
  assert.equal(computeNormalisedDistance([0, 0], [1, 0]), Infinity);
  const rng = createRng(1);
  const a = randomVector(rng, 50);
  const b = randomVector(rng, 50);
  const direct = Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0)) / Math.sqrt(a.reduce((s, v) => s + v * v, 0));
  assert.ok(Math.abs(computeNormalisedDistance(a, b) - direct) < 1e-12);
  assert.throws(() => computeEuclideanDistance([1], [1, 2]), { message: 'Expected feature vectors of equal length but received 1 and 2' });
});

test('the Hamming fraction counts differing signs, zero being its own sign', () => {
  assert.deepEqual(Array.from(computeSigns([-2, 0, 3])), [-1, 0, 1]);
  assert.equal(computeHammingFraction(computeSigns([1, -1, 0, 2]), computeSigns([1, 1, 0, -2])), 0.5);
  assert.equal(computeHammingFraction(computeSigns([0, 1]), computeSigns([1, 1])), 0.5);
});

test('Delta_l equals the direct sum over ordered pairs i != j; its spread is the population std of the pairs', () => {
  const rng = createRng(5);
  const n = 5;
  const originals = Array.from({ length: n }, () => randomVector(rng, 40));
  const masked = Array.from({ length: n }, () => randomVector(rng, 40));
  const result = computeSignChangeDelta(originals, masked);
  let direct = 0;
  const unorderedPairs: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      let differ = 0;
      for (let k = 0; k < 40; k++) {
        if (Math.sign(originals[i]![k]! - masked[i]![k]!) !== Math.sign(originals[j]![k]! - masked[j]![k]!)) differ += 1;
      }
      direct += differ / 40;
      if (i < j) unorderedPairs.push(differ / 40);
    }
  }
  assert.equal(result.pairFractions.length, 10);
  assert.ok(Math.abs(result.deltaSum - direct) < 1e-12);
  assert.ok(Math.abs(result.deltaMean - direct / 20) < 1e-12);
  const pairMean = unorderedPairs.reduce((a, b) => a + b, 0) / unorderedPairs.length;
  const populationStd = Math.sqrt(unorderedPairs.reduce((a, v) => a + (v - pairMean) ** 2, 0) / unorderedPairs.length);
  assert.ok(populationStd > 0.01, `the random pairs should spread, std ${populationStd}`);
  assert.ok(Math.abs(result.deltaStd - populationStd) < 1e-12, `deltaStd ${result.deltaStd}, population std ${populationStd}`);
});

test('Delta_l of three hand-made images: pairs 1/2, 1, 1/2, population std sqrt(1/18)', () => {
  // sign e_i: image 0 (+, +), image 1 (+, -), image 2 (-, -)
  const result = computeSignChangeDelta([[1, 1], [1, 0], [0, 0]], [[0, 0], [0, 1], [1, 1]]);
  assert.deepEqual(result.pairFractions, [0.5, 1, 0.5]);
  assert.equal(result.deltaSum, 4);
  assert.ok(Math.abs(result.deltaMean - 2 / 3) < 1e-12);
  assert.ok(Math.abs(result.deltaStd - Math.sqrt(1 / 18)) < 1e-12, `deltaStd ${result.deltaStd}, expected sqrt(1/18) = ${Math.sqrt(1 / 18)}`);
});

test('computeMeanAndStd gives the population standard deviation (divides by n, not n - 1)', () => {
  const { mean, std } = computeMeanAndStd([2, 4, 4, 4, 5, 5, 7, 9]);
  assert.equal(mean, 5);
  assert.ok(Math.abs(std - 2) < 1e-12, `std ${std}, expected 2 (the sample std would be ${Math.sqrt(32 / 7)})`);
  assert.deepEqual(computeMeanAndStd([3]), { mean: 3, std: 0 });
  const empty = computeMeanAndStd([]);
  assert.ok(Number.isNaN(empty.mean) && Number.isNaN(empty.std));
});

test('identical changes in every image give Delta 0', () => {
  const x = [[1, 2, 3], [4, 5, 6], [0, 1, 0]];
  const masked = [[0, 2, 4], [3, 5, 7], [-1, 1, 1]];
  const result = computeSignChangeDelta(x, masked);
  assert.equal(result.deltaSum, 0);
  assert.throws(() => computeSignChangeDelta([x[0]!], [masked[0]!]), { message: 'Expected at least 2 images for Delta_l but received 1' });
});

test('channel maxima of an NHWC map equal a per-channel search; negative maps keep their values', () => {
  const rng = createRng(5);
  const [h, w, c] = [3, 4, 5];
  const map = Float32Array.from({ length: h * w * c }, () => rng.next() * 2 - 1.5);
  const expected = Array.from({ length: c }, (_, k) => Math.max(...Array.from({ length: h * w }, (_, i) => map[i * c + k]!)));
  assert.deepEqual([...computeChannelMaxima(map, c)], expected);
  assert.deepEqual([...computeChannelMaxima(new Float32Array(0), 2)], [-Infinity, -Infinity]);
});
