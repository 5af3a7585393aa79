/**
 * `npm run bench -- top-activations [--model=zfnet-small] [--batch=16] [--images=1000] [--large=20000]`
 *
 * 1. Throughput of the whole top-activations stage (decode, forward,
 *    reductions, heaps, statistics, commits) against a plain forward pass of
 *    the same model and batch size over the same input stream (decode
 *    included), so the cost of the analysis itself shows as a ratio.
 * 2. Peak RSS of the stage over `images` vs `large` images (each in a fresh
 *    child process): memory must not grow with the split.
 * The generated datasets live under out/bench-data (made once, reused).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { createBatchStream, prepareDataset } from '../pipelines/shared/input-stream.js';
import { runTopActivations } from '../pipelines/top-activations/top-activations.js';
import { listAnalysedLayers } from '../src/graph/analysed-layers.js';
import { lowerModelConfig } from '../src/graph/lower-model-config.js';
import { layerShapesOf } from '../src/topk/pass-state.js';
import { initBackend } from '../src/backend/select-backend.js';
import { createFallbackMean } from '../src/data/mean-image.js';
import { computeSquareSizePx } from '../src/data/crop-geometry.js';
import { buildModelConfig } from '../src/model/architectures.js';
import { forward } from '../src/model/network.js';
import { disposeParams, initParams } from '../src/model/params.js';
import { openStore } from '../src/store/open-store.js';
import type { TapName } from '../src/model/spec.js';
import { createCommitWriter, deleteTopActivationRun, insertTopActivationRun } from '../src/store/top-activations-store.js';
import { accumulateBatch, createPassState, type PassState } from '../src/topk/pass-state.js';
import { reduceConvTap } from '../src/topk/reduce-conv-tap.js';
import { writeTinyDataset } from '../test/pipelines/top-activations-fixture.js';
import type { BenchResult } from './bench-types.js';

interface ChildArgs { mode: 'stage' | 'forward'; data: string; db: string; model: string; batch: number }

function readFlag(args: string[], name: string, fallback: string): string {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
}

/** A dataset of `count` small PNGs in 10 class folders, made once. */
async function ensureBenchData(count: number): Promise<string> {
  const root = join('out', 'bench-data', `topact-${count}`);
  const marker = join(root, '.complete');
  if (!existsSync(marker)) {
    rmSync(root, { recursive: true, force: true });
    await writeTinyDataset(root, { classes: 10, perClass: count / 10, sizePx: 48 });
    mkdirSync(marker);
  }
  return root;
}

/** Plain forward pass over the same stream: decode, forward to conv5, dispose. */
async function runPlainForward(args: ChildArgs): Promise<number> {
  const db = openStore(args.db);
  await initBackend('auto', { log: () => {} });
  const { dataset } = await prepareDataset({ db, data: args.data, splits: ['val'], log: () => {} });
  const config = buildModelConfig(args.model);
  const params = initParams(config, 1);
  const stream = createBatchStream({
    db, dataset, split: 'val', inputSizePx: config.inputSizePx, order: 'sorted', batchSize: args.batch, crop: 'centre',
    meanImage: createFallbackMean(computeSquareSizePx(config.inputSizePx)),
  });
  let images = 0;
  for await (const batch of stream) {
    const input = tf.tensor4d(batch.pixels, batch.shape);
    const taps = forward(config, params, input, { taps: ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'] });
    await taps.conv5!.data();
    tf.dispose([input, ...Object.values(taps)]);
    images += batch.imageIds.length;
  }
  disposeParams(params);
  db.close();
  return images;
}

async function runChild(args: ChildArgs): Promise<void> {
  const started = performance.now();
  const images = args.mode === 'forward' ? await runPlainForward(args) : await runStage(args);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ images, seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
}

/** The whole stage, one forward thread, fresh run. */
async function runStage(args: ChildArgs): Promise<number> {
  const db = openStore(args.db);
  try {
    const result = await runTopActivations({
      db, data: args.data, split: 'val', model: args.model, initSeed: 1, layers: [1, 2, 3, 4, 5], topK: 9, batchSize: args.batch,
      commitEvery: 20, shard: { index: 0, count: 1 }, backend: 'auto', force: true, workers: 1, decodeConcurrency: 2, strict: false,
      resumeCommand: '', log: () => {},
    });
    return result.imagesProcessed;
  } finally {
    db.close();
  }
}

/**
 * In-process cost per batch of the analysis itself on random input: forward
 * (to conv5) vs reductions + heaps/statistics, and one commit of the whole
 * state to SQLite (paid every --commit-every batches). Less exposed to the
 * noise of a shared machine than whole-stage rates, since the parts alternate.
 */
async function measureAnalysisCost(model: string, batch: number): Promise<{ forwardMs: number; analysisMs: number; commitMs: number }> {
  await initBackend('auto', { log: () => {} });
  const config = buildModelConfig(model);
  const params = initParams(config, 1);
  const layers = [1, 2, 3, 4, 5];
  const analysed = listAnalysedLayers(lowerModelConfig(config), 'conv-index');
  const state = createPassState(layerShapesOf(analysed), 9);
  const input = tf.randomUniform([batch, config.inputSizePx, config.inputSizePx, 3], -120, 120, 'float32', 7) as tf.Tensor4D;
  const totals = { forwardMs: 0, analysisMs: 0 };
  const rounds = 4;
  for (let round = 0; round <= rounds; round++) {
    const t0 = performance.now();
    const taps = forward(config, params, input, { taps: layers.map((l) => `conv${l}` as TapName) });
    await taps.conv5!.data();
    const t1 = performance.now();
    const reductions = [];
    for (const l of layers) reductions.push(await reduceConvTap(l, taps[`conv${l}` as TapName]!, 'argmax'));
    const ids = Array.from({ length: batch }, (_, i) => round * batch + i);
    accumulateBatch(state, { imageIds: ids, labels: ids.map((i) => i % 10), paths: ids.map((i) => `img-${i}.png`) }, reductions);
    const t2 = performance.now();
    tf.dispose(Object.values(taps));
    if (round > 0) { totals.forwardMs += t1 - t0; totals.analysisMs += t2 - t1; }
  }
  const commitMs = measureCommitMs(state, model);
  input.dispose();
  disposeParams(params);
  return { forwardMs: totals.forwardMs / rounds, analysisMs: totals.analysisMs / rounds, commitMs };
}

/** Time of one commit of a whole pass state into a scratch store. */
function measureCommitMs(state: PassState, model: string): number {
  const db = openStore(join('out', 'bench-data', 'topact-commit.db'));
  const runId = `bench-${Date.now()}`;
  insertTopActivationRun(db, {
    runId, passKey: 'bench', weights: 'random-init:1', checkpointPath: null, checkpointSha256: null, model, modelConfig: buildModelConfig(model),
    datasetRoot: '', imageRoot: '', datasetFingerprint: '', split: 'val', preprocessing: {}, layers: state.layers.map((l) => l.layer), topK: state.k,
    shardIndex: 0, shardCount: 1, imagesTotal: 0, backend: null, backendInfo: null, options: {},
    analysedLayers: listAnalysedLayers(lowerModelConfig(buildModelConfig(model)), 'conv-index'),
  });
  const t0 = performance.now();
  createCommitWriter(db)(runId, state, { position: 0, imagesProcessed: 0, imagesSkipped: 0 }, []);
  const commitMs = performance.now() - t0;
  deleteTopActivationRun(db, runId);
  db.close();
  return commitMs;
}

/** Runs one measurement in a fresh child process; it prints JSON { images, seconds, maxRssMiB }. */
function measure(args: ChildArgs): { images: number; seconds: number; maxRssMiB: number } {
  rmSync(args.db, { force: true });
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), MEASURE_FLAG, JSON.stringify(args)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (child.status !== 0) throw new Error(`benchmark child failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { images: number; seconds: number; maxRssMiB: number };
}

export async function runBenchmark(args: string[]): Promise<BenchResult> {
  const model = readFlag(args, 'model', 'zfnet-small');
  const batch = Number(readFlag(args, 'batch', '16'));
  const small = Number(readFlag(args, 'images', '1000'));
  const large = Number(readFlag(args, 'large', '20000'));
  const smallData = await ensureBenchData(small);
  const base = { data: smallData, model, batch };
  // Forward first, then the stage, then forward again: the mean of the two forward runs offsets drift from the shared machine.
  const forward1 = measure({ ...base, mode: 'forward', db: join('out', 'bench-data', 'topact-forward.db') });
  const stage = measure({ ...base, mode: 'stage', db: join('out', 'bench-data', 'topact-stage.db') });
  const forward2 = measure({ ...base, mode: 'forward', db: join('out', 'bench-data', 'topact-forward.db') });
  const forwardRate = (forward1.images + forward2.images) / (forward1.seconds + forward2.seconds);
  const stageRate = stage.images / stage.seconds;
  const cost = await measureAnalysisCost(model, batch);
  const largeRun = measure({ data: await ensureBenchData(large), model, batch, mode: 'stage', db: join('out', 'bench-data', 'topact-large.db') });
  return {
    rows: [
      { name: `plain forward ${model} batch ${batch} (decode incl.)`, value: forwardRate, unit: 'img/s', peakRssMiB: Math.max(forward1.maxRssMiB, forward2.maxRssMiB) },
      { name: `top-activations stage ${model} batch ${batch}`, value: stageRate, unit: 'img/s', peakRssMiB: stage.maxRssMiB },
      { name: 'stage overhead vs plain forward', value: (forwardRate / stageRate - 1) * 100, unit: '%' },
      { name: `forward ${model} batch ${batch}, in process`, value: cost.forwardMs, unit: 'ms/batch' },
      { name: 'reductions + heaps + statistics, in process', value: cost.analysisMs, unit: 'ms/batch' },
      { name: 'one commit of the whole state', value: cost.commitMs, unit: 'ms' },
      { name: 'analysis overhead per batch (commit every 20)', value: ((cost.analysisMs + cost.commitMs / 20) / cost.forwardMs) * 100, unit: '%' },
      { name: `top-activations ${small} images peak RSS`, value: stage.maxRssMiB, unit: 'MiB' },
      { name: `top-activations ${large} images peak RSS`, value: largeRun.maxRssMiB, unit: 'MiB', extra: { imagesPerS: largeRun.images / largeRun.seconds } },
    ],
    notes: ['each figure is a fresh child process on the default backend with 1 forward thread; the machine is shared, compare ratios from one run'],
  };
}

const MEASURE_FLAG = '--topact-measure';
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url) && process.argv[2] === MEASURE_FLAG) {
  await runChild(JSON.parse(process.argv[3]!) as ChildArgs);
}
