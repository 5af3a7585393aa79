import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeCopyBatches } from '../../src/experiments/copy-batches.js';

test('copy batches: batchSize copies per batch (the last shorter), joined back they are the copies in item order, each batch a fresh array, built lazily', () => {
  const S = 2;
  const perImage = S * S * 3;
  const items = [10, 20, 30, 40, 50];
  let written = 0;
  const batches = makeCopyBatches(items, S, 2, (item, out, offset) => {
    written += 1;
    for (let k = 0; k < perImage; k++) out[offset + k] = item + k;
  });
  assert.equal(written, 0, 'nothing is built before the first batch is asked for');
  const first = batches.next().value!;
  assert.equal(written, 2);
  const all = [first, ...batches];
  assert.deepEqual(all.map((b) => b.shape), [[2, S, S, 3], [2, S, S, 3], [1, S, S, 3]]);
  assert.deepEqual(all.flatMap((b) => b.items), items);
  const joined = all.flatMap((b) => Array.from(b.pixels));
  assert.deepEqual(joined, items.flatMap((item) => Array.from({ length: perImage }, (_, k) => item + k)));
  assert.equal(new Set(all.map((b) => b.pixels.buffer)).size, 3);
});

test('copy batches with a leading image: every batch starts with it, then batchSize copies', () => {
  const S = 1;
  const leading = Float32Array.from([7, 8, 9]);
  const batches = [...makeCopyBatches(['a', 'b', 'c'], S, 2, (item, out, offset) => out.fill(item.charCodeAt(0), offset, offset + 3), leading)];
  assert.deepEqual(batches.map((b) => [b.shape, b.items]), [[[3, S, S, 3], ['a', 'b']], [[2, S, S, 3], ['c']]]);
  assert.deepEqual(Array.from(batches[0]!.pixels), [7, 8, 9, 97, 97, 97, 98, 98, 98]);
  assert.deepEqual(Array.from(batches[1]!.pixels), [7, 8, 9, 99, 99, 99]);
  assert.deepEqual(Array.from(leading), [7, 8, 9], 'the leading image is copied, not moved');
});
