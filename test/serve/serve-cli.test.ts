/**
 * `run-pipeline serve` as a user runs it: it prints its URL, answers, warns
 * when bound beyond 127.0.0.1, and Ctrl-C (SIGINT) stops it cleanly with
 * exit 0; a missing store is a one-line usage error.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CLI_PATH, runCli } from '../cli/run-cli.js';
import { openStore } from '../../src/store/open-store.js';

let dir = '';
let dbPath = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'serve-cli-'));
  dbPath = join(dir, 'store.db');
  openStore(dbPath).close();
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Starts serve, waits for its URL line, runs `check`, sends SIGINT and returns the exit code and output. */
async function serveUntilInterrupted(args: string[], check: (url: string) => Promise<void>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI_PATH, 'serve', '--db', dbPath, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /explorer at (http:\/\/\S+) /.exec(stdout);
      if (m) resolve(m[1]!);
    });
    child.on('exit', () => reject(new Error(`serve exited early: ${stderr}`)));
  });
  try {
    await check(url);
  } finally {
    child.kill('SIGINT');
  }
  return { code: await exited, stdout, stderr };
}

test('serve prints its URL on 127.0.0.1, answers, and stops cleanly on Ctrl-C', async () => {
  const result = await serveUntilInterrupted([], async (url) => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /No top-activations run in this store yet/);
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /serve: stopped\n$/);
  assert.doesNotMatch(result.stderr, /warning/);
});

test('--host beyond loopback warns', async () => {
  const result = await serveUntilInterrupted(['--host', '0.0.0.0'], async () => undefined);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /serve: warning: listening on 0\.0\.0\.0, not 127\.0\.0\.1: anyone who reaches this machine can browse the store/);
});

test('a missing store and a bad port are one-line usage errors', () => {
  const missing = runCli(['serve', '--db', join(dir, 'nope.db')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^run-pipeline: Cannot open store .*nope\.db: /);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
  const port = runCli(['serve', '--db', dbPath, '--port', '70000']);
  assert.equal(port.status, 2);
  assert.equal(port.stderr, 'run-pipeline: Expected integer between 0 and 65535 for port but received "70000"\n');
});
