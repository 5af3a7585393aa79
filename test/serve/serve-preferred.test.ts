/**
 * The explorer's preferred inputs: on a unit page the preferred input is
 * made on demand (queued like projections, its status polled), kept in the
 * cache table with its activation, top-1 and ratio, served as a PNG and
 * shown on the page afterwards without being made again; it is the image
 * `run-pipeline preferred-inputs` makes for the unit with its defaults.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { runPreferredInputs } from '../../pipelines/preferred-inputs/preferred-inputs.js';
import { createModelRenderer } from '../../pipelines/serve/serve-renderer.js';
import { runTopActivations } from '../../pipelines/top-activations/top-activations.js';
import { initBackend } from '../../src/backend/select-backend.js';
import { openStore } from '../../src/store/open-store.js';
import { createServeCache } from '../../src/store/serve-cache.js';
import { relativeError } from '../import/graph-reference.js';
import { readNpyValues } from '../pipelines/imported-models-fixture.js';
import { writeTinyDataset } from '../pipelines/top-activations-fixture.js';
import { openTestServe, type TestServe } from './serve-fixture.js';

const quiet = (): void => {};
let dir = '';
let dbPath = '';
let runId = '';
let testServe: TestServe;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'serve-preferred-'));
  const data = join(dir, 'data');
  await writeTinyDataset(data, { classes: 3, perClass: 3, sizePx: 72 });
  dbPath = join(dir, 'store.db');
  const db = openStore(dbPath);
  await initBackend('cpu', { log: quiet });
  runId = (await runTopActivations({
    db, data, split: 'val', initSeed: 1, topK: 4, batchSize: 6, commitEvery: 1, shard: { index: 0, count: 1 }, backend: 'auto', force: false,
    decodeConcurrency: 2, strict: false, workers: 1, resumeCommand: '', log: quiet, model: 'zfnet-tiny', layers: [1, 2, 3, 4, 5],
  })).runId;
  db.close();
  testServe = openTestServe(dbPath, join(dir, 'out'), (store) => createModelRenderer({ db: store, backend: 'auto' }));
});
after(async () => {
  await testServe.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (url: string, method: 'GET' | 'POST' = 'GET'): Promise<LightMyRequestResponse> => testServe.get(url, method);

test('a unit page asks for its preferred input, which is made once, kept with its ratio and served', async () => {
  const page = `/runs/${runId}/layers/2/units/1`;
  assert.match((await get(page)).body, /id="preferred" data-state="pending" data-render="\/api\/runs\/[^"]+\/layers\/2\/units\/1\/preferred"/);
  const api = `/api${page}/preferred`;
  assert.equal((await get(api)).json().state, 'absent');
  assert.equal((await get(`${page}/preferred.html`)).statusCode, 404);
  assert.ok([202, 200].includes((await get(api, 'POST')).statusCode));
  await testServe.serve.queue.drain();
  const status = (await get(api)).json() as { state: string; error: string | null };
  assert.equal(status.state, 'done', status.error ?? '');
  const cached = createServeCache(testServe.writer).get('preferred', runId, '2:1')!;
  const result = cached.result as { activation: number; top1: number | null; ratio: number | null; steps: number };
  assert.equal(result.steps, 256);
  assert.ok(result.top1 !== null && result.top1 > 0 && result.ratio !== null && Math.abs(result.ratio - result.activation / result.top1) < 1e-9);
  const png = await get(`${page}/preferred.png`);
  assert.equal(png.statusCode, 200);
  assert.equal(png.headers['content-type'], 'image/png');
  const fragment = (await get(`${page}/preferred.html`)).body;
  assert.match(fragment, new RegExp(`<b>${result.ratio.toFixed(2)}x</b> its top-1 activation`));
  assert.match((await get(page)).body, /id="preferred" data-state="done"[^>]*><figure id="preferred-input"><img src="\/runs\/[^"]+\/layers\/2\/units\/1\/preferred\.png"/);
  // asking again serves the kept one
  assert.equal((await get(api, 'POST')).json().state, 'done');
  // the same image as the command makes for the unit with its defaults
  const db = openStore(dbPath);
  try {
    const command = await runPreferredInputs({ db, runId, layers: 'conv2', units: { kind: 'list', units: [1] }, seed: 1, settings: {}, backend: 'auto', workers: 1, batchSize: 8, unitsPerSheet: 64, columns: 8, outDir: join(dir, 'command'), log: quiet });
    const row = command.rows[0]!;
    assert.ok(relativeError(readNpyValues(cached.files['values']!), readNpyValues(row.npy)) < 1e-4);
    assert.ok(Math.abs(row.activation - result.activation) <= 1e-4 * Math.abs(row.activation));
  } finally {
    db.close();
  }
});
