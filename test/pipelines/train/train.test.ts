import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { readCheckpointFile, loadCheckpoint } from '../../../src/checkpoint/checkpoint-file.js';
import { initBackend } from '../../../src/backend/select-backend.js';
import { disposeParams } from '../../../src/model/params.js';
import { getRun } from '../../../src/store/runs.js';
import { createTrainingStore } from '../../../src/store/training-store.js';
import { optimizerPathFor } from '../../../src/train/optimizer-state-file.js';
import { runTrainPipeline, type TrainRecipe } from '../../../pipelines/train/train.js';
import { makeTempDir, openTempStore, writeFolderTree } from '../../data/fixtures.js';
import { CLI_PATH } from '../../cli/run-cli.js';

let tmp: { dir: string; cleanup: () => void };
let data: string;
const quiet = () => {};

before(async () => {
  await initBackend('cpu', { log: quiet });
  tmp = makeTempDir('zfnet-train-');
  data = join(tmp.dir, 'data');
  await writeFolderTree(data, { train: { a: 2, b: 2, c: 2, d: 2 }, val: { a: 1, b: 1, c: 1, d: 1 } });
});
after(() => tmp.cleanup());

function recipe(name: string, epochs: number): TrainRecipe {
  return {
    model: 'zfnet-tiny', data, seed: 3, init: 'paper', epochs, batchSize: 4, microBatch: null, learningRate: 0.01, momentum: 0.9, weightDecay: 0.0005, dropout: 0.5,
    filterRadius: 0.1, lrSchedule: 'plateau', patience: 1, stepEpochs: 20, lrFactor: 10, crop: 'paper', limit: null,
    valSplit: 'val', valLimit: null, keepEpochs: [], keepAll: true, outDir: join(tmp.dir, name),
  };
}

/** Every tensor of a checkpoint and of its optimizer file, as raw bytes. */
function readPair(path: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [file, prefix] of [[path, ''], [optimizerPathFor(path), 'momentum.']] as const) {
    for (const [name, t] of readCheckpointFile(file).tensors) out.set(prefix + name, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice());
  }
  return out;
}

function assertSamePair(a: string, b: string): void {
  const x = readPair(a);
  const y = readPair(b);
  assert.deepEqual([...x.keys()], [...y.keys()]);
  for (const [name, bytes] of x) assert.ok(Buffer.from(bytes).equals(Buffer.from(y.get(name)!)), `${name} differs between ${a} and ${b}`);
}

test('2 epochs equal 1 epoch + resume + 1, and a stop mid-epoch + resume, bit for bit on cpu; rows and curves are written', async () => {
  const startTensors = tf.memory().numTensors;
  const db = openTempStore(tmp.dir, 'a.db');
  const full = await runTrainPipeline({ db, backend: 'cpu', recipe: recipe('full', 2), log: quiet });
  assert.equal(full.status, 'finished');
  const rows = createTrainingStore(db).listEpochs(full.runId);
  assert.deepEqual(rows.map((r) => [r.epoch, r.steps, r.trainImages, r.valImages]), [[1, 2, 8, 4], [2, 2, 8, 4]]);
  assert.ok(rows.every((r) => r.trainLoss !== null && r.valTop1Error !== null && r.imagesPerS! > 0 && existsSync(r.checkpointPath!)));
  assert.equal(getRun(db, full.runId)!.status, 'finished');
  const runDir = join(tmp.dir, 'full', 'runs', full.runId);
  assert.ok(['loss.svg', 'loss.png', 'error.svg', 'error.png'].every((f) => existsSync(join(runDir, f))));

  const dbB = openTempStore(tmp.dir, 'b.db');
  const first = await runTrainPipeline({ db: dbB, backend: 'cpu', recipe: recipe('split', 1), log: quiet });
  const resumed = await runTrainPipeline({ db: dbB, backend: 'cpu', resume: first.runId, resumeOverrides: { epochs: 2 }, log: quiet });
  assert.equal(resumed.status, 'finished');
  assertSamePair(full.checkpointPath!, resumed.checkpointPath!);

  const dbC = openTempStore(tmp.dir, 'c.db');
  const controller = new AbortController();
  const stopped = await runTrainPipeline({
    db: dbC, backend: 'cpu', recipe: recipe('stopped', 2), signal: controller.signal, log: quiet,
    onStep: ({ epoch, step }) => { if (epoch === 2 && step === 1) controller.abort(); },
  });
  assert.equal(stopped.status, 'interrupted');
  assert.match(stopped.checkpointPath!, /partial-epoch-0002-step-000001\.safetensors$/);
  assert.equal(getRun(dbC, stopped.runId)!.status, 'interrupted');
  const loaded = loadCheckpoint(stopped.checkpointPath!);
  assert.deepEqual([loaded.trainingState!.epoch, loaded.trainingState!.step], [1, 1]);
  disposeParams(loaded.params);
  const finished = await runTrainPipeline({ db: dbC, backend: 'cpu', resume: stopped.runId, log: quiet });
  assertSamePair(full.checkpointPath!, finished.checkpointPath!);
  assert.ok(!existsSync(stopped.checkpointPath!), 'the partial checkpoint is removed once the epoch is saved');
  const resumedRows = createTrainingStore(dbC).listEpochs(stopped.runId);
  assert.equal(resumedRows[1]!.trainLoss, rows[1]!.trainLoss, 'the interrupted epoch\'s sums carried over');
  assert.equal(tf.memory().numTensors, startTensors, 'no tensor outlives the runs');
  for (const d of [db, dbB, dbC]) d.close();
});

test('retention keeps only the listed epochs, the last and the best', async () => {
  const db = openTempStore(tmp.dir, 'r.db');
  const result = await runTrainPipeline({ db, backend: 'cpu', recipe: { ...recipe('keep', 3), keepAll: false, keepEpochs: [2], limit: 4, valLimit: 4 }, log: quiet });
  const rows = createTrainingStore(db).listEpochs(result.runId);
  const best = rows.reduce((b, r) => (r.valTop1Error! < b.valTop1Error! ? r : b));
  const kept = rows.filter((r) => r.checkpointKept).map((r) => r.epoch);
  assert.deepEqual(kept, [...new Set([2, 3, best.epoch])].sort());
  const files = readdirSync(join(tmp.dir, 'keep', 'runs', result.runId, 'checkpoints')).filter((f) => !f.includes('optimizer')).sort();
  assert.deepEqual(files, kept.map((e) => `epoch-${String(e).padStart(4, '0')}.safetensors`));
  db.close();
});

test('resume refuses a changed recipe option and an unknown run', async () => {
  const db = openTempStore(tmp.dir, 'u.db');
  await assert.rejects(runTrainPipeline({ db, backend: 'cpu', resume: 'train-nope', log: quiet }), { message: 'No training run train-nope in the store (run-pipeline runs lists them)' });
  const first = await runTrainPipeline({ db, backend: 'cpu', recipe: { ...recipe('refuse', 1), limit: 4, valSplit: null }, log: quiet });
  await assert.rejects(runTrainPipeline({ db, backend: 'cpu', resume: first.runId, resumeOverrides: { learningRate: 0.1 }, log: quiet }),
    { message: `--learning-rate cannot change when resuming run ${first.runId} (recorded 0.01)` });
  db.close();
});

test('SIGINT to the CLI saves a loadable checkpoint, exits 0 and says how to resume', async () => {
  const dbPath = join(tmp.dir, 'cli.db');
  const args = [CLI_PATH, 'train', '--model', 'zfnet-tiny', '--data', data, '--db', dbPath, '--backend', 'cpu', '--epochs', '50',
    '--batch-size', '2', '--limit', '4', '--out', join(tmp.dir, 'cli'), '--val-split', 'none'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += String(d); });
  child.stderr.on('data', (d) => {
    stderr += String(d);
    if (/train epoch 2\//.test(stderr) && !child.killed) child.kill('SIGINT');
  });
  const code = await new Promise<number | null>((done) => child.on('close', done));
  assert.equal(code, 0, stderr);
  const saved = /saved (\S+\.safetensors)/.exec(stdout)?.[1];
  assert.ok(saved !== undefined && existsSync(saved), stdout);
  const runId = /resume with: run-pipeline train --resume (\S+) --db /.exec(stdout)?.[1];
  assert.ok(runId !== undefined, stdout);
  const loaded = loadCheckpoint(saved);
  assert.equal(loaded.trainingState!['runId'], runId);
  disposeParams(loaded.params);
});
