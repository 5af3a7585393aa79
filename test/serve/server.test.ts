/**
 * The explorer's server through fastify's inject, on a store made by the
 * fixture, with a counting renderer the test controls: bad ids and
 * parameters, traversal attempts, identical concurrent renders done once,
 * pages answering while a render is pending, server-side sorting, filtering
 * and paging of the unit table, and a store whose other tables it never writes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { openStore, type Store } from '../../src/store/open-store.js';
import { createServeQueries } from '../../src/store/serve-queries.js';
import type { RenderJob, Renderer } from '../../src/serve/render-engine.js';
import type { ServeApp } from '../../src/serve/server.js';
import { openTestServe, writeServeFixture, type ServeFixture, type TestServe } from './serve-fixture.js';

let dir = '';
let fixture: ServeFixture;
let writer: Store;
let reader: Store;
let serve: ServeApp;
let runId = '';
const renders: RenderJob[] = [];
let release: () => void = () => undefined;
let gate = Promise.resolve();
const PNG_1PX = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082', 'hex');

function closeGate(): void {
  gate = new Promise<void>((resolve) => { release = resolve; });
}

/** A renderer that records each job, waits for the test, then writes one PNG per file it names. */
const countingRenderer: Renderer = {
  engine: 'test',
  async render(job, onProgress) {
    renders.push(job);
    onProgress(0, 9);
    await gate;
    mkdirSync(job.outDir, { recursive: true });
    if (job.kind === 'projections') {
      const files: Record<string, string> = {};
      for (let rank = 0; rank < 9; rank++) writeFileSync((files[`projection-${rank}`] = join(job.outDir, `projection-${rank}.png`)), PNG_1PX);
      return { files, result: { recomputed: Array(9).fill(1) } };
    }
    if (job.kind === 'occlusion') throw new Error(`Cannot use image ${job.imageId}: unsupported image format`);
    return { files: {}, result: { layers: [{ layer: 1, unitCount: 4, firing: 2, units: [{ unit: 3, value: 2.5 }] }], prediction: null } };
  },
  close: async () => undefined,
};

/** Every table but the server's cache, as one hash. */
function hashDataTables(db: Store): string {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('serve_renders', 'schema_migrations') ORDER BY name").pluck().all() as string[];
  const hash = createHash('sha256');
  for (const t of tables) hash.update(t).update(JSON.stringify(db.prepare(`SELECT * FROM "${t}"`).raw().all(), (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v)));
  return hash.digest('hex');
}
let hashBefore = '';

let testServe: TestServe;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'serve-'));
  fixture = await writeServeFixture(dir);
  runId = fixture.runIds[0];
  testServe = openTestServe(fixture.dbPath, join(dir, 'out'), async () => countingRenderer);
  ({ serve, reader, writer } = testServe);
  hashBefore = hashDataTables(reader);
});
after(async () => {
  await testServe.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (url: string, method: 'GET' | 'POST' = 'GET'): Promise<LightMyRequestResponse> => testServe.get(url, method);
const run = (): string => `/runs/${runId}`;

test('bad ids and parameters answer 400 with one line naming the value, unknown things 404, never a stack', async () => {
  const cases: Array<[string, number, string]> = [
    [`${run()}/layers/7`, 400, `Expected a layer of run ${runId} (1, 2, 3, 4, 5) for layer but received 7`],
    [`${run()}/layers/x`, 400, 'Expected a non-negative integer for layer but received "x"'],
    [`${run()}/layers/2/units/16`, 400, `Expected a unit between 0 and 15 of conv2 of run ${runId} for unit but received 16`],
    [`${run()}/layers/1?sort=colour`, 400, 'Expected one of unit, firing-rate, mean, max, purity, dead, top-class for sort but received "colour"'],
    [`${run()}/layers/1?min-rate=abc`, 400, 'Expected a number between 0 and 1 for min-rate but received "abc"'],
    [`${run()}/images/12x`, 400, 'Expected a non-negative integer for image but received "12x"'],
    [`${run()}/images/999`, 404, `No image 999 in the dataset of run ${runId}`],
    ['/runs/no-such-run', 404, 'No run "no-such-run" in the store'],
    [`${run()}/layers/1/units/0/patches/9.png`, 404, `conv1 unit 0 of run ${runId} has no top-k entry of rank 9`],
    [`/compare?a=${runId}&b=x%20y`, 400, 'Expected a run id (letters, digits, . _ : -) for b but received "x y"'],
    ['/compare', 400, 'Expected two top-activations runs, /compare?a=RUN&b=RUN (the runs page offers them), but a and b are missing'],
    [`/compare?a=${runId}&b=`, 400, 'Expected two top-activations runs, /compare?a=RUN&b=RUN (the runs page offers them), but b is missing'],
    ['/nothing/here', 404, 'Not found: GET /nothing/here'],
  ];
  for (const [url, status, message] of cases) {
    const r = await get(url);
    assert.equal(r.statusCode, status, url);
    assert.equal(r.body, `${message}\n`, url);
    assert.doesNotMatch(r.body, /\n\s+at /);
  }
});

test('traversal attempts answer 404: dot segments, encoded slashes, absolute paths, backslashes', async () => {
  const attempts = [
    '/runs/../../etc/passwd', `${run()}/images/..%2F..%2Fetc%2Fpasswd/image.png`, `${run()}/images/%2Fetc%2Fpasswd/image.png`,
    `${run()}/images/%2e%2e%2f%2e%2e%2fetc/image.png`, `/runs/..%2F..%2Fetc/layers/1`, `${run()}/layers/1/units/0/patches/..%5C..%5Cwin.ini`,
    `${run()}/layers/1/units/0/projections/..%2F..%2Fstore.db`, '/etc/passwd', `/runs/%2Ftmp/images/1/image.png`, `/runs/${runId}/../../store.db`,
  ];
  for (const url of attempts) {
    const r = await get(url);
    assert.equal(r.statusCode, 404, `${url}: ${r.body}`);
    assert.ok(!r.body.includes('root:') && !r.body.includes('SQLite'), url);
  }
});

test('concurrent identical render requests do the work once; pages answer while it runs; the result is cached', async () => {
  closeGate();
  const api = `/api${run()}/layers/2/units/3/projections`;
  const before = renders.length;
  const answers = await Promise.all(Array.from({ length: 6 }, () => get(api, 'POST')));
  assert.deepEqual(answers.map((a) => a.statusCode), [202, 202, 202, 202, 202, 202]);
  // The render is pending: other pages and the status still answer.
  assert.equal((await get(`${run()}/layers/2`)).statusCode, 200);
  const pending = (await get(api)).json() as { state: string; total: number };
  assert.equal(pending.state, 'running');
  assert.equal(pending.total, 9);
  const unitPage = (await get(`${run()}/layers/2/units/3`)).body;
  assert.match(unitPage, /data-state="pending"/);
  assert.equal((await get(`${run()}/layers/2/units/3/projections/0.png`)).statusCode, 404);
  release();
  await serve.queue.drain();
  assert.equal(renders.length - before, 1);
  assert.deepEqual({ ...renders.at(-1), outDir: undefined }, { kind: 'projections', runId, layer: 2, unit: 3, imageId: undefined, outDir: undefined });
  assert.equal((await get(api)).json().state, 'done');
  assert.equal((await get(api, 'POST')).json().state, 'done');
  assert.equal(renders.length - before, 1, 'a cached render is not redone');
  const png = await get(`${run()}/layers/2/units/3/projections/4.png`);
  assert.equal(png.statusCode, 200);
  assert.equal(png.headers['content-type'], 'image/png');
  assert.match((await get(`${run()}/layers/2/units/3`)).body, /data-state="done"[^>]*><div class="grid" id="projection-grid">/);
});

test('a failed render reports its reason and is retried when asked again', async () => {
  gate = Promise.resolve();
  const api = `/api${run()}/images/200000001/occlusion`;
  await get(api, 'POST');
  await serve.queue.drain();
  assert.deepEqual((await get(api)).json(), { state: 'failed', ahead: 0, done: 0, total: 0, error: 'Cannot use image 200000001: unsupported image format' });
  const count = renders.length;
  await get(api, 'POST');
  await serve.queue.drain();
  assert.equal(renders.length, count + 1);
});

test('the unit table sorts, filters and pages on the server', async () => {
  const all = createServeQueries(reader).queryUnitTable(runId, 3, { sort: 'unit', descending: false, dead: null, topLabel: null, minFiringRate: null, maxFiringRate: null, minPurity: null, offset: 0, limit: 1000 }).rows;
  const unitsOf = (html: string) => [...html.matchAll(/<tr data-unit="(\d+)">/g)].map((m) => Number(m[1]));
  const byMax = [...all].sort((a, b) => (b.maxValue ?? -Infinity) - (a.maxValue ?? -Infinity) || a.unit - b.unit).map((u) => u.unit);
  assert.deepEqual(unitsOf((await get(`${run()}/layers/3?sort=max`)).body), byMax);
  assert.deepEqual(unitsOf((await get(`${run()}/layers/3?sort=max&dir=asc`)).body), [...all].sort((a, b) => (a.maxValue ?? Infinity) - (b.maxValue ?? Infinity) || a.unit - b.unit).map((u) => u.unit));
  assert.deepEqual(unitsOf((await get(`${run()}/layers/3?sort=max&per=5&page=2`)).body), byMax.slice(5, 10));
  const rate = 0.5;
  assert.deepEqual(unitsOf((await get(`${run()}/layers/3?min-rate=${rate}`)).body), all.filter((u) => (u.firingRate ?? 0) >= rate).map((u) => u.unit));
  const label = all.find((u) => u.topLabel !== null)!.topLabel!;
  const byClass = (await get(`${run()}/layers/3?class=${label}`)).body;
  assert.deepEqual(unitsOf(byClass), all.filter((u) => u.topLabel === label).map((u) => u.unit));
  assert.match(byClass, /top class <select name="class">.*class0[0-2]/s);
  assert.deepEqual(unitsOf((await get(`${run()}/layers/3?dead=dead`)).body), all.filter((u) => u.dead).map((u) => u.unit));
});

test('the pages show what the store holds: runs, layers, the same unit in the other epoch, an image in its units', async () => {
  const runs = (await get('/')).body;
  for (const id of fixture.runIds) assert.ok(runs.includes(`href="/runs/${id}"`), id);
  assert.match(runs, /epoch-0001\.safetensors/);
  const unit = (await get(`${run()}/layers/1/units/0`)).body;
  assert.ok(unit.includes(`href="/runs/${fixture.runIds[1]}/layers/1/units/0"`), 'links to the same unit in the other run');
  assert.match(unit, /<td class="num">2<\/td>/, 'epoch 2 read from the checkpoint name');
  assert.match(unit, /rel="next" id="next-unit"/);
  const entry = createServeQueries(reader).listTopEntries(runId, 1, 0)[0]!;
  const image = (await get(`${run()}/images/${entry.imageId}`)).body;
  assert.ok(image.includes(`href="/runs/${runId}/layers/1/units/0"`));
  const patch = await get(`${run()}/layers/1/units/0/patches/0.png`);
  assert.equal(patch.statusCode, 200);
  assert.equal(patch.headers['content-type'], 'image/png');
  const compare = await get(`/compare?a=${fixture.runIds[0]}&b=${fixture.runIds[1]}&layer=2`);
  assert.equal(compare.statusCode, 200);
  assert.equal((compare.body.match(/class="thumb"/g) ?? []).length, 2 * 16 * 9);
});

test('the server wrote nothing to the store but its cache table', () => {
  assert.equal(hashDataTables(reader), hashBefore);
  assert.ok((reader.prepare('SELECT COUNT(*) FROM serve_renders').pluck().get() as number) >= 2);
});

test('pages read what another process commits meanwhile (WAL): a run still going shows its progress', async () => {
  const other = openStore(fixture.dbPath, { mustExist: true });
  try {
    const pass = other.prepare('SELECT * FROM top_activation_runs WHERE run_id = ?').get(runId) as Record<string, unknown>;
    const live = `${runId}-live`;
    other.prepare("INSERT INTO runs (id, kind, status, model, options_json, started_at, updated_at, heartbeat_at) VALUES (?, 'top-activations', 'running', 'zfnet-tiny', '{}', ?, ?, ?)")
      .run(live, new Date().toISOString(), new Date().toISOString(), new Date().toISOString());
    const columns = Object.keys(pass).filter((c) => c !== 'run_id');
    other.prepare(`INSERT INTO top_activation_runs (run_id, ${columns.join(', ')}) VALUES (?, ${columns.map(() => '?').join(', ')})`)
      .run(live, ...columns.map((c) => (c === 'position' ? 5 : pass[c])));
    assert.match((await get('/')).body, /running, 5 of 12 images \(41\.7%\), heartbeat \d+ s ago/);
    other.prepare('UPDATE top_activation_runs SET position = 10 WHERE run_id = ?').run(live);
    assert.match((await get('/')).body, /running, 10 of 12 images \(83\.3%\)/);
    assert.equal((await get(`/runs/${live}`)).statusCode, 200);
  } finally {
    other.close();
  }
});
