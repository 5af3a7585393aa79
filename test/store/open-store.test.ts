import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { readSchemaFiles, retryWhileBusy } from '../../src/store/open-store.js';

const CHILD = fileURLToPath(new URL('./store-child.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'open-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface ChildOutcome { code: number | null; stdout: string; stderr: string }

/** Starts `count` children on one fresh store, releases them together, and collects their exits. */
async function openTogether(name: string, count: number, mode?: 'slow'): Promise<ChildOutcome[]> {
  const store = join(dir, `${name}.db`);
  const go = join(dir, `${name}.go`);
  const children = Array.from({ length: count }, () => spawn(process.execPath, [CHILD, store, go, ...(mode ? [mode] : [])], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const outcomes = children.map((child) => new Promise<ChildOutcome>((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  }));
  await Promise.all(children.map((child) => new Promise<void>((resolve) => {
    const onData = (chunk: Buffer): void => { if (chunk.toString().includes('ready')) { child.stdout.off('data', onData); resolve(); } };
    child.stdout.on('data', onData);
  })));
  writeFileSync(go, '');
  return Promise.all(outcomes);
}

const latest = readSchemaFiles().at(-1)!.version;

test('two processes migrating one fresh store at once both succeed (versions read inside the write transaction)', async () => {
  const outcomes = await openTogether('slow', 2, 'slow');
  for (const o of outcomes) {
    assert.equal(o.code, 0, o.stderr);
    assert.match(o.stdout, new RegExp(`version ${latest}\\n`));
  }
});

test('four processes opening one fresh store with openStore all succeed at the latest schema version', async () => {
  const outcomes = await openTogether('plain', 4);
  for (const o of outcomes) {
    assert.equal(o.code, 0, o.stderr);
    assert.match(o.stdout, new RegExp(`version ${latest}\\n`));
  }
});

test('four fresh openers, eight rounds: none fails (SQLite fails one of two WAL switches at once, whatever the busy timeout)', async () => {
  for (let round = 0; round < 8; round++) {
    for (const o of await openTogether(`round${round}`, 4)) assert.equal(o.code, 0, o.stderr);
  }
});

test('retryWhileBusy retries SQLITE_BUSY answers, passes other errors on at once, and gives up at the timeout', () => {
  const busy = (code: string): Error => Object.assign(new Error('database is locked'), { code });
  let calls = 0;
  assert.equal(retryWhileBusy(() => { if (++calls < 3) throw busy('SQLITE_BUSY'); return 'done'; }), 'done');
  assert.equal(calls, 3);
  calls = 0;
  assert.throws(() => retryWhileBusy(() => { calls++; throw busy('SQLITE_CORRUPT'); }), { message: 'database is locked' });
  assert.equal(calls, 1);
  const started = Date.now();
  assert.throws(() => retryWhileBusy(() => { throw busy('SQLITE_BUSY_RECOVERY'); }, 120), { message: 'database is locked' });
  assert.ok(Date.now() - started >= 120);
});
