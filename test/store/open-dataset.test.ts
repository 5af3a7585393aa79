import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createImageReader } from '../../src/store/image-index.js';
import { openDataset } from '../../src/store/open-dataset.js';
import type { Store } from '../../src/store/open-store.js';
import { makeTempDir, openTempStore, writeBytes, writeFolderTree, writeSolidImage } from '../data/fixtures.js';

/** All indexed images of a split as [id, relPath, label]. */
function listIndexed(db: Store, datasetId: number, split: string): Array<[number, string, number | null]> {
  return (db.prepare('SELECT id, rel_path, label FROM images WHERE dataset_id = ? AND split = ? ORDER BY id').all(datasetId, split) as Array<{ id: number; rel_path: string; label: number | null }>)
    .map((r) => [r.id, r.rel_path, r.label]);
}

test('class-per-folder tree: any case of jpg/jpeg/png/webp, sorted ids, labels by sorted class name', async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const root = join(dir, 'data');
    await writeSolidImage(join(root, 'train', 'zebra', 'b.PNG'), [1, 2, 3]);
    await writeSolidImage(join(root, 'train', 'zebra', 'a.JpEg'), [1, 2, 3]);
    await writeSolidImage(join(root, 'train', 'apple', 'x.webp'), [1, 2, 3]);
    await writeSolidImage(join(root, 'train', 'apple', 'y.jpg'), [1, 2, 3]);
    writeBytes(join(root, 'train', 'apple', 'notes.txt'), 'ignored');
    const db = openTempStore(dir);
    const { dataset, splits } = openDataset(db, { root, splits: ['train'] });
    assert.deepEqual(dataset.classes.map((c) => [c.label, c.key]), [[0, 'apple'], [1, 'zebra']]);
    assert.equal(splits['train']!.imageCount, 4);
    assert.deepEqual(listIndexed(db, dataset.id, 'train'), [
      [100_000_000, 'train/apple/x.webp', 0], [100_000_001, 'train/apple/y.jpg', 0],
      [100_000_002, 'train/zebra/a.JpEg', 1], [100_000_003, 'train/zebra/b.PNG', 1],
    ]);
    const [first] = createImageReader(db, dataset)([100_000_002]);
    assert.equal(first!.path, join(dataset.imageRoot, 'train/zebra/a.JpEg'));
    db.close();
  } finally { cleanup(); }
});

test('ILSVRC2012 layout: train by wnid, flat val labelled by LOC_val_solution.csv, names from LOC_synset_mapping.txt', async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const root = join(dir, 'imagenet');
    await writeFolderTree(root, { train: { n02000002: 2, n01000001: 1 } }, 'JPEG');
    for (const n of [2, 1, 3]) await writeSolidImage(join(root, 'val', `ILSVRC2012_val_0000000${n}.JPEG`), [9, 9, 9]);
    writeBytes(join(root, 'LOC_synset_mapping.txt'), 'n01000001 first thing\nn02000002 second thing\n');
    writeBytes(join(root, 'LOC_val_solution.csv'), 'ImageId,PredictionString\nILSVRC2012_val_00000001,n02000002 1 1 5 5\nILSVRC2012_val_00000002,n01000001 1 1 5 5\nILSVRC2012_val_00000003,n02000002 1 1 5 5\n');
    const db = openTempStore(dir);
    const { dataset } = openDataset(db, { root, splits: ['train', 'val'] });
    assert.deepEqual(dataset.classes, [{ label: 0, key: 'n01000001', name: 'first thing' }, { label: 1, key: 'n02000002', name: 'second thing' }]);
    assert.deepEqual(listIndexed(db, dataset.id, 'val'), [
      [200_000_000, 'val/ILSVRC2012_val_00000001.JPEG', 1], [200_000_001, 'val/ILSVRC2012_val_00000002.JPEG', 0], [200_000_002, 'val/ILSVRC2012_val_00000003.JPEG', 1],
    ]);
    assert.deepEqual(listIndexed(db, dataset.id, 'train').map((r) => r[2]), [0, 1, 1]);
    db.close();
  } finally { cleanup(); }
});

test('devkit labels (ground truth + meta.txt export), words.txt names, Kaggle ILSVRC/Data/CLS-LOC folders', async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const root = join(dir, 'kaggle');
    const images = join(root, 'ILSVRC', 'Data', 'CLS-LOC');
    await writeFolderTree(images, { train: { n01000001: 1, n02000002: 1 } });
    for (const n of [1, 2]) await writeSolidImage(join(images, 'val', `ILSVRC2012_val_0000000${n}.JPEG`), [9, 9, 9]);
    // ILSVRC2012_IDs are not in wnid order: id 1 is n02000002
    writeBytes(join(root, 'ILSVRC2012_devkit_t12', 'data', 'ILSVRC2012_validation_ground_truth.txt'), '2\n1\n');
    writeBytes(join(root, 'ILSVRC2012_devkit_t12', 'data', 'meta.txt'), '1 n02000002\n2 n01000001\n');
    writeBytes(join(root, 'words.txt'), 'n01000001\tfirst\nn02000002\tsecond\nn03000003\tunused\n');
    const db = openTempStore(dir);
    const { dataset, splits } = openDataset(db, { root, splits: ['val'] });
    assert.equal(dataset.imageRoot, images);
    assert.deepEqual(dataset.classes.map((c) => c.name), ['first', 'second']);
    assert.equal(splits['val']!.labelSource, 'ILSVRC2012_validation_ground_truth.txt');
    assert.deepEqual(listIndexed(db, dataset.id, 'val').map((r) => r[2]), [0, 1]);
    db.close();
  } finally { cleanup(); }
});

test('ids are the same in independent stores and do not depend on creation order; the index is reused until the tree changes', async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const a = join(dir, 'a'); const b = join(dir, 'b');
    await writeFolderTree(a, { train: { cat: 3, dog: 2 }, val: { cat: 1, dog: 1 } });
    await writeFolderTree(b, { val: { dog: 1, cat: 1 }, train: { dog: 2, cat: 3 } });
    const dbA = openTempStore(dir, 'a.db'); const dbB = openTempStore(dir, 'b.db');
    const ra = openDataset(dbA, { root: a, splits: ['val', 'train'] });
    const rb = openDataset(dbB, { root: b, splits: ['train', 'val'] });
    for (const split of ['train', 'val']) assert.deepEqual(listIndexed(dbA, ra.dataset.id, split), listIndexed(dbB, rb.dataset.id, split));
    assert.equal(openDataset(dbA, { root: a, splits: ['train'] }).splits['train']!.imageCount, 5);
    await writeSolidImage(join(a, 'train', 'cat', 'img_9.jpg'), [1, 1, 1]);
    assert.equal(openDataset(dbA, { root: a, splits: ['train'] }).splits['train']!.imageCount, 6, 'a changed tree no run uses is indexed again');
    dbA.close(); dbB.close();
  } finally { cleanup(); }
});

test('an interrupted index resumes after the last committed folder', async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const root = join(dir, 'd');
    await writeFolderTree(root, { train: { a: 2, b: 2, c: 1 } });
    const db = openTempStore(dir);
    assert.throws(() => openDataset(db, { root, splits: ['train'], onIndexProgress: (_s, n) => { if (n === 4) throw new Error('killed'); } }), { message: 'killed' });
    const partial = listIndexed(db, 1, 'train');
    assert.equal(partial.length, 4);
    const { splits } = openDataset(db, { root, splits: ['train'] });
    assert.equal(splits['train']!.status, 'ready');
    assert.deepEqual(listIndexed(db, 1, 'train').slice(0, 4), partial);
    assert.deepEqual(listIndexed(db, 1, 'train').map((r) => r[0] - 100_000_000), [0, 1, 2, 3, 4]);
    db.close();
  } finally { cleanup(); }
});

test('missing split, empty folders, unlabelled flat split and unknown classes are errors naming the path', async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const root = join(dir, 'bad');
    await writeFolderTree(root, { train: { n01000001: 1, n02000002: 1 } });
    const db = openTempStore(dir);
    assert.throws(() => openDataset(db, { root: join(dir, 'nowhere'), splits: ['train'] }), { name: 'UsageError', message: `Dataset folder ${join(dir, 'nowhere')} does not exist` });
    assert.throws(() => openDataset(db, { root, splits: ['val'] }), { message: `Split "val" not found: ${join(root, 'val')} does not exist (splits in ${root}: train)` });
    writeBytes(join(root, 'val', 'readme.txt'), 'no images here');
    assert.throws(() => openDataset(db, { root, splits: ['val'] }), { message: `No images in ${join(root, 'val')} (expected jpg, jpeg, png or webp files or class folders)` });
    rmSync(join(root, 'val', 'readme.txt'));
    await writeSolidImage(join(root, 'val', 'ILSVRC2012_val_00000001.JPEG'), [1, 1, 1]);
    assert.throws(() => openDataset(db, { root, splits: ['val'] }), {
      message: `${join(root, 'val')} is a flat folder of images but no labels were found in ${root}: add LOC_val_solution.csv, or ILSVRC2012_validation_ground_truth.txt with a meta.txt id-to-wnid list, or sort the images into <class>/ folders`,
    });
    writeFileSync(join(root, 'LOC_val_solution.csv'), 'ImageId,PredictionString\nILSVRC2012_val_00000001,n09999999 1 1 2 2\n');
    assert.throws(() => openDataset(db, { root, splits: ['val'] }), {
      message: `${join(root, 'val', 'ILSVRC2012_val_00000001.JPEG')}: class n09999999 (from ${join(root, 'LOC_val_solution.csv')}) is not one of the 2 classes from ${join(root, 'train')}`,
    });
    await writeSolidImage(join(root, 'test2', 'n07777777', 'x.jpg'), [1, 1, 1]);
    assert.throws(() => openDataset(db, { root, splits: ['test2'] }), {
      message: `${join(root, 'test2', 'n07777777')}: class n07777777 (from folder name) is not one of the 2 classes from ${join(root, 'train')}`,
    });
    await writeSolidImage(join(root, 'train2', 'n01000001', 'x.jpg'), [1, 1, 1]);
    writeBytes(join(root, 'train2', 'n02000002', 'empty.txt'), '');
    assert.throws(() => openDataset(db, { root, splits: ['train2'] }), { message: `No images in ${join(root, 'train2', 'n02000002')} (expected jpg, jpeg, png or webp files)` });
    db.close();
  } finally { cleanup(); }
});
