import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readCheckpointFile } from '../../../src/checkpoint/checkpoint-file.js';
import { openStore } from '../../../src/store/open-store.js';
import { getRun } from '../../../src/store/runs.js';
import { optimizerPathFor } from '../../../src/train/optimizer-state-file.js';
import { runCli, CLI_PATH } from '../../cli/run-cli.js';
import { makeTempDir, writeFolderTree } from '../../data/fixtures.js';

let tmp: ReturnType<typeof makeTempDir>;
let data: string;
let otherClasses: string;

before(async () => {
  tmp = makeTempDir('zfnet-train-onnx-');
  data = join(tmp.dir, 'data');
  await writeFolderTree(data, { train: { a: 3, b: 3, c: 3, d: 3 }, val: { a: 1, b: 1, c: 1, d: 1 } });
  otherClasses = join(tmp.dir, 'other');
  await writeFolderTree(otherClasses, { train: { p: 2, q: 2, r: 2 } });
});
after(() => tmp.cleanup());

/** Every tensor of a checkpoint and of its optimizer file, as raw bytes. */
function readPair(path: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [file, prefix] of [[path, ''], [optimizerPathFor(path), 'momentum.']] as const) {
    for (const [name, t] of readCheckpointFile(file).tensors) out.set(prefix + name, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return out;
}

function trainArgs(name: string, extra: string[] = []): string[] {
  return ['train', '--model', 'zfnet-tiny', '--data', data, '--db', join(tmp.dir, `${name}.db`), '--backend', 'onnx', '--epochs', '3',
    '--batch-size', '4', '--out', join(tmp.dir, name), '--val-split', 'none', '--keep-all', '--seed', '5', ...extra];
}

/** Starts the CLI and sends `signal` once stderr shows step `step` of epoch 2; resolves with the exit and both streams. */
function runUntilEpoch2(args: string[], signal: NodeJS.Signals, step: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI_PATH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += String(d); });
  child.stderr.on('data', (d) => {
    stderr += String(d);
    if (new RegExp(`train epoch 2/3 .* step ${step} `).test(stderr) && !child.killed) child.kill(signal);
  });
  return new Promise((done) => child.on('close', (code, killedBy) => done({ code, signal: killedBy, stdout, stderr })));
}

function runIdOf(stdout: string): string {
  const id = /run (train-\S+) (finished|interrupted)/.exec(stdout)?.[1];
  assert.ok(id !== undefined, stdout);
  return id;
}

test('on onnx, a run killed by SIGKILL in epoch 2 and resumed, and a run stopped by SIGINT mid-epoch and resumed, end bit for bit as an uninterrupted run', async () => {
  const whole = runCli(trainArgs('whole'));
  assert.equal(whole.status, 0, whole.stderr);
  const last = (name: string, runId: string): string => join(tmp.dir, name, 'runs', runId, 'checkpoints', 'epoch-0003.safetensors');
  const reference = readPair(last('whole', runIdOf(whole.stdout)));

  const killed = await runUntilEpoch2(trainArgs('killed'), 'SIGKILL', 1);
  assert.equal(killed.signal, 'SIGKILL', killed.stderr);
  const killedDb = openStore(join(tmp.dir, 'killed.db'));
  const killedRun = killedDb.prepare("SELECT id FROM runs WHERE kind = 'train'").get() as { id: string };
  killedDb.close();
  const resumed = runCli(['train', '--resume', killedRun.id, '--db', join(tmp.dir, 'killed.db'), '--backend', 'onnx']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /train: resuming \S+ from \S+epoch-0001\.safetensors \(epoch 1 done, 0 steps into the next\)/, 'the resume started from epoch 1');

  const stopped = await runUntilEpoch2(trainArgs('stopped'), 'SIGINT', 1);
  assert.equal(stopped.code, 0, stopped.stderr);
  const stoppedId = runIdOf(stopped.stdout);
  const finished = runCli(['train', '--resume', stoppedId, '--db', join(tmp.dir, 'stopped.db'), '--backend', 'onnx']);
  assert.equal(finished.status, 0, finished.stderr);
  assert.match(finished.stderr, /train: resuming \S+ from \S+partial-epoch-0002-step-\d+\.safetensors/, 'the resume started mid-epoch');

  for (const [name, runId] of [['killed', killedRun.id], ['stopped', stoppedId]] as const) {
    const pair = readPair(last(name, runId));
    assert.deepEqual([...pair.keys()], [...reference.keys()]);
    for (const [tensor, bytes] of reference) assert.ok(bytes.equals(pair.get(tensor)!), `${name}: ${tensor} differs from the uninterrupted run`);
  }
});

test('--from starts a new run from a checkpoint: its weights, fresh momentum, the classifier re-initialised for other classes; both recorded', () => {
  const source = runCli(trainArgs('source', ['--epochs', '1']));
  assert.equal(source.status, 0, source.stderr);
  const sourcePath = join(tmp.dir, 'source', 'runs', runIdOf(source.stdout), 'checkpoints', 'epoch-0001.safetensors');
  const sourceTensors = readCheckpointFile(sourcePath).tensors;
  // A zero rate, no decay and no renormalisation leave every weight where it started.
  const frozen = ['--epochs', '1', '--lr', '0', '--filter-radius', '0', '--crop', 'center'];
  const same = runCli(['train', '--from', sourcePath, '--data', data, '--db', join(tmp.dir, 'from.db'), '--out', join(tmp.dir, 'from'), '--val-split', 'none', ...frozen]);
  assert.equal(same.status, 0, same.stderr);
  assert.match(same.stderr, /^train: starting from \S+epoch-0001\.safetensors \(fresh momentum\)$/m);
  const other = runCli(['train', '--from', sourcePath, '--data', otherClasses, '--db', join(tmp.dir, 'from.db'), '--out', join(tmp.dir, 'from'), '--val-split', 'none', ...frozen]);
  assert.equal(other.status, 0, other.stderr);
  assert.match(other.stderr, /^train: starting from \S+ \(fresh momentum\); fc8\.weight and fc8\.bias re-initialised with the scaled init: the checkpoint has 4 classes \(a, b, c, d\), the dataset 3 \(p, q, r\)$/m);
  for (const [result, classifierKept] of [[same, true], [other, false]] as const) {
    const path = join(tmp.dir, 'from', 'runs', runIdOf(result.stdout), 'checkpoints', 'epoch-0001.safetensors');
    const tensors = readCheckpointFile(path).tensors;
    for (const [name, tensor] of tensors) {
      const kept = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength).equals(Buffer.from(sourceTensors.get(name)!.data.buffer, sourceTensors.get(name)!.data.byteOffset, sourceTensors.get(name)!.data.byteLength));
      if (name.startsWith('fc8.') && !classifierKept) assert.equal(tensor.data.length, name === 'fc8.bias' ? 3 : 3 * 32, name);
      else assert.ok(kept, `${name} is not the checkpoint's`);
    }
    for (const [name, tensor] of readCheckpointFile(optimizerPathFor(path)).tensors) assert.ok(tensor.data.every((v) => v === 0), `momentum ${name} starts at zero (and a zero rate keeps it there)`);
  }
  const db = openStore(join(tmp.dir, 'from.db'));
  try {
    const recorded = getRun(db, runIdOf(other.stdout))!.options;
    assert.deepEqual([recorded['from'], recorded['crop']], [{ path: sourcePath, sha256: readCheckpointFile(sourcePath).sha256, model: 'zfnet-tiny' }, 'centre']);
  } finally {
    db.close();
  }
});

test('--from refuses a missing file, another architecture, and --resume; --crop refuses an unknown mode', () => {
  const missing = join(tmp.dir, 'nope.safetensors');
  const args = ['--data', data, '--db', join(tmp.dir, 'refuse.db'), '--out', join(tmp.dir, 'refuse'), '--val-split', 'none'];
  assert.deepEqual(pick(runCli(['train', '--from', missing, ...args])), [2, `run-pipeline: Checkpoint ${missing} (--from) does not exist`]);
  const source = readdirCheckpoint();
  assert.deepEqual(pick(runCli(['train', '--from', source, '--model', 'alexnet-tiny', ...args])), [2, `run-pipeline: Checkpoint ${source} holds zfnet-tiny at 64 px; --from needs alexnet-tiny at 64 px (give --model zfnet-tiny)`]);
  assert.deepEqual(pick(runCli(['train', '--from', source, '--resume', 'train-x', ...args])), [2, 'run-pipeline: --from starts a new run; --resume continues one with its recorded start: give one of them']);
  assert.deepEqual(pick(runCli(['train', '--crop', 'middle', ...args])), [2, 'run-pipeline: Expected one of paper, random, center, centre for crop but received "middle"']);
});

function pick(result: { status: number | null; stderr: string }): [number | null, string] {
  return [result.status, result.stderr.trim().split('\n').at(-1)!];
}

/** The epoch checkpoint the --from test trained (it runs first). */
function readdirCheckpoint(): string {
  const db = openStore(join(tmp.dir, 'source.db'));
  try {
    const run = db.prepare("SELECT id FROM runs WHERE kind = 'train'").get() as { id: string };
    const path = join(tmp.dir, 'source', 'runs', run.id, 'checkpoints', 'epoch-0001.safetensors');
    assert.ok(existsSync(path));
    return path;
  } finally {
    db.close();
  }
}
