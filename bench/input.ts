/**
 * `npm run bench -- input`: decode + augment images/s of the input stages at
 * decode concurrency 1, 2 and the default, on the sample dataset (at
 * zfnet-small's 112 px) and on generated ImageNet-sized 500x375 JPEGs (at 224
 * px); peak RSS of a 1,000- and a 20,000-image pass (child processes); and,
 * for the ratio the issue asks for, full zfnet's wasm forward images/s
 * measured in the same run (skip with --no-forward).
 * Data is generated once under out/bench-data (not in git).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/select-backend.js';
import { computeSquareSizePx } from '../src/data/crop-geometry.js';
import { createFallbackMean } from '../src/data/mean-image.js';
import { DEFAULT_SAMPLE_DIR, ensureSampleData } from '../src/data/sample-data.js';
import { renderSampleImage, SAMPLE_PATTERNS } from '../src/data/sample-patterns.js';
import { createRng } from '../src/data/seeded-rng.js';
import { buildModelConfig } from '../src/model/architectures.js';
import { forward } from '../src/model/network.js';
import { disposeParams, initParams } from '../src/model/params.js';
import { openStore, type Store } from '../src/store/open-store.js';
import { createBatchStream, prepareDataset } from '../pipelines/shared/input-stream.js';
import type { BenchResult, BenchRow } from './bench-types.js';

const BENCH_DIR = join('out', 'bench-data');

/** 96 ImageNet-sized (500x375) JPEGs of the sample patterns, 8 classes, written once. */
async function ensureImagenetSized(): Promise<string> {
  const root = join(BENCH_DIR, 'imagenet-sized');
  if (existsSync(join(root, '.complete'))) return root;
  for (let i = 0; i < 96; i++) {
    const pattern = SAMPLE_PATTERNS[i % 8]!;
    const canvas = renderSampleImage(pattern, 500, 375, createRng(i + 1));
    const rgb = new Uint8Array(canvas.data.length);
    rgb.set(canvas.data);
    mkdirSync(join(root, 'train', pattern.wnid), { recursive: true });
    await sharp(rgb, { raw: { width: 500, height: 375, channels: 3 } }).jpeg({ quality: 90 }).toFile(join(root, 'train', pattern.wnid, `${i}.JPEG`));
  }
  writeFileSync(join(root, '.complete'), '');
  return root;
}

/** 20,000 small JPEGs in 20 class folders (64 distinct noisy images, copied), written once. */
async function ensureManySmall(): Promise<string> {
  const root = join(BENCH_DIR, 'many-small');
  if (existsSync(join(root, '.complete'))) return root;
  const images = await Promise.all(Array.from({ length: 64 }, (_, i) => sharp({ create: { width: 96 + i, height: 72 + (i % 9) * 4, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 64 + 2 * i, sigma: 40 } } }).jpeg().toBuffer()));
  for (let c = 0; c < 20; c++) {
    const dir = join(root, 'train', `c${String(c).padStart(2, '0')}`);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 1000; i++) writeFileSync(join(dir, `${i}.jpg`), images[(c * 1000 + i) % 64]!);
  }
  writeFileSync(join(root, '.complete'), '');
  return root;
}

/** Images/s of one pass over `limit` images (paper crops, fallback mean). */
async function measureInput(db: Store, root: string, inputSizePx: number, concurrency: number, limit: number): Promise<number> {
  const { dataset } = await prepareDataset({ db, data: root, splits: ['train'], log: () => {} });
  const run = async (n: number): Promise<number> => {
    const startMs = performance.now();
    let images = 0;
    for await (const batch of createBatchStream({
      db, dataset, split: 'train', inputSizePx, crop: 'paper', seed: 1, epoch: 0, batchSize: 32, limit: n,
      meanImage: createFallbackMean(computeSquareSizePx(inputSizePx)), decodeConcurrency: concurrency,
    })) images += batch.imageIds.length;
    return images / ((performance.now() - startMs) / 1000);
  };
  await run(Math.min(32, limit));
  return run(limit);
}

/** Full zfnet forward images/s on wasm, batch 8 (1 warm-up, 2 timed). */
async function measureForward(): Promise<number> {
  await initBackend('wasm');
  const config = buildModelConfig('zfnet');
  const params = initParams(config, 1);
  const input = tf.randomNormal([8, 224, 224, 3], 0, 60) as tf.Tensor4D;
  try {
    const step = async (): Promise<void> => { const out = forward(config, params, input, { taps: ['logits'] }); await out.logits!.data(); out.logits!.dispose(); };
    await step();
    const startMs = performance.now();
    for (let i = 0; i < 2; i++) await step();
    return (2 * 8) / ((performance.now() - startMs) / 1000);
  } finally { input.dispose(); disposeParams(params); }
}

/** Runs the RSS child over `limit` images and returns its report. */
function measurePassRss(root: string, limit: number): { images: number; seconds: number; peakRssMiB: number; startRssMiB: number } {
  const child = join(dirname(fileURLToPath(import.meta.url)), 'input-rss-child.js');
  const out = execFileSync(process.execPath, [child, resolve(root), resolve(BENCH_DIR, `rss-${limit}.db`), String(limit), '112'], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!) as { images: number; seconds: number; peakRssMiB: number; startRssMiB: number };
}

export async function runBenchmark(args: string[]): Promise<BenchResult> {
  mkdirSync(BENCH_DIR, { recursive: true });
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const sample = (await ensureSampleData(DEFAULT_SAMPLE_DIR)).dir;
  const big = await ensureImagenetSized();
  const db = openStore(join(BENCH_DIR, 'speed.db'));
  const defaultLevel = Math.max(1, availableParallelism());
  const levels = [...new Set([1, 2, defaultLevel])];
  const label = (c: number): string => (c === defaultLevel ? `${c} (default)` : String(c));
  let bestImagenet = 0;
  for (const concurrency of levels) {
    const sampleRate = await measureInput(db, sample, 112, concurrency, 256);
    rows.push({ name: `input sample-data 112px paper crops, decode concurrency ${label(concurrency)}`, value: sampleRate, unit: 'images/s' });
    const bigRate = await measureInput(db, big, 224, concurrency, 96);
    bestImagenet = Math.max(bestImagenet, bigRate);
    rows.push({ name: `input 500x375 JPEG 224px paper crops, decode concurrency ${label(concurrency)}`, value: bigRate, unit: 'images/s' });
  }
  db.close();
  const manySmall = await ensureManySmall();
  for (const limit of [1000, 20000]) {
    const r = measurePassRss(manySmall, limit);
    rows.push({ name: `input pass over ${r.images} images (112px), rss at start ${r.startRssMiB.toFixed(0)} MiB`, value: r.images / r.seconds, unit: 'images/s', peakRssMiB: r.peakRssMiB });
  }
  if (!args.includes('--no-forward')) {
    const forwardRate = await measureForward();
    rows.push({ name: 'forward zfnet 224 wasm batch 8 (for the ratio)', value: forwardRate, unit: 'images/s' });
    notes.push(`input (500x375 JPEG, 224 px, best concurrency) / zfnet wasm forward = ${(bestImagenet / forwardRate).toFixed(1)}x (target >= 3x)`);
  }
  notes.push(`machine: ${availableParallelism()} cores; default decode concurrency = core count; numbers are noisy on a shared machine`);
  return { rows, notes };
}
