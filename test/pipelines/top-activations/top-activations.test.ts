import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { mergeStores } from '../../../pipelines/top-activations/merge-stores.js';
import { runTopActivations, type TopActivationsOptions } from '../../../pipelines/top-activations/top-activations.js';
import { initBackend } from '../../../src/backend/select-backend.js';
import { saveCheckpoint } from '../../../src/checkpoint/checkpoint-file.js';
import { buildModelConfig } from '../../../src/model/architectures.js';
import { disposeParams, initParams } from '../../../src/model/params.js';
import { openStore } from '../../../src/store/open-store.js';
import { getTopActivationRun } from '../../../src/store/top-activations-store.js';
import { readRunResults, writeTinyDataset } from '../top-activations-fixture.js';

let dir: string;
let data: string;
let badPaths: string[];
const quiet = (): void => {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'topact-pipeline-'));
  data = join(dir, 'data');
  badPaths = (await writeTinyDataset(data, { classes: 4, perClass: 15, withBadFiles: true })).bad;
  await initBackend('wasm', { log: quiet });
});
after(() => rmSync(dir, { recursive: true, force: true }));

function passOptions(dbName: string, extra: Partial<TopActivationsOptions> = {}): TopActivationsOptions {
  return {
    db: openStore(join(dir, dbName)), data, split: 'val', model: 'zfnet-tiny', initSeed: 3, layers: [1, 2, 3, 4, 5], topK: 9,
    batchSize: 7, commitEvery: 2, shard: { index: 0, count: 1 }, backend: 'wasm', force: false,
    decodeConcurrency: 2, strict: false, resumeCommand: 'run-pipeline top-activations ...', log: quiet, ...extra,
  };
}

async function runPass(dbName: string, extra: Partial<TopActivationsOptions> = {}) {
  const options = passOptions(dbName, extra);
  try {
    const result = await runTopActivations(options);
    return { result, results: readRunResults(options.db, result.runId), run: getTopActivationRun(options.db, result.runId)! };
  } finally {
    options.db.close();
  }
}

test('a pass skips and records bad images without counting them, and leaks no tensors', async () => {
  const start = tf.memory().numTensors;
  const { result, results, run } = await runPass('full.db');
  assert.equal(tf.memory().numTensors, start);
  assert.deepEqual([result.status, result.imagesProcessed, result.imagesSkipped, result.position, result.imagesTotal], ['finished', 60, 2, 62, 62]);
  assert.ok((results.stats as Array<{ images_seen: number }>).every((row) => row.images_seen === 60));
  assert.equal(results.top.length, (8 + 16 * 4) * 9);
  const db = openStore(join(dir, 'full.db'));
  const skipped = db.prepare('SELECT path FROM skipped_items WHERE run_id = ? ORDER BY path').pluck().all(result.runId);
  db.close();
  assert.deepEqual(skipped, badPaths);
  assert.deepEqual([run.weights, run.checkpointSha256, run.split, run.shardIndex, run.shardCount, run.run.status, run.run.backend], ['random-init:3', null, 'val', 0, 1, 'finished', 'wasm']);
  assert.equal((run.preprocessing as { crop: string }).crop, 'centre');
});

test('rerunning a finished pass does nothing; --force recomputes the same result', async () => {
  const first = await runPass('rerun.db');
  const again = await runPass('rerun.db');
  assert.deepEqual([again.result.status, again.result.runId], ['already-finished', first.result.runId]);
  const forced = await runPass('rerun.db', { force: true });
  assert.equal(forced.result.status, 'finished');
  assert.deepEqual(forced.results, first.results);
  // The old run was deleted and computed again (a new id, unless both started within the same second).
  const db = openStore(join(dir, 'rerun.db'));
  const rows = db.prepare('SELECT run_id, commits FROM top_activation_runs').all() as Array<{ run_id: string; commits: number }>;
  db.close();
  assert.deepEqual(rows, [{ run_id: forced.result.runId, commits: forced.run.commits }]);
  assert.equal(forced.run.commits, first.run.commits);
});

/** Runs a pass that aborts once `commits` commits are in the store (0: right away, after the first batch). */
async function runInterrupted(dbName: string, commits: number, extra: Partial<TopActivationsOptions> = {}) {
  const controller = new AbortController();
  const options = passOptions(dbName, { signal: controller.signal, batchSize: 5, commitEvery: 3, ...extra });
  const poll = setInterval(() => {
    const done = options.db.prepare('SELECT MAX(commits) FROM top_activation_runs').pluck().get() as number | null;
    if ((done ?? 0) >= commits) controller.abort();
  }, 1);
  try {
    return await runTopActivations(options);
  } finally {
    clearInterval(poll);
    options.db.close();
  }
}

test('an aborted pass commits, and resuming it ends with exactly the uninterrupted result', async () => {
  const reference = (await runPass('full.db')).results;
  for (const commits of [0, 1]) {
    const interrupted = await runInterrupted(`abort-${commits}.db`, commits);
    assert.equal(interrupted.status, 'interrupted');
    assert.ok(interrupted.position > 0 && interrupted.position < 62, `position ${interrupted.position}`);
    const resumed = await runPass(`abort-${commits}.db`, { batchSize: 5, commitEvery: 3 });
    assert.deepEqual([resumed.result.status, resumed.result.runId, resumed.result.imagesSkipped], ['finished', interrupted.runId, 2]);
    assert.deepEqual(resumed.results, reference);
  }
});

test('three shards merged equal one pass', async () => {
  const reference = await runPass('full.db');
  for (const index of [0, 1, 2]) await runPass(`shard${index}.db`, { shard: { index, count: 3 }, batchSize: 4 });
  const merged = mergeStores({ sources: [0, 1, 2].map((i) => join(dir, `shard${i}.db`)), into: join(dir, 'merged.db'), force: false, log: quiet });
  assert.deepEqual([merged.status, merged.shardCount, merged.imagesProcessed, merged.imagesSkipped], ['merged', 3, 60, 2]);
  const db = openStore(join(dir, 'merged.db'));
  try {
    assert.deepEqual(readRunResults(db, merged.runId), reference.results);
    assert.equal(db.prepare('SELECT COUNT(*) FROM images').pluck().get(), 62);
    assert.equal(db.prepare('SELECT COUNT(*) FROM skipped_items WHERE run_id = ?').pluck().get(merged.runId), 2);
  } finally {
    db.close();
  }
});

test('merge refuses shards of different passes, unfinished and missing shards, naming stores and field', async () => {
  await runPass('other0.db', { shard: { index: 0, count: 2 }, layers: [1, 2] });
  await runPass('other1.db', { shard: { index: 1, count: 2 }, layers: [1, 2, 3] });
  const [a, b] = [join(dir, 'other0.db'), join(dir, 'other1.db')];
  const runIds = [a, b].map((path) => { const db = openStore(path); const id = db.prepare('SELECT run_id FROM top_activation_runs').pluck().get() as string; db.close(); return id; });
  assert.throws(() => mergeStores({ sources: [a, b], into: join(dir, 'bad.db'), force: false, log: quiet }), {
    name: 'UsageError', message: `Cannot merge ${a} run ${runIds[0]} with ${b} run ${runIds[1]}: they differ in layers ([1,2] vs [1,2,3])`,
  });
  assert.throws(() => mergeStores({ sources: [a], into: join(dir, 'bad.db'), force: false, log: quiet }), { message: 'Missing shard 1/2: give the stores that hold it' });
  const unfinished = await runInterrupted('other2.db', 0, { shard: { index: 1, count: 2 }, layers: [1, 2] });
  assert.throws(() => mergeStores({ sources: [a, join(dir, 'other2.db')], into: join(dir, 'bad.db'), force: false, log: quiet }), {
    message: `${join(dir, 'other2.db')} run ${unfinished.runId} (shard 1/2) is not finished (${unfinished.position} of 31 images); resume it with the same top-activations command first`,
  });
});

test('a checkpoint is identified by its sha256 in the run record', async () => {
  const config = buildModelConfig('zfnet-tiny', { numClasses: 4 });
  const params = initParams(config, 9);
  const saved = saveCheckpoint(join(dir, 'tiny.safetensors'), { config, params });
  disposeParams(params);
  const { run } = await runPass('ckpt.db', { checkpoint: saved.path, model: undefined, layers: [2] });
  assert.deepEqual([run.weights, run.checkpointSha256, run.checkpointPath, run.layers], [saved.sha256, saved.sha256, saved.path, [2]]);
  await assert.rejects(runPass('ckpt2.db', { checkpoint: saved.path, model: 'zfnet-small' }), {
    name: 'UsageError', message: `Checkpoint ${saved.path} holds zfnet-tiny but --model says zfnet-small`,
  });
});
