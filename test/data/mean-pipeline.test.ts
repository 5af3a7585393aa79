import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { IMAGENET_MEAN_RGB } from '../../src/data/mean-image.js';
import { loadMeanImage, readMeanProgress } from '../../src/store/mean-store.js';
import { openDataset } from '../../src/store/open-dataset.js';
import type { SkippedItem } from '../../src/stages/stage-items.js';
import { runMeanPipeline } from '../../pipelines/shared/mean.js';
import { createSquareStream } from '../../pipelines/shared/input-stream.js';
import { makeTempDir, openTempStore, writeBytes, writeSolidImage } from './fixtures.js';

const quiet = (): void => {};

/** Train split: a/ 3 images, b/ a bad file then 2 images; colours chosen so the mean is known. */
async function writeMeanTree(root: string): Promise<void> {
  for (const [i, v] of [10, 20, 30].entries()) await writeSolidImage(join(root, 'train', 'a', `${i}.png`), [v, 100, 200]);
  writeBytes(join(root, 'train', 'b', '0-bad.jpg'), 'not an image');
  for (const [i, v] of [40, 50].entries()) await writeSolidImage(join(root, 'train', 'b', `${i + 1}.png`), [v, 100, 200]);
}

test('the mean pass averages the squares, records skips, stores the mean and writes a PNG; fallback before', async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const root = join(dir, 'd');
    await writeMeanTree(root);
    const db = openTempStore(dir);
    const fallback = loadMeanImage(db, 1, 18);
    assert.equal(fallback.source, 'fallback');
    assert.deepEqual([...fallback.pixels.subarray(0, 3)].map((v) => Math.round(v * 100) / 100), [...IMAGENET_MEAN_RGB]);
    const result = await runMeanPipeline({ db, data: root, split: 'train', inputSizePx: 16, outDir: join(dir, 'out'), log: quiet });
    assert.equal(result.imageCount, 5);
    assert.equal(result.skipped, 1);
    assert.ok(existsSync(result.pngPath));
    const mean = loadMeanImage(db, result.datasetId, 18);
    assert.equal(mean.source, 'computed');
    assert.equal(mean.split, 'train');
    assert.deepEqual([...mean.pixels.subarray(0, 3)], [30, 100, 200]);
    const skips = db.prepare('SELECT path, stage, reason, run_id FROM skipped_items').all() as Array<{ path: string; stage: string; reason: string; run_id: string }>;
    assert.deepEqual(skips.map((s) => [s.path, s.stage, s.reason, s.run_id]), [[join(root, 'train/b/0-bad.jpg'), 'decode', 'Input buffer contains unsupported image format', result.runId]]);
    const again = await runMeanPipeline({ db, data: root, split: 'train', inputSizePx: 16, outDir: join(dir, 'out'), log: quiet });
    assert.equal(again.reused, true);
    db.close();
  } finally { cleanup(); }
});

test('an interrupted mean pass resumes from its saved sum and equals an uninterrupted one', async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const root = join(dir, 'd');
    await writeMeanTree(root);
    const db = openTempStore(dir, 'a.db');
    // strict stops the pass at the bad file (position 3), after a save at 2 images
    await assert.rejects(runMeanPipeline({ db, data: root, split: 'train', inputSizePx: 16, strict: true, saveEveryImages: 2, log: quiet, outDir: join(dir, 'out') }), { name: 'DataError' });
    const saved = readMeanProgress(db, 1, 'train', 18);
    assert.deepEqual([saved?.position, saved?.imageCount], [2, 2]);
    const resumed = await runMeanPipeline({ db, data: root, split: 'train', inputSizePx: 16, saveEveryImages: 2, log: quiet, outDir: join(dir, 'out') });
    assert.equal(resumed.imageCount, 5);
    const other = openTempStore(dir, 'b.db');
    await runMeanPipeline({ db: other, data: root, split: 'train', inputSizePx: 16, log: quiet, outDir: join(dir, 'out') });
    assert.deepEqual(loadMeanImage(db, 1, 18).pixels, loadMeanImage(other, 1, 18).pixels);
    db.close(); other.close();
  } finally { cleanup(); }
});

test('a file deleted after indexing is skipped at the read stage; the next open of the split sees the change and re-indexes it', async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const root = join(dir, 'd');
    await writeMeanTree(root);
    rmSync(join(root, 'train', 'b', '0-bad.jpg'));
    const db = openTempStore(dir);
    const { dataset } = openDataset(db, { root, splits: ['train'] });
    rmSync(join(root, 'train', 'a', '1.png'));
    const skips: SkippedItem[] = [];
    let decoded = 0;
    for await (const _item of createSquareStream({ db, dataset, split: 'train', inputSizePx: 16, order: 'sorted', onSkip: (item) => skips.push(item) })) decoded++;
    assert.equal(decoded, 4);
    assert.deepEqual(skips.map((s) => [s.path, s.stage, s.reason]), [[join(root, 'train/a/1.png'), 'read', `ENOENT: no such file or directory, open '${join(root, 'train/a/1.png')}'`]]);
    const result = await runMeanPipeline({ db, data: root, split: 'train', inputSizePx: 16, log: quiet, outDir: join(dir, 'out') });
    assert.deepEqual([result.imageCount, result.skipped], [4, 0]);
    db.close();
  } finally { cleanup(); }
});

test('a stored mean that skipped files reports its count; --strict re-checks it instead of reusing it', async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const root = join(dir, 'd');
    await writeMeanTree(root);
    const db = openTempStore(dir);
    const first = await runMeanPipeline({ db, data: root, split: 'train', inputSizePx: 16, log: quiet, outDir: join(dir, 'out') });
    assert.deepEqual([first.imageCount, first.skipped], [5, 1]);
    const lines: string[] = [];
    const reused = await runMeanPipeline({ db, data: root, split: 'train', inputSizePx: 16, log: (l) => lines.push(l), outDir: join(dir, 'out') });
    assert.deepEqual([reused.reused, reused.imageCount, reused.skipped], [true, 5, 1]);
    assert.ok(lines.includes('mean: reusing the stored 18 px mean of train (5 images, 1 skipped); --force recomputes'), lines.join('\n'));
    lines.length = 0;
    await assert.rejects(runMeanPipeline({ db, data: root, split: 'train', inputSizePx: 16, strict: true, log: (l) => lines.push(l), outDir: join(dir, 'out') }), { name: 'DataError' });
    assert.equal(lines[0], 'mean: the stored 18 px mean of train skipped 1 bad files; --strict re-checks them: recomputing');
    await writeSolidImage(join(root, 'train', 'b', '0-bad.jpg'), [60, 100, 200], 24, 16, 'jpeg');
    // The repaired file changed the tree under a stored mean: re-index on purpose (which drops that mean).
    openDataset(db, { root, splits: ['train'], reindex: true });
    const strict = await runMeanPipeline({ db, data: root, split: 'train', inputSizePx: 16, strict: true, log: quiet, outDir: join(dir, 'out') });
    assert.deepEqual([strict.reused, strict.imageCount, strict.skipped], [false, 6, 0]);
    const strictAgain = await runMeanPipeline({ db, data: root, split: 'train', inputSizePx: 16, strict: true, log: quiet, outDir: join(dir, 'out') });
    assert.deepEqual([strictAgain.reused, strictAgain.skipped], [true, 0]);
    db.close();
  } finally { cleanup(); }
});

test('bad files at the end of the split count as skipped in the stored mean', async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const root = join(dir, 'd');
    await writeMeanTree(root);
    writeBytes(join(root, 'train', 'b', '9-bad.jpg'), 'not an image either');
    const db = openTempStore(dir);
    const result = await runMeanPipeline({ db, data: root, split: 'train', inputSizePx: 16, log: quiet, outDir: join(dir, 'out') });
    assert.deepEqual([result.imageCount, result.skipped], [5, 2]);
    const reused = await runMeanPipeline({ db, data: root, split: 'train', inputSizePx: 16, log: quiet, outDir: join(dir, 'out') });
    assert.deepEqual([reused.reused, reused.skipped], [true, 2]);
    db.close();
  } finally { cleanup(); }
});
