import assert from 'node:assert/strict';
import { cpSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { getSplit } from '../../src/store/image-index.js';
import { loadMeanImage } from '../../src/store/mean-store.js';
import { openDataset } from '../../src/store/open-dataset.js';
import { writeSampleData } from '../../src/data/sample-data.js';
import { computeSplitFingerprint } from '../../src/data/tree-fingerprint.js';
import { createRun } from '../../src/store/runs.js';
import { runMeanPipeline } from '../../pipelines/shared/mean.js';
import { runCli } from '../cli/run-cli.js';
import { makeTempDir, openTempStore, writeBytes, writeFolderTree, writeSolidImage } from './fixtures.js';

const quiet = (): void => {};

test('the fingerprint depends on names and sizes only: same in a copy of the tree, same after a touch, new after a rename or a resize', async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const root = join(dir, 'a');
    await writeFolderTree(root, { train: { cat: 2, dog: 1 } });
    const first = computeSplitFingerprint(root, 'train');
    assert.equal(first.fileCount, 3);
    cpSync(root, join(dir, 'b'), { recursive: true });
    assert.deepEqual(computeSplitFingerprint(join(dir, 'b'), 'train'), first);
    utimesSync(join(root, 'train', 'cat', 'img_0.jpg'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    writeBytes(join(root, 'train', 'cat', 'notes.txt'), 'not an image: not indexed');
    assert.deepEqual(computeSplitFingerprint(root, 'train'), first);
    cpSync(join(root, 'train', 'dog', 'img_0.jpg'), join(root, 'train', 'dog', 'img_1.jpg'));
    rmSync(join(root, 'train', 'dog', 'img_0.jpg'));
    assert.notEqual(computeSplitFingerprint(root, 'train').fingerprint, first.fingerprint);
    cpSync(join(root, 'train', 'dog', 'img_1.jpg'), join(root, 'train', 'dog', 'img_0.jpg'));
    rmSync(join(root, 'train', 'dog', 'img_1.jpg'));
    assert.deepEqual(computeSplitFingerprint(root, 'train'), first);
    await writeSolidImage(join(root, 'train', 'dog', 'img_0.jpg'), [1, 2, 3], 50, 40);
    assert.notEqual(computeSplitFingerprint(root, 'train').fingerprint, first.fingerprint);
  } finally { cleanup(); }
});

test('a changed tree that no run uses is indexed again, with a message naming the change', async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const root = join(dir, 'data');
    await writeFolderTree(root, { train: { cat: 2, dog: 2 } });
    const db = openTempStore(dir);
    const { dataset } = openDataset(db, { root, splits: ['train'] });
    assert.equal(getSplit(db, dataset.id, 'train')!.treeFingerprint, computeSplitFingerprint(root, 'train').fingerprint);
    const lines: string[] = [];
    assert.equal(openDataset(db, { root, splits: ['train'], onReindex: (l) => lines.push(l) }).splits['train']!.imageCount, 4);
    assert.equal(lines.length, 0, 'an unchanged tree is not indexed again');
    rmSync(join(root, 'train', 'cat', 'img_1.jpg'));
    const reopened = openDataset(db, { root, splits: ['train'], onReindex: (l) => lines.push(l) });
    assert.equal(reopened.splits['train']!.imageCount, 3);
    assert.deepEqual(lines, [`The train split of ${root} changed since it was indexed (4 images indexed, 3 files now; at position 1 the index has train/cat/img_1.jpg, the tree train/dog/img_0.jpg): indexing it again (no run in this store uses its image ids)`]);
    db.close();
  } finally { cleanup(); }
});

test('sample-data --force with other counts under a store that used the split: refused, naming the change and the work; --reindex rebuilds it and drops the stale mean', async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const root = (await writeSampleData(join(dir, 'sample'), { trainPerClass: 1, valPerClass: 1 })).dir;
    const db = openTempStore(dir);
    const mean = await runMeanPipeline({ db, data: root, split: 'train', inputSizePx: 16, outDir: join(dir, 'out'), log: quiet });
    createRun(db, { id: 'evolution-x', kind: 'evolution', options: { data: root, split: 'train' } });
    await writeSampleData(join(dir, 'sample'), { trainPerClass: 2, valPerClass: 1 });
    assert.throws(() => openDataset(db, { root, splits: ['train'] }), {
      name: 'UsageError',
      message: `The train split of ${root} changed since it was indexed (12 images indexed, 24 files now; at position 1 the index has train/n90000002/n90000002_1.JPEG, the tree train/n90000001/n90000001_2.JPEG), `
        + `and this store has work on its image ids (evolution-x, ${mean.runId}, mean image): resuming or merging it would mix the two trees. Restore the tree, use another --db, `
        + `or re-index with \`run-pipeline index --data ${root} --split train --reindex\` (that work then names images of the old tree).`,
    });
    assert.equal(openDataset(db, { root, splits: ['val'] }).splits['val']!.imageCount, 12, 'the unchanged split stays usable');
    const lines: string[] = [];
    const rebuilt = openDataset(db, { root, splits: ['train'], reindex: true, onReindex: (l) => lines.push(l) });
    assert.equal(rebuilt.splits['train']!.imageCount, 24);
    assert.match(lines[0]!, /: indexing it again \(--reindex\); deleted its 1 stored mean images$/);
    assert.equal(loadMeanImage(db, mean.datasetId, mean.sizePx).source, 'fallback');
    db.close();
  } finally { cleanup(); }
});

test('a split indexed before fingerprints were kept adopts one when its file count still matches, and is re-checked from then on', async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const root = join(dir, 'data');
    await writeFolderTree(root, { train: { cat: 2 } });
    const db = openTempStore(dir);
    const { dataset } = openDataset(db, { root, splits: ['train'] });
    db.prepare('UPDATE dataset_splits SET tree_fingerprint = NULL').run();
    openDataset(db, { root, splits: ['train'] });
    assert.equal(getSplit(db, dataset.id, 'train')!.treeFingerprint, computeSplitFingerprint(root, 'train').fingerprint);
    db.prepare('UPDATE dataset_splits SET tree_fingerprint = NULL').run();
    await writeSolidImage(join(root, 'train', 'cat', 'img_2.jpg'), [9, 9, 9]);
    const lines: string[] = [];
    assert.equal(openDataset(db, { root, splits: ['train'], onReindex: (l) => lines.push(l) }).splits['train']!.imageCount, 3);
    assert.equal(lines.length, 1);
    db.close();
  } finally { cleanup(); }
});

test('run-pipeline index: a changed split that runs use exits 2 with the message; --reindex rebuilds it', async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const root = join(dir, 'data');
    await writeFolderTree(root, { train: { cat: 2 } });
    const dbPath = join(dir, 'cli.db');
    const first = runCli(['index', '--data', root, '--db', dbPath, '--split', 'train']);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout, `${root} train: 2 images, tree ${computeSplitFingerprint(root, 'train').fingerprint.slice(0, 16)}\n`);
    const db = openTempStore(dir, 'cli.db');
    createRun(db, { id: 'top-activations-x', kind: 'top-activations', options: { data: root } });
    db.close();
    await writeSolidImage(join(root, 'train', 'cat', 'img_2.jpg'), [9, 9, 9]);
    const refused = runCli(['index', '--data', root, '--db', dbPath, '--split', 'train']);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /^.*The train split of .* changed since it was indexed \(2 images indexed, 3 files now; new file train\/cat\/img_2\.jpg\), and this store has work on its image ids \(top-activations-x\)/);
    const rebuilt = runCli(['index', '--data', root, '--db', dbPath, '--split', 'train', '--reindex']);
    assert.equal(rebuilt.status, 0, rebuilt.stderr);
    assert.match(rebuilt.stdout, /train: 3 images, tree [0-9a-f]{16}\n$/);
  } finally { cleanup(); }
});
