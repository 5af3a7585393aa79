import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { EXECUTION_PROVIDERS } from '../../src/backend-choice.js';
import { openStore } from '../../src/store/open-store.js';
import { describeNodes, PROFILE_DIR_ENV, PROFILED_PROVIDER_NAMES, readProfiledNodes, type ProfiledNode } from '../onnx/session-profile.js';
import { readRunResults, writeTinyDataset } from '../pipelines/top-activations-fixture.js';
import { writeFolderTree } from '../data/fixtures.js';
import { CLI_PATH, runCli } from './run-cli.js';

/** Preloaded into a CLI process: its onnxruntime sessions write their profiles (see session-profile.ts). */
const PROFILE_PRELOAD = new URL('../onnx/session-profile-preload.js', import.meta.url).href;

let dir: string;
let data: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'onnx-cli-'));
  data = join(dir, 'data');
  await writeTinyDataset(data, { classes: 4, perClass: 6, withBadFiles: false });
});
after(() => rmSync(dir, { recursive: true, force: true }));

type Row = Record<string, number | string | null>;

/** The first image file of the dataset tree. */
function findImage(root: string): string {
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.(jpe?g|png)$/i.test(entry.name)) return join((entry as { parentPath?: string }).parentPath ?? entry.path, entry.name);
  }
  throw new Error(`no image under ${root}`);
}

function readPass(dbPath: string): { runs: Row[]; stats: Row[]; top: Row[] } {
  const db = openStore(dbPath);
  try {
    const runs = db.prepare("SELECT id, backend, backend_info FROM runs WHERE kind = 'top-activations'").all() as Row[];
    const { stats, top } = readRunResults(db, runs[0]!['id'] as string);
    return { runs, stats: stats as Row[], top: top as Row[] };
  } finally {
    db.close();
  }
}

/**
 * Same rows; integers and strings identical (image ids, ranks, positions,
 * counts, labels); other numbers within 1e-5 of the largest magnitude of the
 * same column in the same layer (random-init maps hold values near 1e-7,
 * where float32 rounding alone differs by more than 1e-5 of the value).
 */
function assertRowsClose(got: Row[], expected: Row[], what: string): void {
  assert.equal(got.length, expected.length, what);
  const scale = new Map<string, number>();
  for (const row of expected) {
    for (const [key, value] of Object.entries(row)) {
      if (typeof value === 'number') scale.set(`${row['layer']}:${key}`, Math.max(scale.get(`${row['layer']}:${key}`) ?? 0, Math.abs(value)));
    }
  }
  got.forEach((row, i) => {
    for (const [key, value] of Object.entries(expected[i]!)) {
      const actual = row[key];
      if (typeof value === 'number' && typeof actual === 'number' && !Number.isInteger(value)) {
        const tolerance = 1e-5 * scale.get(`${expected[i]!['layer']}:${key}`)!;
        assert.ok(Math.abs(actual - value) <= tolerance, `${what} row ${i} ${key}: ${actual} vs ${value}`);
      } else {
        assert.equal(actual, value, `${what} row ${i} ${key}`);
      }
    }
  });
}

test('top-activations on --backend onnx from a checkpoint (read without tfjs, conv tensors only): top-9 entries identical to wasm, values and unit statistics within 1e-5; the engine is recorded', () => {
  const checkpoint = join(dir, 'tiny.safetensors');
  const init = runCli(['init', '--model', 'zfnet-tiny', '--seed', '5', '--out', checkpoint, '--db', join(dir, 'init.db')]);
  assert.equal(init.status, 0, init.stderr);
  const pass = (backend: string): string => {
    const db = join(dir, `${backend}.db`);
    const result = runCli(['top-activations', '--data', data, '--db', db, '--checkpoint', checkpoint, '--batch-size', '4', '--workers', '2', '--backend', backend]);
    assert.equal(result.status, 0, result.stderr);
    if (backend === 'onnx') assert.match(result.stderr, /^backend: onnx \(onnxruntime-node \d+\.\d+\.\d+, cpu execution provider, /m);
    return db;
  };
  const onnx = readPass(pass('onnx'));
  const wasm = readPass(pass('wasm'));
  assert.ok(onnx.top.length > 0);
  assertRowsClose(onnx.top, wasm.top, 'top_activations');
  assertRowsClose(onnx.stats, wasm.stats, 'unit_stats');
  assert.equal(onnx.runs[0]!['backend'], 'onnx');
  assert.equal((JSON.parse(onnx.runs[0]!['backend_info'] as string) as { executionProvider: string }).executionProvider, 'cpu');
});

test('activations on onnx writes the tensors wasm writes (within 1e-5), and records onnx', () => {
  const image = findImage(data);
  const write = (backend: string): string => {
    const out = join(dir, `act-${backend}`);
    const result = runCli(['activations', '--db', join(dir, 'act.db'), '--image', image, '--model', 'zfnet-tiny', '--taps', 'conv2,norm2,fc7,probs', '--out', out, '--backend', backend]);
    assert.equal(result.status, 0, result.stderr);
    return out;
  };
  const [onnx, wasm] = [write('onnx'), write('wasm')];
  for (const tap of ['conv2', 'norm2', 'fc7', 'probs']) {
    const [a, b] = [readFileSync(join(onnx, `${tap}.npy`)), readFileSync(join(wasm, `${tap}.npy`))];
    assert.equal(a.length, b.length, tap);
    const body = (npy: Buffer): Float32Array => { const start = 10 + npy.readUInt16LE(8); return new Float32Array(npy.buffer.slice(npy.byteOffset + start, npy.byteOffset + npy.length)); };
    const [fa, fb] = [body(a), body(b)];
    const scale = Math.max(...Array.from(fb, Math.abs));
    fa.forEach((v, i) => assert.ok(Math.abs(v - fb[i]!) <= 1e-5 * scale, `${tap}[${i}]: ${v} vs ${fb[i]}`));
  }
  assert.equal((JSON.parse(readFileSync(join(onnx, 'activations.json'), 'utf8')) as { backend: string }).backend, 'onnx');
});

test('an unknown execution provider is refused with the valid list; a provider that cannot load is refused with the install line', (t) => {
  const args = ['top-activations', '--data', data, '--db', join(dir, 'ep.db'), '--model', 'zfnet-tiny'];
  const unknown = runCli([...args, '--execution-provider', 'rocm']);
  assert.deepEqual([unknown.status, unknown.stderr], [2, 'run-pipeline: Expected one of cpu, webgpu, cuda, tensorrt for execution-provider but received "rocm"\n']);
  const cuda = runCli([...args, '--execution-provider', 'cuda']);
  if (cuda.status === 0) {
    t.skip('onnxruntime-node loads the CUDA provider here: nothing to refuse (the next test checks that it runs the convolutions)');
    return;
  }
  assert.equal(cuda.status, 2, cuda.stderr);
  assert.match(cuda.stderr, /^run-pipeline: Execution provider cuda failed to load in onnxruntime-node \d+\.\d+\.\d+ \(.+\): its binaries are not in the npm package: install them with `node node_modules\/onnxruntime-node\/script\/install --onnxruntime-node-install=cuda12`/);
  assert.doesNotMatch(cuda.stderr, /onnxruntime_src|provider_bridge/, 'no native log lines');
});

/**
 * Runs top-activations on `provider` in one process (--workers 1: the sessions
 * live in the main thread, where the preloaded profiler reaches them) and
 * returns the exit, stderr and the node runs of its sessions' profiles.
 */
function profileTopActivations(provider: string): { status: number | null; stderr: string; nodes: ProfiledNode[] } {
  const profileDir = join(dir, `profile-${provider}`);
  mkdirSync(profileDir, { recursive: true });
  const args = ['top-activations', '--data', data, '--db', join(dir, `profile-${provider}.db`), '--model', 'zfnet-tiny', '--workers', '1', '--execution-provider', provider];
  const result = spawnSync(process.execPath, ['--import', PROFILE_PRELOAD, CLI_PATH, ...args], { encoding: 'utf8', env: { ...process.env, [PROFILE_DIR_ENV]: profileDir }, timeout: 120_000 });
  return { status: result.status, stderr: result.stderr, nodes: readProfiledNodes(profileDir) };
}

/** The convolutions of a profile and whether every one ran on `providerName`. */
function convolutionsOn(nodes: readonly ProfiledNode[], providerName: string): { count: number; all: boolean } {
  const convolutions = nodes.filter((n) => /Conv/.test(n.op));
  return { count: convolutions.length, all: convolutions.every((n) => n.provider === providerName) };
}

test('top-activations on the cpu provider: its sessions\' profiles show the convolutions on CPUExecutionProvider', () => {
  const run = profileTopActivations('cpu');
  assert.equal(run.status, 0, run.stderr);
  const { count, all } = convolutionsOn(run.nodes, 'CPUExecutionProvider');
  assert.ok(count > 0 && all, describeNodes(run.nodes));
});

test('top-activations on a GPU provider that loads runs its convolutions there, with no silent fallback to the CPU', (t) => {
  const refused: string[] = [];
  let checked = 0;
  for (const provider of EXECUTION_PROVIDERS.filter((p) => p !== 'cpu')) {
    const run = profileTopActivations(provider);
    if (run.status === 2 && new RegExp(`^run-pipeline: Execution provider ${provider} failed to load`, 'm').test(run.stderr)) {
      refused.push(provider);
      continue;
    }
    assert.equal(run.status, 0, run.stderr);
    const { count, all } = convolutionsOn(run.nodes, PROFILED_PROVIDER_NAMES[provider] ?? `(no profile name for ${provider})`);
    assert.ok(count > 0 && all, `${provider} loaded, but the convolutions ran: ${describeNodes(run.nodes)}`);
    checked += 1;
  }
  if (checked === 0) t.skip(`no GPU execution provider loads here (${refused.join(', ')} refused)`);
});

test('train --backend onnx trains on onnxruntime and records it; a provider that cannot load or an unknown one is refused before any run', async (t) => {
  const dbPath = join(dir, 'train.db');
  const trainData = join(dir, 'train-data');
  await writeFolderTree(trainData, { train: { a: 2, b: 2, c: 2, d: 2 } });
  const args = ['train', '--model', 'zfnet-tiny', '--data', trainData, '--db', dbPath, '--epochs', '1', '--limit', '8', '--batch-size', '4', '--val-split', 'none', '--out', join(dir, 'train-out')];
  const unknown = runCli([...args, '--execution-provider', 'rocm']);
  assert.deepEqual([unknown.status, unknown.stderr], [2, 'run-pipeline: Expected one of cpu, webgpu, cuda, tensorrt for execution-provider but received "rocm"\n']);
  const webgpu = runCli([...args, '--execution-provider', 'webgpu']);
  const webgpuLoads = webgpu.status === 0;
  if (!webgpuLoads) {
    assert.equal(webgpu.status, 2, webgpu.stderr);
    assert.match(webgpu.stderr, /^run-pipeline: Execution provider webgpu failed to load in onnxruntime-node [\d.]+ \(Failed to get a WebGPU adapter: .+\): it is in the npm package but needs a GPU that Vulkan can reach/m);
    assert.doesNotMatch(webgpu.stderr, /onnxruntime_src|webgpu_context/, 'no native log lines');
  }
  const trained = runCli([...args, '--backend', 'onnx']);
  assert.equal(trained.status, 0, trained.stderr);
  assert.match(trained.stderr, /^backend: onnx \(onnxruntime-node [\d.]+, cpu execution provider, one training thread with a \d+-thread session\)$/m);
  const db = openStore(dbPath);
  try {
    const runs = db.prepare("SELECT backend FROM runs WHERE kind = 'train' ORDER BY started_at").all() as Array<{ backend: string }>;
    assert.deepEqual(runs.map((r) => r.backend), webgpuLoads ? ['onnx', 'onnx'] : ['onnx'], 'a refused provider records no run');
  } finally {
    db.close();
  }
  if (webgpuLoads) t.skip('onnxruntime-node finds a WebGPU adapter here: nothing to refuse');
});
