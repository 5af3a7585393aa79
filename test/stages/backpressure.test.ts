import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { iterateWithPrefetch } from '../../src/stages/async-batches.js';
import { createAugmentStage } from '../../src/stages/augment-stage.js';
import { createBatchStage } from '../../src/stages/batch-stage.js';
import { createDecodeStage } from '../../src/stages/decode-stage.js';
import { createListStage } from '../../src/stages/list-stage.js';
import { createReadStage } from '../../src/stages/read-stage.js';
import type { ImageRecord } from '../../src/stages/stage-items.js';

/** A pipeline over `count` fake records whose reads are counted. */
async function makeCountedPipeline(count: number) {
  const jpeg = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#808080' } }).jpeg().toBuffer();
  const counts = { listed: 0, read: 0 };
  function* records(): Generator<ImageRecord> {
    for (let i = 0; i < count; i++) { counts.listed++; yield { imageId: i, label: 0, relPath: `${i}.jpg`, path: `/fake/${i}.jpg` }; }
  }
  const readBytes = async (path: string): Promise<Buffer> => {
    counts.read++;
    if (path === '/fake/missing.jpg') throw new Error('ENOENT: no such file or directory');
    return jpeg;
  };
  const stream = createListStage(records())
    .through(createReadStage({ strict: false, concurrency: 3, readBytes }))
    .through(createDecodeStage({ strict: false, squarePx: 10, concurrency: 2 }))
    .through(createAugmentStage({ cropMode: 'centre', cropPx: 8, meanSquare: null, seed: 1, epoch: 0 }))
    .through(createBatchStage({ batchSize: 4 }));
  return { stream, counts };
}

const waitFor = async (condition: () => boolean): Promise<void> => {
  for (let i = 0; i < 3000 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
};

test('reading runs ahead of a busy consumer by a bounded amount, and only that', async () => {
  const { stream, counts } = await makeCountedPipeline(1000);
  const batches = iterateWithPrefetch(stream, 2);
  await batches.next();
  // The consumer is busy now (no next() call): the prefetch fills up in the background...
  await waitFor(() => counts.read >= 12);
  assert.ok(counts.read >= 12, `only ${counts.read} read ahead`);
  // ...and then stops: 1 consumed batch + 2 prefetched + what the parallel stages hold.
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(counts.read <= 4 * 3 + 3 + 2 + 4 + 2, `read ${counts.read} for 4 images consumed`);
  assert.ok(counts.listed <= counts.read + 4, `listed ${counts.listed}`);
  let consumed = 4;
  for await (const b of batches) {
    consumed += b.imageIds.length;
    assert.ok(counts.read - consumed <= 3 * 4 + 3 + 2 + 2, `read ${counts.read} with ${consumed} consumed`);
  }
  assert.equal(consumed, 1000);
});

test('breaking out of the loop stops reading', async () => {
  const { stream, counts } = await makeCountedPipeline(1000);
  for await (const b of iterateWithPrefetch(stream, 1)) { assert.equal(b.shape[0], 4); break; }
  const after = counts.read;
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(counts.read <= after + 3, `read ${counts.read} after stopping at ${after}`);
  assert.ok(counts.read < 30);
});
