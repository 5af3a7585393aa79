import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { migrateStore, openStore } from '../../src/store/open-store.js';
import { createRun, getRun, listRuns, makeRunId, recordSkippedItem, setRunStatus, trackRunStatus, uniqueRunId } from '../../src/store/runs.js';

const DB_DIR = fileURLToPath(new URL('../../../db/', import.meta.url));

test('run ids sort by time and stay unique within a second', () => {
  const db = openStore(':memory:');
  const at = new Date('2026-11-28T15:30:00.123Z');
  const id = makeRunId('occlusion', at, 'zfnet-small');
  assert.equal(id, 'occlusion-20261128-153000-zfnet-small');
  createRun(db, { id: uniqueRunId(db, id), kind: 'occlusion' });
  const second = uniqueRunId(db, id);
  assert.equal(second, `${id}-2`);
  createRun(db, { id: second, kind: 'occlusion' });
  assert.equal(uniqueRunId(db, id), `${id}-3`);
  db.close();
});

test('runs record status, options and skipped items', () => {
  const db = openStore(':memory:');
  createRun(db, { id: 'r1', kind: 'train', model: 'zfnet-tiny', backend: 'cpu', backendInfo: { gpu: false }, options: { epochs: 2 } });
  recordSkippedItem(db, 'r1', { path: '/d/x.JPEG', stage: 'decode', reason: 'truncated' });
  setRunStatus(db, 'r1', 'finished');
  const run = getRun(db, 'r1')!;
  assert.equal(run.status, 'finished');
  assert.ok(run.finishedAt !== null);
  assert.deepEqual(run.options, { epochs: 2 });
  assert.deepEqual(run.backendInfo, { gpu: false });
  assert.equal(listRuns(db, 'train').length, 1);
  assert.equal(listRuns(db, 'mean').length, 0);
  assert.equal(db.prepare('SELECT COUNT(*) FROM skipped_items WHERE run_id = ?').pluck().get('r1'), 1);
  db.close();
});

/** The schema files as the db/ folder lists them, read here without the store's own reader. */
function schemaFilesOnDisk(): { version: number; name: string }[] {
  return readdirSync(DB_DIR)
    .filter((name) => /^\d+-.+\.sql$/.test(name))
    .map((name) => ({ version: Number.parseInt(name, 10), name }))
    .sort((a, b) => a.version - b.version);
}

/** The names a migration recorded, in the order its INSERT statements ran (better-sqlite3's statement log). */
function recordedInOrder(log: readonly string[]): string[] {
  return log.filter((sql) => sql.startsWith('INSERT INTO schema_migrations')).map((sql) => /'(\d+-[\w-]+\.sql)'/.exec(sql)![1]!);
}

test('the schema files are applied once, in order', () => {
  const onDisk = schemaFilesOnDisk();
  assert.ok(onDisk.length >= 11 && onDisk[0]!.name === '001-core.sql', `unexpected db/ listing: ${onDisk.map((f) => f.name).join(', ')}`);
  const db = openStore(':memory:');
  const applied = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
  assert.deepEqual(applied, onDisk);
  assert.equal(db.pragma('user_version', { simple: true }), onDisk.at(-1)!.version);
  db.close();

  const log: string[] = [];
  const logged = new Database(':memory:', { verbose: (sql) => log.push(String(sql)) });
  assert.equal(migrateStore(logged), onDisk.at(-1)!.version);
  assert.deepEqual(recordedInOrder(log), onDisk.map((f) => f.name));
  log.length = 0;
  assert.equal(migrateStore(logged), onDisk.at(-1)!.version);
  assert.deepEqual(recordedInOrder(log), [], 'a second migration applied files again');
  assert.equal(logged.prepare('SELECT COUNT(*) FROM schema_migrations').pluck().get(), onDisk.length);
  logged.close();
});

test('trackRunStatus marks the run finished, or failed and rethrows', async () => {
  const db = openStore(':memory:');
  createRun(db, { id: 'ok', kind: 'evaluate' });
  createRun(db, { id: 'bad', kind: 'evaluate' });
  assert.equal(await trackRunStatus(db, 'ok', async () => 42), 42);
  await assert.rejects(trackRunStatus(db, 'bad', async () => { throw new Error('boom'); }), { message: 'boom' });
  assert.equal(getRun(db, 'ok')!.status, 'finished');
  assert.equal(getRun(db, 'bad')!.status, 'failed');
  db.close();
});
