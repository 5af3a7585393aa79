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

test('Delta_l equals the direct sum over ordered pairs i != j', () => {
  const rng = createRng(5);
  const n = 5;
  const originals = Array.from({ length: n }, () => randomVector(rng, 40));
  const masked = Array.from({ length: n }, () => randomVector(rng, 40));
  const result = computeSignChangeDelta(originals, masked);
  let direct = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      let differ = 0;
      for (let k = 0; k < 40; k++) {
        if (Math.sign(originals[i]![k]! - masked[i]![k]!) !== Math.sign(originals[j]![k]! - masked[j]![k]!)) differ += 1;
      }
      direct += differ / 40;
    }
  }
  assert.equal(result.pairFractions.length, 10);
  assert.ok(Math.abs(result.deltaSum - direct) < 1e-12);
  assert.ok(Math.abs(result.deltaMean - direct / 20) < 1e-12);
  const { std } = computeMeanAndStd(result.pairFractions);
  assert.equal(result.deltaStd, std);
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
