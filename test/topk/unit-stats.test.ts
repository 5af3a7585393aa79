import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng, type Rng } from '../../src/data/seeded-rng.js';
import { addUnitValue, computeClassPurity, countImages, createUnitStats, mergeUnitStats, summarizeUnit, type UnitStats } from '../../src/topk/unit-stats.js';

interface Sample { max: number; mean: number }

/** Per image and unit, a float32 max (zero for about a third: ReLU) and a mean below it. */
function drawSamples(rng: Rng, numImages: number, numUnits: number): Sample[][] {
  const f32 = new Float32Array(2);
  return Array.from({ length: numImages }, () => Array.from({ length: numUnits }, (_, unit) => {
    const fires = unit !== 0 && rng.next() > 0.35; // unit 0 is dead
    f32[0] = fires ? rng.next() * 50 : 0;
    f32[1] = f32[0]! * rng.next() * 0.3;
    return { max: f32[0]!, mean: f32[1]! };
  }));
}

function accumulate(samples: Sample[][], numUnits: number): UnitStats {
  const stats = createUnitStats(numUnits);
  for (const image of samples) image.forEach((s, unit) => addUnitValue(stats, unit, s.max, s.mean));
  countImages(stats, samples.length);
  return stats;
}

test('statistics equal a direct computation', () => {
  const numUnits = 5;
  const samples = drawSamples(createRng(7), 300, numUnits);
  const stats = accumulate(samples, numUnits);
  for (let unit = 0; unit < numUnits; unit++) {
    const maxima = samples.map((image) => image[unit]!.max);
    const means = samples.map((image) => image[unit]!.mean);
    const mean = maxima.reduce((a, b) => a + b, 0) / maxima.length;
    const std = Math.sqrt(maxima.reduce((a, b) => a + (b - mean) ** 2, 0) / maxima.length);
    const summary = summarizeUnit(stats, unit);
    assert.equal(summary.imagesSeen, 300);
    assert.equal(summary.firingCount, maxima.filter((v) => v > 0).length);
    assert.equal(summary.firingRate, maxima.filter((v) => v > 0).length / 300);
    assert.equal(summary.maxValue, Math.max(...maxima));
    assert.ok(Math.abs(summary.meanMax! - mean) <= 1e-12 * Math.max(1, mean));
    assert.ok(Math.abs(summary.stdMax! - std) <= 1e-9 * Math.max(1, std), `unit ${unit}: ${summary.stdMax} vs ${std}`);
    assert.ok(Math.abs(summary.meanActivation! - means.reduce((a, b) => a + b, 0) / 300) <= 1e-12);
    assert.equal(summary.dead, unit === 0);
  }
});

test('statistics of shards merge to exactly one pass', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const rng = createRng(100 + seed);
    const samples = drawSamples(rng, 120, 4);
    const whole = accumulate(samples, 4);
    const cut = rng.nextInt(120);
    const merged = accumulate(samples.slice(cut), 4);
    mergeUnitStats(merged, accumulate(samples.slice(0, cut), 4));
    for (let unit = 0; unit < 4; unit++) assert.deepEqual(summarizeUnit(merged, unit), summarizeUnit(whole, unit), `seed ${seed} unit ${unit}`);
  }
});

test('an empty accumulator summarises to nulls, and unit counts must agree to merge', () => {
  assert.deepEqual(summarizeUnit(createUnitStats(1), 0), { imagesSeen: 0, firingCount: 0, firingRate: null, meanMax: null, stdMax: null, meanActivation: null, maxValue: null, dead: false });
  assert.throws(() => mergeUnitStats(createUnitStats(2), createUnitStats(3)), { name: 'RangeError', message: 'Cannot merge statistics of 3 units into 2' });
});

test('class purity is the share of the most frequent class, ties to the lower label', () => {
  assert.deepEqual(computeClassPurity([3, 3, 1, 3, 2, 1, 3, 0, 3]), { topLabel: 3, purity: 5 / 9 });
  assert.deepEqual(computeClassPurity([2, 1, 2, 1]), { topLabel: 1, purity: 0.5 });
  assert.deepEqual(computeClassPurity([-1, -1, 4]), { topLabel: 4, purity: 1 / 3 });
  assert.deepEqual(computeClassPurity([-1, -1]), { topLabel: null, purity: null });
  assert.deepEqual(computeClassPurity([]), { topLabel: null, purity: null });
});
