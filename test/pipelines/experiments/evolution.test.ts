import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import Database from 'better-sqlite3';
import { initBackend } from '../../../src/backend/select-backend.js';
import { loadCheckpoint } from '../../../src/checkpoint/checkpoint-file.js';
import { computeSquareSizePx } from '../../../src/data/crop-geometry.js';
import { findDataset } from '../../../src/store/image-index.js';
import { loadMeanImage } from '../../../src/store/mean-store.js';
import { writeSampleData } from '../../../src/data/sample-data.js';
import { resolveUnits, type UnitSelection } from '../../../src/mosaic/unit-selection.js';
import { forward } from '../../../src/model/network.js';
import { disposeParams } from '../../../src/model/params.js';
import type { TapName } from '../../../src/model/spec.js';
import { openStore, type Store } from '../../../src/store/open-store.js';
import { getRun } from '../../../src/store/runs.js';
import { createTrainingStore } from '../../../src/store/training-store.js';
import { runEvolutionPipeline, type EvolutionPipelineOptions } from '../../../pipelines/experiments/evolution.js';
import { createBatchStream } from '../../../pipelines/shared/input-stream.js';
import { runTrainPipeline } from '../../../pipelines/train/train.js';
import { makeTempDir, writeBytes } from '../../data/fixtures.js';
import { CLI_PATH, runCli } from '../../cli/run-cli.js';

let tmp: { dir: string; cleanup: () => void };
let data: string;
let basePath: string;
let trainRunId: string;
const quiet = (): void => {};
const UNITS: UnitSelection = { kind: 'list', units: [0, 3, 7] };

before(async () => {
  await initBackend('cpu', { log: quiet });
  tmp = makeTempDir('zfnet-evolution-');
  data = (await writeSampleData(join(tmp.dir, 'data'), { trainPerClass: 2, valPerClass: 1 })).dir;
  writeBytes(join(data, 'train', 'n90000001', 'a0-bad.JPEG'), 'not an image');
  basePath = join(tmp.dir, 'base.db');
  const db = openStore(basePath);
  const trained = await runTrainPipeline({
    db, backend: 'cpu', log: quiet,
    recipe: {
      model: 'zfnet-tiny', data, seed: 5, init: 'scaled', epochs: 2, batchSize: 8, microBatch: null, learningRate: 0.01, momentum: 0.9, weightDecay: 0,
      dropout: 0.5, filterRadius: 0.1, lrSchedule: 'plateau', patience: 1, stepEpochs: 20, lrFactor: 10, crop: 'paper', limit: null,
      valSplit: null, valLimit: null, keepEpochs: [], keepAll: true, outDir: join(tmp.dir, 'train'),
    },
  });
  trainRunId = trained.runId;
  db.close();
});
after(() => tmp.cleanup());

/** A copy of the store holding the training run. */
function copyStore(name: string): string {
  const path = join(tmp.dir, name);
  copyFileSync(basePath, path);
  return path;
}

function evolutionOptions(db: Store, outDir: string, extra: Partial<EvolutionPipelineOptions> = {}): EvolutionPipelineOptions {
  return { db, trainRunId, split: 'train', layers: [1, 3, 5], units: UNITS, seed: 1, batchSize: 5, commitEvery: 1, backend: 'cpu', workers: 1, outDir, log: quiet, ...extra };
}

function readEntries(db: Database.Database | Store, runId: string): unknown[] {
  return db.prepare('SELECT epoch, checkpoint_sha256, layer, unit, image_id, activation, y, x FROM evolution_entries WHERE run_id = ? ORDER BY epoch, layer, unit').all(runId);
}

/** Every chosen unit's strongest activation per epoch, from whole conv maps of forward() over the split (no reducer, no executor). */
async function searchWholeMaps(db: Store): Promise<unknown[]> {
  const dataset = findDataset(db, data)!;
  const rows: unknown[] = [];
  for (const epoch of createTrainingStore(db).listEpochs(trainRunId)) {
    const loaded = loadCheckpoint(epoch.checkpointPath!);
    const mean = loadMeanImage(db, dataset.id, computeSquareSizePx(loaded.config.inputSizePx));
    const best = new Map<string, Array<{ unit: number; value: number; imageId: number; y: number; x: number }>>();
    for (const layer of ['conv1', 'conv3', 'conv5']) {
      const filters = loaded.config.layers.find((l) => l.name === layer)! as { filters: number };
      best.set(layer, resolveUnits(UNITS, filters.filters, layer, 1).map((unit) => ({ unit, value: -Infinity, imageId: -1, y: -1, x: -1 })));
    }
    for await (const batch of createBatchStream({ db, dataset, split: 'train', inputSizePx: loaded.config.inputSizePx, meanImage: mean, crop: 'centre', order: 'sorted', batchSize: 7 })) {
      const input = tf.tensor4d(batch.pixels, batch.shape);
      const taps = forward(loaded.config, loaded.params, input, { taps: [...best.keys()] as TapName[] });
      for (const [layer, list] of best) {
        const map = taps[layer as TapName]!;
        const [n, h, w, c] = map.shape as [number, number, number, number];
        const values = await map.data();
        for (const b of list) {
          for (let i = 0; i < n; i++) {
            for (let cell = 0; cell < h * w; cell++) {
              const v = values[(i * h * w + cell) * c + b.unit]!;
              if (v > b.value) Object.assign(b, { value: v, imageId: batch.imageIds[i]!, y: Math.floor(cell / w), x: cell % w });
            }
          }
        }
      }
      tf.dispose([input, ...Object.values(taps)]);
    }
    for (const [layer, list] of [...best].sort(([a], [b]) => (a < b ? -1 : 1))) {
      for (const b of list) rows.push({ epoch: epoch.epoch, checkpoint_sha256: loaded.sha256, layer, unit: b.unit, image_id: b.imageId, activation: b.value, y: b.y, x: b.x });
    }
    disposeParams(loaded.params);
  }
  return rows;
}

test('evolution finds each unit\'s strongest activation of every kept epoch exactly as a search of the whole maps does; bad images recorded; mosaics and CSV', async () => {
  const startTensors = tf.memory().numTensors;
  const db = openStore(copyStore('whole.db'));
  const result = await runEvolutionPipeline(evolutionOptions(db, join(tmp.dir, 'whole')));
  assert.equal(result.status, 'finished');
  assert.deepEqual(result.epochs, [1, 2]);
  assert.equal(getRun(db, result.runId)!.status, 'finished');
  assert.deepEqual(readEntries(db, result.runId), await searchWholeMaps(db));
  const skips = db.prepare('SELECT path, stage FROM skipped_items WHERE run_id = ? ORDER BY id').all(result.runId);
  const bad = join(data, 'train', 'n90000001', 'a0-bad.JPEG');
  assert.deepEqual(skips, [{ path: bad, stage: 'decode' }, { path: bad, stage: 'decode' }]);
  assert.equal(result.imagesSkipped, 2);
  assert.deepEqual(result.mosaics.map((p) => existsSync(p)), [true, true, true]);
  assert.equal(readFileSync(join(result.outDir, 'entries.csv'), 'utf8').trim().split('\n').length, 1 + 2 * 3 * 3);
  assert.equal(tf.memory().numTensors, startTensors, 'no tensor outlives the run');
  db.close();
});

test('stopped after one batch, twice, then rerun: the same command resumes the unfinished run to the uninterrupted result; 2 workers equal 1', async () => {
  const db = openStore(copyStore('resume.db'));
  const reference = await runEvolutionPipeline(evolutionOptions(db, join(tmp.dir, 'ref')));
  const stopped = new AbortController();
  stopped.abort();
  const first = await runEvolutionPipeline(evolutionOptions(db, join(tmp.dir, 'resumed'), { signal: stopped.signal }));
  assert.equal(first.status, 'interrupted');
  assert.notEqual(first.runId, reference.runId, 'a finished run is not resumed');
  assert.equal(getRun(db, first.runId)!.status, 'interrupted');
  const lines: string[] = [];
  const second = await runEvolutionPipeline(evolutionOptions(db, join(tmp.dir, 'resumed'), { signal: stopped.signal, log: (l) => lines.push(l) }));
  assert.equal(second.runId, first.runId);
  assert.ok(lines.includes(`resuming evolution run ${first.runId} (epochs 1, 2)`), lines.join('\n'));
  assert.ok(lines.includes('evolution epoch 1: resuming at image 6 of 25 (1 commits so far)'), lines.join('\n'));
  const finished = await runEvolutionPipeline(evolutionOptions(db, join(tmp.dir, 'resumed'), { workers: 2 }));
  assert.deepEqual([finished.runId, finished.status, finished.imagesSkipped], [first.runId, 'finished', 2]);
  assert.deepEqual(readEntries(db, finished.runId), readEntries(db, reference.runId));
  const skipCount = db.prepare('SELECT COUNT(*) FROM skipped_items WHERE run_id = ?').pluck();
  assert.equal(skipCount.get(finished.runId), 2, 'each bad image recorded once per epoch across the resumes');
  db.close();
});

test('under --backend auto the passes run on onnx and the run records onnx, finding the entries cpu finds', async () => {
  const db = openStore(copyStore('auto.db'));
  try {
    const reference = await runEvolutionPipeline(evolutionOptions(db, join(tmp.dir, 'auto-ref')));
    const onnx = await runEvolutionPipeline(evolutionOptions(db, join(tmp.dir, 'auto'), { backend: 'auto' }));
    assert.equal(getRun(db, onnx.runId)!.backend, 'onnx');
    const [want, got] = [readEntries(db, reference.runId), readEntries(db, onnx.runId)] as Array<Array<Record<string, number>>>;
    assert.equal(got!.length, want!.length);
    got!.forEach((row, i) => {
      const { activation, ...rest } = row;
      const { activation: expected, ...wantRest } = want![i]!;
      assert.deepEqual(rest, wantRest);
      assert.ok(Math.abs(activation! - expected!) <= 1e-5 * Math.max(1, Math.abs(expected!)), `${activation} vs ${expected}`);
    });
  } finally {
    db.close();
  }
});

test('an unfinished evolution run that another live process owns is refused, naming it, and taken over once it is gone', async () => {
  const db = openStore(copyStore('owned.db'));
  const stopped = new AbortController();
  stopped.abort();
  const first = await runEvolutionPipeline(evolutionOptions(db, join(tmp.dir, 'owned'), { signal: stopped.signal }));
  assert.equal(first.status, 'interrupted');
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => sleeper.on('exit', () => resolve()));
  try {
    db.prepare("UPDATE runs SET status = 'running', owner_host = ?, owner_pid = ?, heartbeat_at = ? WHERE id = ?").run(hostname(), sleeper.pid, new Date().toISOString(), first.runId);
    await assert.rejects(runEvolutionPipeline(evolutionOptions(db, join(tmp.dir, 'owned'))), (error: Error) => error.message.startsWith(`Run ${first.runId} is being written by process ${sleeper.pid} on host ${hostname()} (last heartbeat `));
  } finally {
    sleeper.kill('SIGKILL');
    await exited;
  }
  const lines: string[] = [];
  const resumed = await runEvolutionPipeline(evolutionOptions(db, join(tmp.dir, 'owned'), { log: (l) => lines.push(l) }));
  assert.deepEqual([resumed.runId, resumed.status], [first.runId, 'finished']);
  assert.ok(lines.includes(`taking over evolution run ${first.runId} from process ${sleeper.pid} on host ${hostname()}: process ${sleeper.pid} no longer exists on ${hostname()}`), lines.join('\n'));
  db.close();
});

/** The CLI's commits so far (0 before the table has rows). */
function readCommits(dbPath: string): number {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT COALESCE(SUM(commits), 0) FROM evolution_passes').pluck().get() as number);
  } finally {
    db.close();
  }
}

test('killed with SIGKILL after a few commits, the same command line resumes to the uninterrupted result', async () => {
  const refPath = copyStore('cli-ref.db');
  const killedPath = copyStore('cli-killed.db');
  const args = (dbPath: string, out: string): string[] => ['evolution', '--run', trainRunId, '--db', dbPath, '--layers', '1,3,5', '--units', '0,3,7', '--batch-size', '5',
    '--commit-every', '1', '--workers', '1', '--backend', 'cpu', '--out', join(tmp.dir, out)];
  const reference = runCli(args(refPath, 'cli-ref'));
  assert.equal(reference.status, 0, reference.stderr);
  const child = spawn(process.execPath, [CLI_PATH, ...args(killedPath, 'cli-killed')], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig })));
  let done = false;
  void exited.then(() => { done = true; });
  while (!done && readCommits(killedPath) < 3) await sleep(5);
  if (!done) child.kill('SIGKILL');
  const outcome = await exited;
  assert.ok(outcome.signal === 'SIGKILL' || outcome.code === 0, JSON.stringify(outcome));
  const resumed = runCli(args(killedPath, 'cli-killed'));
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming evolution run evolution-\S+ \(epochs 1, 2\)/);
  assert.match(resumed.stdout, /^evolution run \S+: epochs 1, 2; 2 bad images skipped; 3 mosaics in /);
  const read = (path: string): unknown[] => {
    const db = new Database(path, { readonly: true });
    try {
      return readEntries(db, db.prepare("SELECT id FROM runs WHERE kind = 'evolution'").pluck().get() as string);
    } finally {
      db.close();
    }
  };
  assert.deepEqual(read(killedPath), read(refPath));
});
