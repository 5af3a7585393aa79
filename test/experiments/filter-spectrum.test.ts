import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeBandEnergies, computeFilterRms, computePowerSpectrum, detectDeadFilters, frequencyOfIndex } from '../../src/experiments/filter-spectrum.js';

/** tfjs-layout weights [k, k, 1, filters] from per-filter k x k planes. */
function layout(planes: number[][], k: number): Float32Array {
  const out = new Float32Array(k * k * planes.length);
  planes.forEach((plane, f) => plane.forEach((v, i) => { out[i * planes.length + f] = v; }));
  return out;
}

test('the DFT power of a cosine sits at its frequency and obeys Parseval', () => {
  const n = 8;
  const values = Array.from({ length: n * n }, (_, i) => Math.cos((2 * Math.PI * 2 * (i % n)) / n)); // 2 cycles across x
  const power = computePowerSpectrum(values, n, n);
  const peaks = [...power.keys()].filter((i) => power[i]! > 1e-6);
  assert.deepEqual(peaks, [2, 6]); // (u=0, v=2) and (u=0, v=-2)
  const energy = values.reduce((s, v) => s + v * v, 0);
  assert.ok(Math.abs(power.reduce((s, v) => s + v, 0) - n * n * energy) < 1e-6);
  assert.deepEqual([0, 1, 3, 4, 5, 7].map((k) => frequencyOfIndex(k, 8)), [0, 0.125, 0.375, -0.5, -0.375, -0.125]);
  assert.deepEqual([3, 4].map((k) => frequencyOfIndex(k, 7)), [3 / 7, -3 / 7]);
});

test('band energy puts a flat filter in low, a checkerboard in high, and sums to 1', () => {
  const k = 7;
  const flat = Array.from({ length: k * k }, () => 1);
  const checker = Array.from({ length: k * k }, (_, i) => ((Math.floor(i / k) + (i % k)) % 2 === 0 ? 1 : -1));
  const mid = Array.from({ length: k * k }, (_, i) => Math.cos((2 * Math.PI * 2 * (i % k)) / k)); // 2/7 = 0.29 c/px
  const [a, b, c] = computeBandEnergies(layout([flat, checker, mid], k), [k, k, 1, 3]);
  assert.ok(Math.abs(a!.low - 1) < 1e-9);
  assert.ok(b!.high > 0.9);
  assert.ok(Math.abs(c!.mid - 1) < 1e-9);
  for (const e of [a!, b!, c!]) assert.ok(Math.abs(e.low + e.mid + e.high - 1) < 1e-9);
  assert.deepEqual(computeBandEnergies(new Float32Array(4), [2, 2, 1, 1]), [{ low: 0, mid: 0, high: 0 }]);
});

test('filter RMS and dead filters relative to the median', () => {
  const weights = layout([[1, 1, 1, 1], [2, -2, 2, -2], [0.001, 0, 0, 0], [3, 3, 3, 3]], 2);
  const rms = computeFilterRms(weights, [2, 2, 1, 4]);
  [1, 2, 0.0005, 3].forEach((v, i) => assert.ok(Math.abs(rms[i]! - v) < 1e-9));
  assert.deepEqual(detectDeadFilters(rms), [false, false, true, false]);
  assert.deepEqual(detectDeadFilters(rms, 0.8), [true, false, true, false]); // median 1.5
});
