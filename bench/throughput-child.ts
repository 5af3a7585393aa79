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
 * - forward with `reducer: 'top-activations'`: conv1..conv5 and their per-unit
 *   reductions only (what a top-activations pass computes; the onnx engine
 *   reduces inside its graph), the work PyTorch's conv1-conv5 row times;
 *   `intraOpThreads` (onnx, in-process) runs one session with that many threads;
 *   `lrn` (onnx) picks the LRN form.
 * - startup: model load (checkpoint read and hash), engine start, executor and
 *   sessions (one 1-image batch per worker), the time before the first batch.
 * - top-activations: the real pipeline (decode, crop, forward, reductions,
 *   heaps, store commits) over a split, timed from its first progress line
 *   (after the first batch) to its last: model loading, worker start-up and
 *   the first batch's one-time costs stay out, the final commit stays in.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, type BackendChoice } from '../src/backend/select-backend.js';
import { loadCheckpoint } from '../src/checkpoint/checkpoint-file.js';
import { disposeParams } from '../src/model/params.js';
import { openStore } from '../src/store/open-store.js';
import type { BatchPixels } from '../src/workers/batch-reducers.js';
import { createForwardExecutor, forEachForwardResult } from '../src/workers/forward-executor.js';
import { runTopActivations } from '../pipelines/top-activations/top-activations.js';
import type { LrnForm } from '../src/onnx/forward-graphs.js';

export type ThroughputCase =
  | {
    kind: 'forward'; checkpoint: string; backend: BackendChoice; workers: number; inProcess: boolean; batchSize: number; batches: number;
    reducer?: 'logits' | 'top-activations'; intraOpThreads?: number; lrn?: LrnForm;
  }
  | { kind: 'startup'; checkpoint: string; backend: BackendChoice; workers: number; batchSize: number }
  | { kind: 'top-activations'; checkpoint: string; backend: BackendChoice; workers: number; batchSize: number; data: string; split: string; dbDir: string };

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
  const info = await initBackend(c.backend, { log: () => undefined, purpose: 'inference' });
  const { config, params } = loadCheckpoint(c.checkpoint);
  const pool = await createForwardExecutor({
    workers: c.workers, forcePool: !c.inProcess, backend: c.backend, model: { kind: 'params', config, params }, graphCacheDir: null,
    ...(c.intraOpThreads === undefined ? {} : { intraOpThreads: c.intraOpThreads }), ...(c.lrn === undefined ? {} : { lrn: c.lrn }),
  });
  const request = c.reducer === 'top-activations' ? { reducer: 'top-activations' as const, layers: [1, 2, 3, 4, 5] } : { reducer: 'logits' as const };
  try {
    const warmUp = Array.from({ length: Math.max(1, c.workers) }, (_, i) => makeBatch(config.inputSizePx, c.batchSize, i));
    await forEachForwardResult(warmUp, pool, request, () => undefined);
    const timed = Array.from({ length: c.batches }, (_, i) => makeBatch(config.inputSizePx, c.batchSize, 100 + i));
    const startMs = performance.now();
    const startCpu = process.cpuUsage();
    await forEachForwardResult(timed, pool, request, () => undefined);
    const seconds = (performance.now() - startMs) / 1000;
    const coresUsed = cpuSecondsSince(startCpu) / seconds;
    return { imagesPerSecond: (c.batches * c.batchSize) / seconds, peakRssMiB: peakRssMiB(), backend: info.name, detail: { seconds, images: c.batches * c.batchSize, coresUsed } };
  } finally {
    await pool.close();
    disposeParams(params);
  }
}

/** Seconds from nothing to an executor that has run one batch per worker (graphs built, sessions created). */
async function measureStartup(c: Extract<ThroughputCase, { kind: 'startup' }>): Promise<ThroughputCaseResult> {
  const startMs = performance.now();
  const info = await initBackend(c.backend, { log: () => undefined, purpose: 'inference' });
  const engineMs = performance.now();
  const { config, params, sha256 } = loadCheckpoint(c.checkpoint);
  const loadedMs = performance.now();
  const pool = await createForwardExecutor({ workers: c.workers, backend: c.backend, model: { kind: 'params', config, params, sha256 }, graphCacheDir: null });
  try {
    const first = Array.from({ length: Math.max(1, c.workers) }, (_, i) => makeBatch(config.inputSizePx, 1, i));
    await forEachForwardResult(first, pool, { reducer: 'top-activations', layers: [1, 2, 3, 4, 5] }, () => undefined);
    const seconds = (performance.now() - startMs) / 1000;
    return {
      imagesPerSecond: seconds, peakRssMiB: peakRssMiB(), backend: info.name,
      detail: { seconds, engineSeconds: (engineMs - startMs) / 1000, checkpointSeconds: (loadedMs - engineMs) / 1000, sessionsSeconds: (performance.now() - loadedMs) / 1000 },
    };
  } finally {
    await pool.close();
    disposeParams(params);
  }
}

/** A progress line of the pass: when, how many images done, CPU used so far. */
interface Tick { ms: number; images: number; cpu: NodeJS.CpuUsage }

/**
 * Watches the pass's progress lines on stderr (printed after the first batch,
 * every 5 s, and at the end) and keeps them, time-stamped, instead of printing.
 * Returns the function that restores stderr.
 */
function captureProgress(ticks: Tick[]): () => void {
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    for (const line of String(chunk).split('\n')) {
      const m = /^top-activations \S+ (\d+)\//.exec(line);
      if (m !== null) ticks.push({ ms: performance.now(), images: Number(m[1]), cpu: process.cpuUsage() });
    }
    return true;
  }) as typeof process.stderr.write;
  return () => { process.stderr.write = write; };
}

async function measureTopActivations(c: Extract<ThroughputCase, { kind: 'top-activations' }>): Promise<ThroughputCaseResult> {
  const info = await initBackend(c.backend, { log: () => undefined, purpose: 'inference' });
  const dbPath = join(c.dbDir, `topact-${c.workers}-${process.pid}.db`);
  mkdirSync(c.dbDir, { recursive: true });
  const db = openStore(dbPath);
  const ticks: Tick[] = [];
  const restore = captureProgress(ticks);
  const startMs = performance.now();
  try {
    await runTopActivations({
      db, data: c.data, split: c.split, checkpoint: c.checkpoint, initSeed: 1, layers: [1, 2, 3, 4, 5], topK: 9, batchSize: c.batchSize, commitEvery: 20,
      shard: { index: 0, count: 1 }, backend: c.backend, force: true, decodeConcurrency: 2, strict: false, workers: c.workers,
      resumeCommand: '', log: () => undefined,
    });
  } finally {
    restore();
    db.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
  }
  const [first, last] = [ticks[0], ticks.at(-1)];
  if (first === undefined || last === undefined || last.images <= first.images) throw new Error(`too few progress lines to time the pass (${ticks.length}); use a larger split`);
  const seconds = (last.ms - first.ms) / 1000;
  const cpuSeconds = (last.cpu.user + last.cpu.system - first.cpu.user - first.cpu.system) / 1e6;
  return {
    imagesPerSecond: (last.images - first.images) / seconds, peakRssMiB: peakRssMiB(), backend: info.name,
    detail: { coresUsed: cpuSeconds / seconds, timedImages: last.images - first.images, timedSeconds: seconds, wholeRunSeconds: (performance.now() - startMs) / 1000 },
  };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as ThroughputCase;
const CASES = { forward: measureForward, startup: measureStartup, 'top-activations': measureTopActivations } as const;
const result = await (CASES[spec.kind] as (c: ThroughputCase) => Promise<ThroughputCaseResult>)(spec);
process.stdout.write(`${JSON.stringify(result)}\n`);
