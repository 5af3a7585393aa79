import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeSquare } from '../../src/data/decode-image.js';
import { openDataset } from '../../src/store/open-dataset.js';
import { ensureSampleData, writeSampleData } from '../../src/data/sample-data.js';
import { SAMPLE_PATTERNS } from '../../src/data/sample-patterns.js';
import { makeTempDir, openTempStore } from './fixtures.js';

test('sample data: ILSVRC2012 layout, 12 labelled classes, indexable, reproducible, reused', async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const first = await writeSampleData(join(dir, 's1'), { trainPerClass: 2, valPerClass: 1 });
    assert.deepEqual([first.classes, first.trainImages, first.valImages], [12, 24, 12]);
    const db = openTempStore(dir);
    const { dataset, splits } = openDataset(db, { root: first.dir, splits: ['train', 'val'] });
    assert.deepEqual(dataset.classes.map((c) => c.name), SAMPLE_PATTERNS.map((p) => p.name));
    assert.equal(splits['val']!.labelSource, 'LOC_val_solution.csv');
    const valLabels = db.prepare("SELECT label FROM images WHERE split = 'val' ORDER BY id").pluck().all() as number[];
    assert.deepEqual([...valLabels].sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i));
    assert.notDeepEqual(valLabels, Array.from({ length: 12 }, (_, i) => i), 'val is not sorted by class');
    const second = await writeSampleData(join(dir, 's2'), { trainPerClass: 2, valPerClass: 1 });
    for (const rel of ['train/n90000004/n90000004_2.JPEG', 'val/ILSVRC2012_val_00000007.JPEG']) {
      const [a, b] = await Promise.all([first.dir, second.dir].map(async (d) => (await decodeSquare(readFileSync(join(d, rel)), { squarePx: 32 })).pixels));
      const maxDiff = a!.reduce((m, v, i) => Math.max(m, Math.abs(v - b![i]!)), 0);
      assert.ok(maxDiff <= 2, `${rel} differs by ${maxDiff}`);
    }
    const reused = await ensureSampleData(first.dir);
    assert.deepEqual([reused.created, reused.trainImages], [false, 24]);
    mkdirSync(join(dir, 'photos'));
    writeFileSync(join(dir, 'photos', 'keep.jpg'), 'precious');
    await assert.rejects(writeSampleData(join(dir, 'photos')), { name: 'UsageError', message: `${join(dir, 'photos')} exists and is not a sample dataset; choose another --out (it is never overwritten)` });
    assert.equal(readFileSync(join(dir, 'photos', 'keep.jpg'), 'utf8'), 'precious');
    await assert.rejects(writeSampleData(join(dir, 's3'), { trainPerClass: 0 }), { message: 'Expected integer between 1 and 10000 for trainPerClass but received 0' });
    db.close();
  } finally { cleanup(); }
});
