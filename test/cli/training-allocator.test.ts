import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { TRAINING_ALLOCATOR_ENV, trainingAllocatorEnv } from '../../src/cli/training-allocator.js';
import { CLI_PATH } from './run-cli.js';

test('train and demo re-execute with the allocator settings; other commands, set settings and Nodes without execve do not', () => {
  const argv = (command: string): string[] => ['node', 'main.js', command];
  assert.deepEqual(trainingAllocatorEnv(argv('train'), { HOME: '/h' }, true), { HOME: '/h', ...TRAINING_ALLOCATOR_ENV });
  assert.deepEqual(trainingAllocatorEnv(argv('demo'), {}, true), { ...TRAINING_ALLOCATOR_ENV });
  assert.equal(trainingAllocatorEnv(argv('top-activations'), {}, true), null);
  assert.equal(trainingAllocatorEnv(argv('train'), { MALLOC_TOP_PAD_: '0' }, true), null, 'a user setting wins (and a re-executed process stops there)');
  assert.equal(trainingAllocatorEnv(argv('train'), {}, false), null);
  assert.equal(trainingAllocatorEnv(['node', 'main.js'], {}, true), null);
});

test('a train process runs with the settings, in the same process (same pid, its arguments and preloads kept)', (t) => {
  if (typeof (process as unknown as { execve?: unknown }).execve !== 'function') {
    t.skip(`Node ${process.version} has no process.execve (22.15+): train runs with glibc's defaults`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'allocator-'));
  try {
    const preload = join(dir, 'report.mjs');
    const report = join(dir, 'report.jsonl');
    writeFileSync(preload, `import { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(report)}, JSON.stringify({ pid: process.pid, threshold: process.env.MALLOC_MMAP_THRESHOLD_ ?? null, argv: process.argv.slice(2) }) + '\\n');\n`);
    const result = spawnSync(process.execPath, ['--import', pathToFileURL(preload).href, CLI_PATH, 'train', '--help'], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const starts = readFileSync(report, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { pid: number; threshold: string | null; argv: string[] });
    assert.deepEqual(starts.map((s) => s.threshold), [null, TRAINING_ALLOCATOR_ENV['MALLOC_MMAP_THRESHOLD_']], 'started once without, then re-executed with the settings');
    assert.equal(starts[1]!.pid, starts[0]!.pid);
    assert.deepEqual(starts[1]!.argv, ['train', '--help']);
    assert.match(result.stdout, /^Usage: run-pipeline train/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
