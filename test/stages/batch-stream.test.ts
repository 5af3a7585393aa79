import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createFallbackMean } from '../../src/data/mean-image.js';
import { openDataset } from '../../src/store/open-dataset.js';
import type { ImageBatch, SkippedItem } from '../../src/stages/stage-items.js';
import { createBatchStream, type BatchStreamOptions } from '../../pipelines/shared/input-stream.js';
import { escapeRegExp, makeTempDir, openTempStore, writeBytes, writeFolderTree } from '../data/fixtures.js';

async function collect(stream: AsyncIterable<ImageBatch>): Promise<ImageBatch[]> {
  const batches: ImageBatch[] = [];
  for await (const b of stream) batches.push(b);
  return batches;
}

/** A 3-class tree of 14 good images plus 3 bad ones in class b. */
async function withDataset(run: (base: Omit<BatchStreamOptions, 'crop' | 'batchSize' | 'meanImage'>, root: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = makeTempDir();
  const root = join(dir, 'd');
  await writeFolderTree(root, { train: { a: 5, b: 5, c: 4 } });
  writeBytes(join(root, 'train', 'b', 'zero.jpg'), Buffer.alloc(0));
  writeBytes(join(root, 'train', 'b', 'text.JPEG'), 'not an image');
  writeBytes(join(root, 'train', 'b', 'cut.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16]));
  const db = openTempStore(dir);
  try {
    const { dataset } = openDataset(db, { root, splits: ['train'] });
    await run({ db, dataset, split: 'train', inputSizePx: 16, seed: 3, epoch: 0, decodeConcurrency: 2 }, root);
  } finally { db.close(); cleanup(); }
}

test('a pass delivers every good image once, records each bad one, makes no tensors, and is the same for the same seed', async () => {
  await withDataset(async (base, root) => {
    const tensorsBefore = tf.memory().numTensors;
    const skipped: SkippedItem[] = [];
    const stream = createBatchStream({ ...base, crop: 'paper', batchSize: 4, meanImage: createFallbackMean(18), onSkip: (s) => skipped.push(s) });
    assert.equal(stream.total, 17);
    assert.equal(stream.squarePx, 18);
    const batches = await collect(stream);
    assert.deepEqual(batches.map((b) => b.shape), [[4, 16, 16, 3], [4, 16, 16, 3], [4, 16, 16, 3], [2, 16, 16, 3]]);
    const ids = batches.flatMap((b) => b.imageIds);
    assert.equal(new Set(ids).size, 14);
    // libvips appends a second line ('JPEG datastream contains no image') to the truncated
    // file's reason on some runs and not on others (its per-thread error buffer), so that
    // reason is matched by its stable first part.
    const rows = skipped.map((s) => [s.path, s.stage, s.reason]).sort();
    assert.match(rows[0]![2]!, /^Input buffer has corrupt header: VipsJpeg: premature end of JPEG image(; |$)/);
    assert.deepEqual(rows.map((r, i) => (i === 0 ? [r[0], r[1]] : r)), [
      [join(root, 'train/b/cut.jpg'), 'decode'],
      [join(root, 'train/b/text.JPEG'), 'decode', 'Input buffer contains unsupported image format'],
      [join(root, 'train/b/zero.jpg'), 'decode', 'empty file (0 bytes)'],
    ]);
    const again = await collect(createBatchStream({ ...base, crop: 'paper', batchSize: 4, meanImage: createFallbackMean(18) }));
    assert.deepEqual(again.map((b) => b.imageIds), batches.map((b) => b.imageIds));
    again.forEach((b, i) => assert.deepEqual(b.pixels, batches[i]!.pixels));
    const nextEpoch = await collect(createBatchStream({ ...base, epoch: 1, crop: 'paper', batchSize: 4, meanImage: createFallbackMean(18) }));
    assert.notDeepEqual(nextEpoch.flatMap((b) => b.imageIds), ids);
    assert.equal(tf.memory().numTensors, tensorsBefore);
  });
});

test('evaluation goes in id order; shards split the pass; labels follow the class folders', async () => {
  await withDataset(async (base) => {
    const all = (await collect(createBatchStream({ ...base, crop: 'centre', batchSize: 5, meanImage: null }))).flatMap((b) => b.imageIds);
    assert.deepEqual(all, [...all].sort((x, y) => x - y));
    const shards = await Promise.all([0, 1].map(async (index) => (await collect(createBatchStream({ ...base, crop: 'centre', batchSize: 5, meanImage: null, shard: { index, count: 2 } }))).flatMap((b) => b.imageIds)));
    assert.deepEqual([...shards[0]!, ...shards[1]!].sort((x, y) => x - y), all);
    const first = (await collect(createBatchStream({ ...base, crop: 'centre', batchSize: 20, meanImage: null })))[0]!;
    assert.deepEqual(first.labels, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2]);
  });
});

test('ten-crop rows: 10 per image, ids repeated, crops 5-9 mirror crops 0-4; the mean is subtracted', async () => {
  await withDataset(async (base) => {
    const mean = createFallbackMean(18);
    const [batch] = await collect(createBatchStream({ ...base, crop: 'ten', batchSize: 2, meanImage: mean, limit: 2 }));
    assert.equal(batch!.cropsPerImage, 10);
    assert.deepEqual(batch!.shape, [20, 16, 16, 3]);
    assert.deepEqual(batch!.imageIds, [...new Array(10).fill(batch!.imageIds[0]), ...new Array(10).fill(batch!.imageIds[10])]);
    const row = (r: number, y: number, x: number): number[] => [...batch!.pixels.subarray(((r * 16 + y) * 16 + x) * 3, ((r * 16 + y) * 16 + x) * 3 + 3)];
    for (let k = 0; k < 5; k++) assert.deepEqual(row(5 + k, 3, 0), row(k, 3, 15));
    // solid-colour image a/img_0 is (0, 100, 200) in JPEG; minus the fallback mean
    assert.ok(Math.abs(row(0, 8, 8)[1]! - (100 - 116.78)) < 4, `green ${row(0, 8, 8)[1]}`);
  });
});

test('--strict makes the first bad file fatal with its path and reason', async () => {
  await withDataset(async (base, root) => {
    await assert.rejects(collect(createBatchStream({ ...base, crop: 'centre', batchSize: 4, meanImage: null, strict: true })), {
      name: 'DataError', message: new RegExp(`^decode: ${escapeRegExp(join(root, 'train/b/cut.jpg'))}: Input buffer has corrupt header: VipsJpeg: premature end of JPEG image(; |$)`),
    });
  });
});

test('a mean image of the wrong size is refused', async () => {
  await withDataset(async (base) => {
    assert.throws(() => createBatchStream({ ...base, crop: 'centre', batchSize: 4, meanImage: createFallbackMean(20) }), {
      name: 'UsageError', message: 'Mean image is 20 px but input size 16 px needs 18 px',
    });
  });
});

test('a pass resumed at `start` delivers exactly the rest of the uninterrupted pass, pixels included', async () => {
  await withDataset(async (base) => {
    const options = { ...base, crop: 'random' as const, batchSize: 3, meanImage: null, epoch: 4 };
    const rows = (batches: ImageBatch[]): Array<[number, number[]]> => batches.flatMap((b) => b.imageIds.map((id, r): [number, number[]] => [id, [...b.pixels.subarray(r * 768, r * 768 + 24)]]));
    const full = rows(await collect(createBatchStream(options)));
    const head = rows(await collect(createBatchStream({ ...options, limit: 7 })));
    const tail = rows(await collect(createBatchStream({ ...options, start: 7 })));
    assert.deepEqual([...head, ...tail], full);
  });
});
