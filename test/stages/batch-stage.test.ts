import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../../src/data/seeded-rng.js';
import { joinBatch, splitBatch } from '../../src/stages/batch-stage.js';
import type { AugmentedItem } from '../../src/stages/stage-items.js';

function makeItem(imageId: number, cropCount: number, cropPx: number, seed: number): AugmentedItem {
  const rng = createRng(seed);
  const crops = new Float32Array(cropCount * cropPx * cropPx * 3).map(() => rng.next() * 255 - 128);
  return { record: { imageId, label: imageId % 3, relPath: `r/${imageId}`, path: `/p/${imageId}` }, crops, cropCount, cropPx };
}

test('batching then splitting gives back the input, for 1 and 10 crops per image', () => {
  for (const cropCount of [1, 10]) {
    const items = Array.from({ length: 7 }, (_, i) => makeItem(100 + i, cropCount, 5, i + 1));
    const batch = joinBatch(items);
    assert.deepEqual(batch.shape, [7 * cropCount, 5, 5, 3]);
    assert.equal(batch.imageIds.length, 7 * cropCount);
    assert.deepEqual(batch.imageIds.slice(0, cropCount), new Array(cropCount).fill(100));
    const back = splitBatch(batch);
    assert.deepEqual(back.map((b) => [b.imageId, b.label, b.path]), items.map((it) => [it.record.imageId, it.record.label, it.record.path]));
    back.forEach((b, i) => assert.deepEqual(b.crops, items[i]!.crops));
  }
});

test('unlabelled images get label -1; mixed crop shapes and empty batches are refused', () => {
  const item = makeItem(1, 1, 2, 1);
  assert.deepEqual(joinBatch([{ ...item, record: { ...item.record, label: null } }]).labels, [-1]);
  assert.throws(() => joinBatch([]), { name: 'RangeError', message: 'Cannot make a batch of 0 images' });
  assert.throws(() => joinBatch([item, makeItem(2, 1, 3, 2)]), { message: 'Image /p/2 has 1 crops of 3 px, the batch 1 of 2 px' });
});
