import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { getSplit } from '../../src/store/image-index.js';
import { openDataset } from '../../src/store/open-dataset.js';
import { copySplitIndex } from '../../src/store/dataset-index-copy.js';
import { escapeRegExp, makeTempDir, openTempStore, writeFolderTree, writeSolidImage } from '../data/fixtures.js';

test('merge copies a split index with its tree fingerprint, and refuses a shard store indexed from another tree', async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const root = join(dir, 'data');
    await writeFolderTree(root, { val: { cat: 2, dog: 2 } });
    const shardA = openTempStore(dir, 'a.db');
    const { dataset } = openDataset(shardA, { root, splits: ['val'] });
    shardA.close();
    await writeSolidImage(join(root, 'val', 'dog', 'img_0.jpg'), [1, 2, 3], 60, 50); // same names, another size
    const shardB = openTempStore(dir, 'b.db');
    openDataset(shardB, { root, splits: ['val'] });
    shardB.close();
    const target = openTempStore(dir, 'merged.db');
    copySplitIndex(target, join(dir, 'a.db'), dataset.root, 'val');
    const copied = getSplit(target, 1, 'val')!;
    assert.equal(copied.imageCount, 4);
    const a = openTempStore(dir, 'a.db');
    assert.equal(copied.treeFingerprint, getSplit(a, dataset.id, 'val')!.treeFingerprint);
    a.close();
    assert.throws(() => copySplitIndex(target, join(dir, 'b.db'), dataset.root, 'val'), {
      name: 'UsageError', message: new RegExp(`^${escapeRegExp(join(dir, 'b.db'))} indexed the val split of .* from another tree \\(fingerprint [0-9a-f]{16}, the target's [0-9a-f]{16}\\): its image ids name other files; index the same tree on every machine$`),
    });
    copySplitIndex(target, join(dir, 'a.db'), dataset.root, 'val'); // the same tree again: nothing to do
    target.close();
  } finally { cleanup(); }
});
