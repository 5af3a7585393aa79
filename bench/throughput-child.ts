/**
 * Child process of `npm run bench -- throughput`: measures ONE case, so that
 * its peak RSS (getrusage maxRSS of this process, worker threads included)
 * belongs to that case alone. Prints one JSON line: ThroughputCaseResult.
 *
 * Usage: node throughput-child.js '<ThroughputCase as JSON>'
 *
 * Cases:
 * - forward: `batches` timed batches of random pixels (after one warm-up per
 *   worker) through a forward executor with the `logits` reducer: the plain
 *   forward rate with 1 (in-process or one pool worker) or N workers.
 * - top-activations: the real pipeline (decode, crop, forward, reductions,
 *   heaps, store commits) over a small and a large split of the same images;
 *   the rate is (large - small images) / (large - small seconds), so model
 *   loading and worker start-up, equal in both, cancel out (after one
 *   discarded warm-up pass over the small split).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, type BackendChoice } from '../src/backend/select-backend.js';
import { loadCheckpoint } from '../src/checkpoint/checkpoint-file.js';
import { disposeParams } from '../src/model/params.js';
import { openStore } from '../src/store/open-store.js';
import type { BatchPixels } from '../src/workers/batch-reducers.js';
import { createForwardExecutor, forEachForwardResult } from '../src/workers/forward-executor.js';
import { runTopActivations } from '../pipelines/top-activations.js';

export type ThroughputCase =
  | { kind: 'forward'; checkpoint: string; backend: BackendChoice; workers: number; inProcess: boolean; batchSize: number; batches: number }
  | { kind: 'top-activations'; checkpoint: string; backend: BackendChoice; workers: number; batchSize: number; data: string; smallSplit: string; largeSplit: string; dbDir: string };

export interface ThroughputCaseResult {
  imagesPerSecond: number;
  peakRssMiB: number;
  backend: string;
  detail: Record<string, number>;
}

const peakRssMiB = (): number => process.resourceUsage().maxRSS / 1024;

/** CPU seconds this process (all its threads, workers included) used since `start`. */
function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

function makeBatch(sizePx: number, batchSize: number, seed: number): BatchPixels {
  const pixels = new Float32Array(batchSize * sizePx * sizePx * 3); // [N, S, S, 3]
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.sin(i * 0.37 + seed) * 60;
  return { pixels, shape: [batchSize, sizePx, sizePx, 3] };
}

async function measureForward(c: Extract<ThroughputCase, { kind: 'forward' }>): Promise<ThroughputCaseResult> {
  const info = await initBackend(c.backend, { log: () => undefined });
  const { config, params } = loadCheckpoint(c.checkpoint);
  const pool = await createForwardExecutor({ workers: c.workers, forcePool: !c.inProcess, backend: c.backend, model: { kind: 'params', config, params } });
  try {
    const warmUp = Array.from({ length: Math.max(1, c.workers) }, (_, i) => makeBatch(config.inputSizePx, c.batchSize, i));
    await forEachForwardResult(warmUp, pool, { reducer: 'logits' }, () => undefined);
    const timed = Array.from({ length: c.batches }, (_, i) => makeBatch(config.inputSizePx, c.batchSize, 100 + i));
    const startMs = performance.now();
    const startCpu = process.cpuUsage();
    await forEachForwardResult(timed, pool, { reducer: 'logits' }, () => undefined);
    const seconds = (performance.now() - startMs) / 1000;
    const coresUsed = cpuSecondsSince(startCpu) / seconds;
    return { imagesPerSecond: (c.batches * c.batchSize) / seconds, peakRssMiB: peakRssMiB(), backend: info.name, detail: { seconds, images: c.batches * c.batchSize, coresUsed } };
  } finally {
    await pool.close();
    disposeParams(params);
  }
}

async function timePass(c: Extract<ThroughputCase, { kind: 'top-activations' }>, split: string): Promise<{ seconds: number; cpuSeconds: number; images: number }> {
  const dbPath = join(c.dbDir, `topact-${c.workers}-${split}-${process.pid}.db`);
  mkdirSync(c.dbDir, { recursive: true });
  const db = openStore(dbPath);
  try {
    const startMs = performance.now();
    const startCpu = process.cpuUsage();
    const result = await runTopActivations({
      db, data: c.data, split, checkpoint: c.checkpoint, initSeed: 1, layers: [1, 2, 3, 4, 5], topK: 9, batchSize: c.batchSize, commitEvery: 20,
      shard: { index: 0, count: 1 }, backend: c.backend, force: true, decodeConcurrency: 2, strict: false, workers: c.workers,
      resumeCommand: '', log: () => undefined,
    });
    return { seconds: (performance.now() - startMs) / 1000, cpuSeconds: cpuSecondsSince(startCpu), images: result.imagesProcessed };
  } finally {
    db.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
  }
}

async function measureTopActivations(c: Extract<ThroughputCase, { kind: 'top-activations' }>): Promise<ThroughputCaseResult> {
  const info = await initBackend(c.backend, { log: () => undefined });
  await timePass(c, c.smallSplit); // warm-up: first-use costs (JIT, wasm compilation caches) stay out of the difference
  const small = await timePass(c, c.smallSplit);
  const large = await timePass(c, c.largeSplit);
  const imagesPerSecond = (large.images - small.images) / (large.seconds - small.seconds);
  return {
    imagesPerSecond, peakRssMiB: peakRssMiB(), backend: info.name,
    detail: { coresUsed: (large.cpuSeconds - small.cpuSeconds) / (large.seconds - small.seconds), smallImages: small.images, smallSeconds: small.seconds, largeImages: large.images, largeSeconds: large.seconds, wholeRunImagesPerSecond: large.images / large.seconds },
  };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as ThroughputCase;
const result = spec.kind === 'forward' ? await measureForward(spec) : await measureTopActivations(spec);
process.stdout.write(`${JSON.stringify(result)}\n`);
