import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openStore } from '../../src/store/open-store.js';
import { createRun, getRun, listRuns, makeRunId, recordSkippedItem, setRunStatus, trackRunStatus, uniqueRunId } from '../../src/store/runs.js';

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

test('the schema files are applied once, in order', () => {
  const db = openStore(':memory:');
  const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all() as number[];
  assert.deepEqual(versions, [...versions].sort((a, b) => a - b));
  assert.equal(versions[0], 1);
  assert.equal(db.pragma('user_version', { simple: true }), versions.at(-1));
  db.close();
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
