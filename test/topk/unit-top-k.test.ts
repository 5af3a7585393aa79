import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng, type Rng } from '../../src/data/seeded-rng.js';
import { clearDirty, createUnitTopK, listDirtyUnits, mergeUnitTopK, offerEntry, readUnitEntries, type TopKEntry } from '../../src/topk/unit-top-k.js';

function drawEntries(rng: Rng, n: number, distinctValues: number): TopKEntry[] {
  const ids = Array.from({ length: n }, (_, i) => 200000000 + i * 3);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  // Few distinct values force many ties, which the id must break.
  return ids.map((imageId) => ({ value: rng.nextInt(distinctValues) / 4, imageId, y: rng.nextInt(13), x: rng.nextInt(13), label: rng.nextInt(5), path: `img-${imageId}.png` }));
}

const sortThenSlice = (entries: TopKEntry[], k: number): TopKEntry[] =>
  [...entries].sort((a, b) => b.value - a.value || a.imageId - b.imageId).slice(0, k);

test('top-k equals sort-then-slice on random streams (many seeds, ties broken by lower id)', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const rng = createRng(seed);
    const k = 1 + rng.nextInt(12);
    const numUnits = 1 + rng.nextInt(4);
    const topk = createUnitTopK(numUnits, k);
    const streams = Array.from({ length: numUnits }, () => drawEntries(rng, rng.nextInt(60), 1 + rng.nextInt(20)));
    streams.forEach((entries, unit) => entries.forEach((e) => offerEntry(topk, unit, e)));
    streams.forEach((entries, unit) => assert.deepEqual(readUnitEntries(topk, unit), sortThenSlice(entries, k), `seed ${seed} unit ${unit}`));
  }
});

test('merging top-k of disjoint parts equals one pass', () => {
  for (let seed = 1; seed <= 100; seed++) {
    const rng = createRng(5000 + seed);
    const entries = drawEntries(rng, 80, 6);
    const whole = createUnitTopK(1, 9);
    entries.forEach((e) => offerEntry(whole, 0, e));
    const parts = [createUnitTopK(1, 9), createUnitTopK(1, 9), createUnitTopK(1, 9)];
    entries.forEach((e) => offerEntry(parts[rng.nextInt(3)]!, 0, e));
    mergeUnitTopK(parts[2]!, parts[0]!);
    mergeUnitTopK(parts[2]!, parts[1]!);
    assert.deepEqual(readUnitEntries(parts[2]!, 0), readUnitEntries(whole, 0), `seed ${seed}`);
  }
});

test('dirty flags name the units that changed', () => {
  const topk = createUnitTopK(3, 2);
  const entry = (value: number, imageId: number): TopKEntry => ({ value, imageId, y: 0, x: 0, label: 0, path: '' });
  offerEntry(topk, 0, entry(1, 1));
  offerEntry(topk, 2, entry(1, 1));
  assert.deepEqual(listDirtyUnits(topk), [0, 2]);
  clearDirty(topk);
  offerEntry(topk, 0, entry(2, 2));
  assert.equal(offerEntry(topk, 0, entry(0.5, 3)), false);
  assert.deepEqual(listDirtyUnits(topk), [0]);
});

test('bad shapes are refused with exact messages', () => {
  assert.throws(() => createUnitTopK(4, 0), { name: 'RangeError', message: 'Expected integer between 1 and 255 for k but received 0' });
  assert.throws(() => mergeUnitTopK(createUnitTopK(4, 9), createUnitTopK(5, 9)), { message: 'Cannot merge top-k of 5 units x 9 into 4 units x 9' });
});
