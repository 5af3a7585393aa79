import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { runCli } from '../../cli/run-cli.js';
import { readRunResults, writeTinyDataset } from '../top-activations-fixture.js';

const CHILD = fileURLToPath(new URL('./top-activations-child.js', import.meta.url));
let dir: string;
let data: string;
const passArgs = (db: string): string[] => [
  'top-activations', '--data', data, '--db', db, '--model', 'zfnet-tiny', '--batch-size', '3', '--commit-every', '1', '--workers', '1', '--backend', 'wasm',
];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'run-owner-'));
  data = join(dir, 'data');
  await writeTinyDataset(data, { classes: 4, perClass: 12, withBadFiles: true });
  const reference = runCli(passArgs(join(dir, 'ref.db')));
  assert.equal(reference.status, 0, reference.stderr);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function readOnly<T>(path: string, read: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

const readResults = (path: string): unknown => readOnly(path, (db) => readRunResults(db, db.prepare("SELECT id FROM runs WHERE kind = 'top-activations'").pluck().get() as string));

test('a second process refuses a run another live process owns, naming it; once that process is gone it takes over and resumes to the uninterrupted result', async () => {
  const store = join(dir, 'shared.db');
  const first = spawnSync(process.execPath, [CHILD, store, data, 'stop-after-2'], { encoding: 'utf8' });
  assert.equal(first.status, 0, first.stderr);
  const position = / interrupted (\d+)\n$/.exec(first.stdout)?.[1];
  assert.ok(position !== undefined && Number(position) > 0 && Number(position) < 50, first.stdout);
  const commits = readOnly(store, (db) => db.prepare('SELECT commits FROM top_activation_runs').pluck().get());

  // A resumes the run and freezes while owning it (SIGSTOP: alive, silent).
  const owner = spawn(process.execPath, [CHILD, store, data, 'pause-on-resume'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => owner.on('exit', () => resolve()));
  let recorded: Record<string, string | number> = {};
  try {
  await new Promise<void>((resolve, reject) => {
    owner.stdout.on('data', (chunk: Buffer) => { if (chunk.toString().includes('paused')) resolve(); });
    owner.on('exit', (code) => reject(new Error(`owner exited early with ${code}`)));
  });
  recorded = readOnly(store, (db) => db.prepare("SELECT id, owner_host, owner_pid, heartbeat_at, status FROM runs WHERE kind = 'top-activations'").get()) as Record<string, string | number>;
  assert.deepEqual([recorded['owner_host'], recorded['owner_pid'], recorded['status']], [hostname(), owner.pid, 'running']);

  const refused = runCli(passArgs(store));
  assert.equal(refused.status, 2, refused.stderr);
  const heartbeat = String(recorded['heartbeat_at']).replace(/[.]/g, '\\.');
  assert.match(refused.stderr, new RegExp(`^run-pipeline: Run ${recorded['id']} is being written by process ${owner.pid} on host ${hostname()} \\(last heartbeat ${heartbeat}, \\d+ s ago\\): `
    + `it is taken over once process ${owner.pid} has ended or its heartbeat is older than 600 s\\. Wait for it to finish, or stop that process and run this command again\\.\\n$`, 'm'));
  assert.equal(readOnly(store, (db) => db.prepare('SELECT commits FROM top_activation_runs').pluck().get()), commits, 'the refused process wrote nothing');

  } finally {
    owner.kill('SIGKILL'); // a stopped child would otherwise outlive a failed assertion
    await exited;
  }
  const takeover = runCli(passArgs(store));
  assert.equal(takeover.status, 0, takeover.stderr);
  assert.match(takeover.stderr, new RegExp(`taking over run ${recorded['id']} from process ${owner.pid} on host ${hostname()}: process ${owner.pid} no longer exists on ${hostname()}\\n`));
  assert.match(takeover.stderr, new RegExp(`resuming run \\S+ at image ${position} of 50`));
  assert.deepEqual(readResults(store), readResults(join(dir, 'ref.db')));
  const released = readOnly(store, (db) => db.prepare("SELECT status, owner_host, owner_pid FROM runs WHERE kind = 'top-activations'").get());
  assert.deepEqual(released, { status: 'finished', owner_host: null, owner_pid: null });
});
