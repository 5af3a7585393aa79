import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select-backend.js';
import { runTopActivations, type TopActivationsOptions } from '../../pipelines/top-activations/top-activations.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import { queryTopRows, queryUnitRows } from '../../src/store/top-activations-store.js';
import { writeTinyDataset } from '../pipelines/top-activations-fixture.js';

const LAYERS = [1, 2, 3, 4, 5];

function passOptions(db: Store, data: string, workers: number, extra: Partial<TopActivationsOptions> = {}): TopActivationsOptions {
  return {
    db, data, split: 'val', model: 'zfnet-tiny', initSeed: 3, layers: LAYERS, topK: 4, batchSize: 5, commitEvery: 2,
    shard: { index: 0, count: 1 }, backend: 'wasm', force: false, decodeConcurrency: 2, strict: false, workers,
    resumeCommand: 'run-pipeline top-activations', log: () => undefined, ...extra,
  };
}

/** Everything the store holds about a run's result: top rows and unit statistics of every layer. */
function readResult(db: Store, runId: string): unknown {
  return LAYERS.map((layer) => ({
    top: queryTopRows(db, runId, layer, null).map(({ path, ...row }) => ({ ...row, path: path.split('/').slice(-2).join('/') })),
    units: queryUnitRows(db, runId, layer, { sort: 'unit', deadOnly: false, limit: null }),
  }));
}

describe('top-activations with worker threads', () => {
  let dir: string;
  let data: string;

  before(async () => {
    await initBackend('wasm', { log: () => undefined });
    dir = mkdtempSync(join(tmpdir(), 'zfnet-workers-'));
    data = join(dir, 'data');
    await writeTinyDataset(data, { classes: 3, perClass: 8, withBadFiles: true });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('stores exactly the 1-worker result with 2 workers (heaps, statistics, skips)', async () => {
    const results = [];
    for (const workers of [1, 2]) {
      const db = openStore(join(dir, `w${workers}.db`));
      try {
        const startTensors = tf.memory().numTensors;
        const summary = await runTopActivations(passOptions(db, data, workers));
        assert.equal(tf.memory().numTensors, startTensors);
        results.push({ summary: { ...summary, runId: undefined }, stored: readResult(db, summary.runId) });
      } finally {
        db.close();
      }
    }
    assert.equal((results[0]!.summary as { imagesProcessed: number }).imagesProcessed, 24);
    assert.equal((results[0]!.summary as { imagesSkipped: number }).imagesSkipped, 2);
    assert.deepStrictEqual(results[1], results[0]);
  });

  it('commits only merged batches when stopped, and the resumed 2-worker run ends with the uninterrupted result', async () => {
    const reference = openStore(join(dir, 'ref.db'));
    const resumed = openStore(join(dir, 'resumed.db'));
    try {
      const full = await runTopActivations(passOptions(reference, data, 1));
      const controller = new AbortController();
      let ticks = 0;
      const first = await runTopActivations(passOptions(resumed, data, 2, {
        signal: controller.signal,
        log: () => { if (++ticks > 0) controller.abort(); },
      }));
      assert.equal(first.status, 'interrupted');
      assert.ok(first.position < first.imagesTotal, `stopped at ${first.position} of ${first.imagesTotal}`);
      const second = await runTopActivations(passOptions(resumed, data, 2));
      assert.equal(second.status, 'finished');
      assert.deepStrictEqual(readResult(resumed, second.runId), readResult(reference, full.runId));
    } finally {
      reference.close();
      resumed.close();
    }
  });
});
