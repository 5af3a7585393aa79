import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readCheckpointFile } from '../../../src/checkpoint/checkpoint-file.js';
import { initBackend } from '../../../src/backend/select-backend.js';
import { computeSquareSizePx } from '../../../src/data/crop-geometry.js';
import { findDataset } from '../../../src/store/image-index.js';
import { loadMeanImage, saveMeanImage } from '../../../src/store/mean-store.js';
import { buildModelConfig } from '../../../src/model/architectures.js';
import { readRunMean } from '../../../src/store/runs.js';
import { runTrainPipeline, type TrainRecipe } from '../../../pipelines/train/train.js';
import { makeTempDir, openTempStore, writeFolderTree } from '../../data/fixtures.js';

let tmp: ReturnType<typeof makeTempDir>;
let data: string;
before(async () => {
  await initBackend('cpu', { log: () => {} });
  tmp = makeTempDir('zfnet-train-mean-');
  data = join(tmp.dir, 'data');
  await writeFolderTree(data, { train: { a: 2, b: 2, c: 2, d: 2 }, val: { a: 1, b: 1, c: 1, d: 1 } });
});
after(() => tmp.cleanup());

const recipe = (epochs: number): TrainRecipe => ({
  model: 'zfnet-tiny', data, seed: 3, init: 'paper', epochs, batchSize: 4, microBatch: null, learningRate: 0.01, momentum: 0.9, weightDecay: 0.0005, dropout: 0.5,
  filterRadius: 0.1, lrSchedule: 'plateau', patience: 1, stepEpochs: 20, lrFactor: 10, crop: 'paper', limit: 4,
  valSplit: 'val', valLimit: 4, keepEpochs: [], keepAll: true, outDir: join(tmp.dir, 'out'),
});

test('train writes the mean it subtracts into every checkpoint and records its hash; a resume keeps the checkpoint\'s mean', async () => {
  const db = openTempStore(tmp.dir, 'm.db');
  const lines: string[] = [];
  const first = await runTrainPipeline({ db, backend: 'cpu', recipe: recipe(1), log: (l) => lines.push(l) });
  const sizePx = computeSquareSizePx(buildModelConfig('zfnet-tiny').inputSizePx);
  const stored = loadMeanImage(db, findDataset(db, data)!.id, sizePx);
  assert.equal(stored.source, 'computed');
  assert.equal(readRunMean(db, first.runId), stored.sha256);
  assert.ok(lines.some((l) => l.startsWith("train: mean image: the store's (")), lines.join('\n'));
  const carried = readCheckpointFile(first.checkpointPath!).mean!;
  assert.deepEqual([carried.sha256, carried.split, carried.dataset, carried.imageCount], [stored.sha256, 'train', data, stored.imageCount]);

  // The store's mean changes; resuming the run must go on with the mean its checkpoints carry.
  saveMeanImage(db, findDataset(db, data)!.id, 'train', sizePx, 8, 8, new Float32Array(sizePx * sizePx * 3).fill(1));
  const resumed = await runTrainPipeline({ db, backend: 'cpu', resume: first.runId, resumeOverrides: { epochs: 2 }, log: (l) => lines.push(l) });
  assert.ok(lines.some((l) => l.startsWith("train: mean image: the checkpoint's (") && l.endsWith(', from the checkpoint resumed')), lines.join('\n'));
  const dir = join(tmp.dir, 'out', 'runs', first.runId, 'checkpoints');
  const weights = readdirSync(dir).filter((f) => f.startsWith('epoch-') && !f.includes('optimizer'));
  assert.equal(weights.length, 2);
  for (const file of weights) assert.equal(readCheckpointFile(join(dir, file)).mean?.sha256, stored.sha256, file);
  assert.equal(readRunMean(db, resumed.runId), stored.sha256);
  db.close();
});

test('train --resume refuses a run another live process is training, naming it, and takes it over once that process is gone', async () => {
  const db = openTempStore(tmp.dir, 'own.db');
  const first = await runTrainPipeline({ db, backend: 'cpu', recipe: { ...recipe(1), outDir: join(tmp.dir, 'own') }, log: () => {} });
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => sleeper.on('exit', () => resolve()));
  try {
    db.prepare("UPDATE runs SET status = 'running', owner_host = ?, owner_pid = ?, heartbeat_at = ? WHERE id = ?").run(hostname(), sleeper.pid, new Date().toISOString(), first.runId);
    await assert.rejects(runTrainPipeline({ db, backend: 'cpu', resume: first.runId, resumeOverrides: { epochs: 2 }, log: () => {} }),
      (error: Error) => error.message.startsWith(`Run ${first.runId} is being written by process ${sleeper.pid} on host ${hostname()} (last heartbeat `));
    assert.equal(db.prepare('SELECT owner_pid FROM runs WHERE id = ?').pluck().get(first.runId), sleeper.pid, 'the refused process left the run alone');
  } finally {
    sleeper.kill('SIGKILL');
    await exited;
  }
  const lines: string[] = [];
  const resumed = await runTrainPipeline({ db, backend: 'cpu', resume: first.runId, resumeOverrides: { epochs: 2 }, log: (l) => lines.push(l) });
  assert.ok(lines.includes(`taking over run ${first.runId} from process ${sleeper.pid} on host ${hostname()}: process ${sleeper.pid} no longer exists on ${hostname()}`), lines.join('\n'));
  assert.deepEqual([resumed.status, resumed.epochs], ['finished', 2]);
  db.close();
});
