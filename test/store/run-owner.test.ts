import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { openStore } from '../../src/store/open-store.js';
import { beatRun, claimRun, readRunOwner, RunOwnedError, RunTakenOverError } from '../../src/store/run-owner.js';
import { createRun, setRunStatus } from '../../src/store/runs.js';

const at = (iso: string) => () => new Date(iso);

test('a run owned by a live process on this host is refused with its pid, host and heartbeat; once the process is gone it is taken over', async () => {
  const db = openStore(':memory:');
  createRun(db, { id: 'r', kind: 'train' });
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => sleeper.on('exit', () => resolve()));
  try {
    db.prepare("UPDATE runs SET owner_host = ?, owner_pid = ?, heartbeat_at = '2026-12-01T10:00:00.000Z' WHERE id = 'r'").run(hostname(), sleeper.pid);
    assert.throws(() => claimRun(db, 'r', { now: at('2026-12-01T10:00:42.000Z') }), (error: unknown) => error instanceof RunOwnedError && error.message
      === `Run r is being written by process ${sleeper.pid} on host ${hostname()} (last heartbeat 2026-12-01T10:00:00.000Z, 42 s ago): `
      + `it is taken over once process ${sleeper.pid} has ended or its heartbeat is older than 600 s. Wait for it to finish, or stop that process and run this command again.`);
  } finally {
    sleeper.kill('SIGKILL');
    await exited;
  }
  const claim = claimRun(db, 'r', { now: at('2026-12-01T10:01:00.000Z') });
  assert.equal(claim.tookOverFrom?.reason, `process ${sleeper.pid} no longer exists on ${hostname()}`);
  assert.deepEqual(readRunOwner(db, 'r'), { host: hostname(), pid: process.pid, heartbeatAt: '2026-12-01T10:01:00.000Z' });
  setRunStatus(db, 'r', 'finished');
  assert.equal(readRunOwner(db, 'r'), null, 'a run that stops running is nobody\'s');
  db.close();
});

test('on another host only the heartbeat counts: younger than the timeout is refused, older is taken over; the old owner then stops at its next beat', () => {
  const db = openStore(':memory:');
  createRun(db, { id: 'r', kind: 'top-activations' });
  const other = { host: 'node-b', pid: process.pid };
  db.prepare("UPDATE runs SET owner_host = 'node-b', owner_pid = ?, heartbeat_at = '2026-12-01T10:00:00.000Z' WHERE id = 'r'").run(process.pid);
  assert.throws(() => claimRun(db, 'r', { now: at('2026-12-01T10:09:59.000Z') }), {
    message: `Run r is being written by process ${process.pid} on host node-b (last heartbeat 2026-12-01T10:00:00.000Z, 599 s ago): `
      + 'it is on another host, so it is taken over once its heartbeat is older than 600 s. Wait for it to finish, or stop that process and run this command again.',
  });
  const claim = claimRun(db, 'r', { now: at('2026-12-01T10:10:01.000Z') });
  assert.equal(claim.tookOverFrom?.reason, 'its last heartbeat is 601 s old (over 600 s)');
  assert.throws(() => beatRun(db, 'r', { self: other }), (error: unknown) => error instanceof RunTakenOverError && error.message
    === `Run r was taken over while process ${process.pid} on node-b was writing it (process ${process.pid} on host ${hostname()} owns it now): stopping without writing more`);
  beatRun(db, 'r');
  db.close();
});
