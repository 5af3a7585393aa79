import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { createRng } from '../../src/data/seeded-rng.js';
import { readRunResults, writeTinyDataset } from '../pipelines/top-activations-fixture.js';
import { readNpy } from '../pipelines/npy-reader.js';
import { CLI_PATH, readTopActivationCommits, runCli } from './run-cli.js';

let dir: string;
let data: string;
const passArgs = (db: string): string[] => [
  'top-activations', '--data', data, '--db', db, '--model', 'zfnet-tiny', '--batch-size', '3', '--commit-every', '1', '--workers', '1', '--backend', 'wasm',
];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'topact-cli-'));
  data = join(dir, 'data');
  await writeTinyDataset(data, { classes: 4, perClass: 12, withBadFiles: true });
  const reference = runCli(passArgs(join(dir, 'ref.db')));
  assert.equal(reference.status, 0, reference.stderr);
});
after(() => rmSync(dir, { recursive: true, force: true }));


/** Starts the CLI, waits until `commits` commits are in the store plus `delayMs`, sends `signal`; resolves with exit code and stderr. */
async function interruptAfter(dbPath: string, commits: number, delayMs: number, signal: NodeJS.Signals): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI_PATH, ...passArgs(dbPath)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig })));
  let done = false;
  void exited.then(() => { done = true; });
  while (!done && readTopActivationCommits(dbPath) < commits) await sleep(5);
  await sleep(delayMs);
  if (!done) child.kill(signal);
  return { ...(await exited), stderr };
}

function readResults(dbPath: string): unknown {
  const db = new Database(dbPath, { readonly: true });
  try {
    const runId = db.prepare("SELECT id FROM runs WHERE kind = 'top-activations'").pluck().get() as string;
    return readRunResults(db, runId);
  } finally {
    db.close();
  }
}

test('killed with SIGKILL at random points, the same command resumes to exactly the uninterrupted result', async () => {
  const rng = createRng(20261128);
  const dbPath = join(dir, 'killed.db');
  for (let kill = 0; kill < 2; kill++) {
    const outcome = await interruptAfter(dbPath, readTopActivationCommits(dbPath) + 1 + rng.nextInt(6), rng.nextInt(40), 'SIGKILL');
    assert.ok(outcome.signal === 'SIGKILL' || outcome.code === 0, JSON.stringify(outcome));
  }
  const resumed = runCli(passArgs(dbPath));
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming run top-activations-\S+ at image \d+ of 50/);
  assert.deepEqual(readResults(dbPath), readResults(join(dir, 'ref.db')));
});

test('Ctrl-C commits and exits 0 with the resume command; a finished run says so and does nothing', async () => {
  const dbPath = join(dir, 'sigint.db');
  const outcome = await interruptAfter(dbPath, 2, 0, 'SIGINT');
  assert.equal(outcome.code, 0, outcome.stderr);
  assert.match(outcome.stderr, /interrupted: committed \d+ of 50 images; resume with:\n {2}run-pipeline top-activations --data /);
  const resumed = runCli(passArgs(dbPath));
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.deepEqual(readResults(dbPath), readResults(join(dir, 'ref.db')));
  const again = runCli(passArgs(dbPath));
  assert.equal(again.status, 0);
  assert.match(again.stderr, /is already finished \(48 images, 2 skipped\); nothing to do\. Add --force to compute it again\./);
});

test('units prints an aligned table (or JSON) of the layer\'s units', () => {
  const db = join(dir, 'ref.db');
  const table = runCli(['units', '--db', db, '--layer', '2', '--sort', 'firing-rate', '--limit', '3']);
  assert.equal(table.status, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^run top-activations-\S+ conv2: 3 units, 48 images$/);
  assert.equal(lines[1], 'unit  fire%  mean_max  std_max  mean_act     max  dead  top_class  purity');
  assert.equal(lines.length, 5);
  const json = JSON.parse(runCli(['units', '--db', db, '--layer', '2', '--sort', 'firing-rate', '--json']).stdout) as { units: Array<{ unit: number; firingRate: number; imagesSeen: number }> };
  assert.equal(json.units.length, 16);
  assert.ok(json.units.every((u, i) => u.imagesSeen === 48 && (i === 0 || json.units[i - 1]!.firingRate >= u.firingRate)));
  assert.deepEqual(lines.slice(2).map((l) => Number(l.trim().split(/\s+/)[0])), json.units.slice(0, 3).map((u) => u.unit));
});

test('top prints the 9 entries of a unit with id, value, (y, x), class and path', () => {
  const db = join(dir, 'ref.db');
  const out = runCli(['top', '--db', db, '--layer', '3', '--unit', '5']);
  assert.equal(out.status, 0, out.stderr);
  const lines = out.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^unit  rank   image_id +value  y  x  class +path$/);
  assert.equal(lines.length, 10);
  const json = JSON.parse(runCli(['top', '--db', db, '--layer', '3', '--unit', '5', '--json']).stdout) as { entries: Array<{ value: number; imageId: number; classKey: string; path: string; rank: number }> };
  assert.deepEqual(json.entries.map((e) => e.rank), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  json.entries.forEach((e, i) => {
    const prev = json.entries[i - 1];
    assert.ok(prev === undefined || prev.value > e.value || (prev.value === e.value && prev.imageId < e.imageId));
    assert.match(e.classKey, /^class0\d$/);
    assert.ok(e.path.startsWith(join(data, 'val', e.classKey)));
  });
  const all = JSON.parse(runCli(['top', '--db', db, '--layer', '1', '--json']).stdout) as { entries: unknown[] };
  assert.equal(all.entries.length, 8 * 9);
});

test('bad options are refused with exact messages (exit 2)', () => {
  const db = join(dir, 'ref.db');
  const cases: Array<[string[], string]> = [
    [['top', '--db', db, '--layer', '3', '--unit', '16'], 'run-pipeline: Expected integer between 0 and 15 for unit but received "16"\n'],
    [['units', '--db', db, '--layer', '2', '--sort', 'fun'], 'run-pipeline: Expected one of unit, firing-rate, mean, max, purity for sort but received "fun"\n'],
    [['units', '--db', db, '--layer', '2', '--run', 'nope'], `run-pipeline: No top-activations run nope in ${db}\n`],
    [['top-activations', '--db', db, '--shard', '3/3'], 'run-pipeline: Expected i/N with 0 <= i < N <= 65536 for shard but received "3/3"\n'],
    [['merge', join(dir, 'ref.db'), '--into', join(dir, 'm.db')], `run-pipeline: ${db} holds no sharded top-activations run (made with --shard i/N)\n`],
  ];
  for (const [args, message] of cases) {
    const out = runCli(args);
    assert.deepEqual([out.status, out.stderr], [2, message], args.join(' '));
  }
});

test('activations writes the exact tensors: the stored top entry is the tap\'s maximum at its (y, x)', () => {
  const db = join(dir, 'ref.db');
  const entry = (JSON.parse(runCli(['top', '--db', db, '--layer', '2', '--unit', '3', '--json']).stdout) as { entries: Array<{ imageId: number; value: number; y: number; x: number }> }).entries[0]!;
  const out = join(dir, 'act');
  const result = runCli(['activations', '--db', db, '--data', data, '--image-id', String(entry.imageId), '--model', 'zfnet-tiny', '--taps', 'conv2,fc7', '--out', out, '--backend', 'wasm']);
  assert.equal(result.status, 0, result.stderr);
  const conv2 = readNpy(join(out, 'conv2.npy'));
  assert.deepEqual(conv2.shape, [1, 6, 6, 16]);
  let best = -Infinity;
  let at = -1;
  for (let p = 0; p < 36; p++) if (conv2.data[p * 16 + 3]! > best) { best = conv2.data[p * 16 + 3]!; at = p; }
  assert.deepEqual([best, Math.floor(at / 6), at % 6], [entry.value, entry.y, entry.x]);
  assert.deepEqual(readNpy(join(out, 'input.npy')).shape, [1, 64, 64, 3]);
  const sidecar = JSON.parse(readFileSync(join(out, 'activations.json'), 'utf8')) as { taps: Record<string, { shape: number[] }>; weights: string; image: { imageId: number } };
  assert.deepEqual([sidecar.taps['fc7']!.shape, sidecar.weights, sidecar.image.imageId], [[1, 32], 'random-init:1', entry.imageId]);
  const bad = runCli(['activations', '--db', db, '--image', join(dir, 'missing.png'), '--taps', 'conv9', '--out', out]);
  assert.deepEqual([bad.status, bad.stderr], [2, `run-pipeline: Expected tap names among conv1, conv2, conv3, conv4, conv5, pool1, pool2, pool5, norm1, norm2, fc6, fc7, logits, probs for taps but received "conv9"\n`]);
});
