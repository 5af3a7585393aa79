import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runMosaics } from '../../../pipelines/mosaics/mosaics.js';
import { runTopActivations } from '../../../pipelines/top-activations/top-activations.js';
import { initBackend } from '../../../src/backend/select-backend.js';
import { openStore, type Store } from '../../../src/store/open-store.js';
import { writeTinyDataset } from '../top-activations-fixture.js';

let dir: string;
let db: Store;
let runId: string;
const quiet = (): void => {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mosaics-owner-'));
  await writeTinyDataset(join(dir, 'data'), { classes: 2, perClass: 3, sizePx: 72 });
  await initBackend('wasm', { log: quiet });
  db = openStore(join(dir, 'store.db'));
  runId = (await runTopActivations({
    db, data: join(dir, 'data'), split: 'val', model: 'zfnet-tiny', initSeed: 1, layers: [1], topK: 2, batchSize: 6, commitEvery: 1,
    shard: { index: 0, count: 1 }, backend: 'wasm', force: false, decodeConcurrency: 2, strict: false, resumeCommand: '', log: quiet,
  })).runId;
});
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('mosaics refuses an output folder another live process is drawing into, naming it, and takes over once it is gone', async () => {
  const options = { db, runId, layers: [1], units: { kind: 'list' as const, units: [0, 1] }, seed: 1, backend: 'wasm' as const, outDir: join(dir, 'mosaics'), batchSize: 4, unitsPerSheet: 16, columns: 4, log: quiet };
  const first = await runMosaics(options);
  const row = db.prepare("SELECT id, status, owner_pid FROM runs WHERE kind = 'mosaics'").get() as { id: string; status: string; owner_pid: number | null };
  assert.deepEqual([row.status, row.owner_pid], ['finished', null]);
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => sleeper.on('exit', () => resolve()));
  try {
    db.prepare("UPDATE runs SET status = 'running', owner_host = ?, owner_pid = ?, heartbeat_at = ? WHERE id = ?").run(hostname(), sleeper.pid, new Date().toISOString(), row.id);
    await assert.rejects(runMosaics(options), (error: Error) => error.message.startsWith(`Run ${row.id} is being written by process ${sleeper.pid} on host ${hostname()} (last heartbeat `));
  } finally {
    sleeper.kill('SIGKILL');
    await exited;
  }
  const lines: string[] = [];
  const again = await runMosaics({ ...options, log: (l: string) => lines.push(l) });
  assert.ok(lines.includes(`taking over run ${row.id} from process ${sleeper.pid} on host ${hostname()}: process ${sleeper.pid} no longer exists on ${hostname()}`), lines.join('\n'));
  assert.equal(again.units, first.units);
  assert.equal(db.prepare('SELECT status FROM runs WHERE id = ?').pluck().get(row.id), 'finished');
});
