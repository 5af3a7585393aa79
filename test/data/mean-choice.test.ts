import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { computeSquareSizePx } from '../../src/data/crop-geometry.js';
import { createFallbackMean, describeMean } from '../../src/data/mean-image.js';
import { copyMeanImages, formatMeanHint, loadMeanImage, resolveMeanImage, saveMeanImage } from '../../src/store/mean-store.js';
import { chooseRunMean } from '../../src/data/run-mean.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { openStore } from '../../src/store/open-store.js';
import { makeTestMean } from '../checkpoint/mean-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'mean-choice-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const tiny = buildModelConfig('zfnet-tiny');
const sizePx = computeSquareSizePx(tiny.inputSizePx);

function storeWithDataset(name: string, root: string): ReturnType<typeof openStore> {
  const db = openStore(join(dir, name));
  db.prepare("INSERT INTO datasets (root, image_root, class_source, created_at) VALUES (?, ?, 'folders', 'now')").run(root, root);
  return db;
}

test('the hint to compute a mean names the model\'s own input size, not zfnet-small\'s', () => {
  assert.equal(formatMeanHint(buildModelConfig('zfnet')), 'run-pipeline mean --split train --model zfnet');
  assert.equal(formatMeanHint(buildModelConfig('zfnet-tiny')), 'run-pipeline mean --split train --model zfnet-tiny');
  assert.equal(formatMeanHint(buildModelConfig('zfnet', { inputSizePx: 160 })), 'run-pipeline mean --split train --size-px 160');
});

test('the checkpoint\'s mean comes first; an old checkpoint or fresh weights fall back to the store, then the constant, and say so', () => {
  const db = storeWithDataset('resolve.db', '/d');
  const own = { ...makeTestMean(sizePx, 5), origin: 'checkpoint' as const };
  assert.deepEqual(resolveMeanImage(db, 1, tiny, { mean: own }), { mean: own, line: describeMean(own) });
  const fallback = resolveMeanImage(db, 1, tiny, { mean: null });
  assert.equal(fallback.mean.sha256, createFallbackMean(sizePx).sha256);
  assert.equal(fallback.line, `${describeMean(fallback.mean)} (the checkpoint carries none: written before checkpoints held their mean image); \`run-pipeline mean --split train --model zfnet-tiny\` computes the dataset's`);
  const stored = makeTestMean();
  saveMeanImage(db, 1, 'train', sizePx, 303, 300, stored.pixels);
  const fresh = resolveMeanImage(db, 1, tiny, null);
  assert.equal(fresh.mean.sha256, stored.sha256);
  assert.deepEqual([fresh.mean.origin, fresh.mean.skipped, fresh.mean.dataset], ['store', 3, '/d']);
  assert.equal(fresh.line, describeMean(fresh.mean));
  assert.match(fresh.line, /^mean image: the store's \(\d+ px, train of \/d, 300 images, 3 skipped; sha256 [0-9a-f]{12}\)$/);
  db.close();
});

test('a run is given the mean whose hash it recorded, or a precise error naming both hashes', () => {
  const store = makeTestMean();
  const own = { ...makeTestMean(sizePx, 9), origin: 'checkpoint' as const };
  const fallback = createFallbackMean(sizePx);
  assert.equal(chooseRunMean('r1', store.sha256.slice(0, 16), [own, store, fallback], 'hint').mean, store);
  assert.equal(chooseRunMean('r1', own.sha256, [own, store, fallback], 'hint').mean, own);
  assert.equal(chooseRunMean('r1', null, [own, fallback], 'hint').mean, own);
  const recorded = 'f'.repeat(16);
  assert.throws(() => chooseRunMean('r1', recorded, [store, fallback], 'run-pipeline mean --split train --model zfnet-tiny'), {
    message: `Run r1 subtracted a mean image with sha256 ffffffffffff, which neither its checkpoint nor this store holds; its stored activations cannot be reproduced with another mean. Available here:\n`
      + `  ${describeMean(store).slice('mean image: '.length)}\n  ${describeMean(fallback).slice('mean image: '.length)}\n`
      + 'Run the command in the store the run was made in, or compute that mean here (run-pipeline mean --split train --model zfnet-tiny).',
  });
});

test('merge copies the mean images of the dataset into the target store', () => {
  const source = storeWithDataset('source.db', '/shared/data');
  const mean = makeTestMean();
  saveMeanImage(source, 1, 'train', sizePx, 303, 300, mean.pixels);
  source.close();
  const target = openStore(join(dir, 'target.db'));
  target.prepare("INSERT INTO datasets (root, image_root, class_source, created_at) VALUES ('/other', '/other', 'folders', 'now')").run();
  target.prepare("INSERT INTO datasets (root, image_root, class_source, created_at) VALUES ('/shared/data', '/shared/data', 'folders', 'now')").run();
  assert.equal(loadMeanImage(target, 2, sizePx).source, 'fallback');
  assert.equal(copyMeanImages(target, join(dir, 'source.db'), '/shared/data'), 1);
  const copied = loadMeanImage(target, 2, sizePx);
  assert.deepEqual([copied.sha256, copied.imageCount, copied.skipped, copied.split], [mean.sha256, 300, 3, 'train']);
  assert.equal(copyMeanImages(target, join(dir, 'source.db'), '/shared/data'), 0, 'a mean the target has is kept');
  target.close();
});
