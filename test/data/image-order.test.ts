import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countImageIds, iterateImageIds, pageIds, type ImageOrderOptions } from '../../src/data/image-order.js';

const base: ImageOrderOptions = { baseId: 100_000_000, imageCount: 103, order: 'sorted', seed: 1, epoch: 0 };
const ids = (o: Partial<ImageOrderOptions>): number[] => [...iterateImageIds({ ...base, ...o })];

test('sorted order is the id order', () => {
  assert.deepEqual(ids({}), Array.from({ length: 103 }, (_, i) => 100_000_000 + i));
});

test('shards are disjoint, cover the split and keep each order', () => {
  for (const order of ['sorted', 'shuffled'] as const) {
    const shards = [0, 1, 2].map((index) => ids({ order, shard: { index, count: 3 } }));
    assert.deepEqual(shards.flat().sort((a, b) => a - b), ids({}));
    shards.forEach((s, index) => assert.ok(s.every((id) => id % 3 === index)));
    shards.forEach((s, index) => assert.equal(s.length, countImageIds({ ...base, order, shard: { index, count: 3 } })));
    assert.deepEqual(shards[1], ids({ order }).filter((id) => id % 3 === 1));
  }
});

test('shuffled order depends only on (seed, epoch)', () => {
  assert.deepEqual(ids({ order: 'shuffled', epoch: 2 }), ids({ order: 'shuffled', epoch: 2 }));
  assert.notDeepEqual(ids({ order: 'shuffled', epoch: 2 }), ids({ order: 'shuffled', epoch: 3 }));
  assert.notDeepEqual(ids({ order: 'shuffled', seed: 2 }), ids({ order: 'shuffled', seed: 1 }));
  assert.deepEqual([...ids({ order: 'shuffled' })].sort((a, b) => a - b), ids({}));
});

test('start and limit resume the same sequence', () => {
  const full = ids({ order: 'shuffled', shard: { index: 1, count: 2 } });
  const first = ids({ order: 'shuffled', shard: { index: 1, count: 2 }, limit: 20 });
  const rest = ids({ order: 'shuffled', shard: { index: 1, count: 2 }, start: 20 });
  assert.deepEqual([...first, ...rest], full);
  assert.equal(countImageIds({ ...base, shard: { index: 1, count: 2 }, start: 20 }), rest.length);
  assert.equal(countImageIds({ ...base, start: 500 }), 0);
});

test('pages group ids in order', () => {
  assert.deepEqual([...pageIds([1, 2, 3, 4, 5], 2)], [[1, 2], [3, 4], [5]]);
});
