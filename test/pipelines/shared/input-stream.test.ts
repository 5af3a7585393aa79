import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { prepareDataset } from '../../../pipelines/shared/input-stream.js';
import { DEFAULT_SAMPLE_DIR, writeSampleData } from '../../../src/data/sample-data.js';
import { openStore } from '../../../src/store/open-store.js';

test('a process that reads the sample dataset twice (train: its mean, then its passes) says once that no --data was given', async () => {
  const work = mkdtempSync(join(tmpdir(), 'input-stream-'));
  const cwd = process.cwd();
  process.chdir(work);
  const db = openStore(join(work, 'store.db'));
  try {
    await writeSampleData(DEFAULT_SAMPLE_DIR, { trainPerClass: 1, valPerClass: 1 });
    const lines: string[] = [];
    await prepareDataset({ db, splits: ['train'], log: (line) => lines.push(line) });
    await prepareDataset({ db, splits: ['val'], log: (line) => lines.push(line) });
    assert.deepEqual(lines.filter((l) => l.startsWith('no --data given')), [`no --data given: using the built-in sample dataset ${join(work, DEFAULT_SAMPLE_DIR)}`]);
  } finally {
    db.close();
    process.chdir(cwd);
    rmSync(work, { recursive: true, force: true });
  }
});
