/**
 * A pool of forward worker threads. tfjs-backend-wasm computes on one thread
 * in Node, so the only way to keep every core busy is several backends: each
 * worker has its own, holds its own copy of the model, and runs whole
 * batches. The onnx engine uses the same pool with one single-threaded
 * onnxruntime session per worker (measured faster than one session with N
 * intra-op threads, and session.run keeps the main thread free for decoding). Batches go to the least loaded worker; each worker holds at most
 * `inFlightPerWorker` batches, and `run` waits for a free slot, which is the
 * backpressure that keeps the input stream from racing ahead.
 */
import { Worker } from 'node:worker_threads';
import type { BackendChoice, BackendInfo } from '../backend/select-backend.js';
import type { BatchPixels, ForwardRequest, ForwardResultOf } from './batch-reducers.js';
import { rebuildWorkerError, type ForwardWorkerData, type WorkerModelSource, type WorkerToMain } from './worker-protocol.js';

export interface ForwardPoolOptions {
  workers: number;
  backend: BackendChoice;
  model: WorkerModelSource;
  /** The engine each worker starts (default tfjs with `backend`). */
  engine?: ForwardWorkerData['engine'];
  onnx?: ForwardWorkerData['onnx'];
  /** Batches queued per worker, including the one it runs (default 2: the next is ready when one ends). */
  inFlightPerWorker?: number;
}

/** What the pool needs to know about a batch it handed to a worker. */
interface Pending {
  batchIndex: number;
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
}

interface PoolWorker {
  index: number;
  thread: Worker;
  pending: Map<number, Pending>;
  /** Set once the thread stopped or failed; later batches are refused. */
  failure: Error | null;
}

export interface ForwardPool {
  readonly workerCount: number;
  /** Batches in flight at most (workers x inFlightPerWorker). */
  readonly capacity: number;
  /** What each worker's backend reported. */
  readonly backends: BackendInfo[];
  /**
   * Runs one batch on some worker. The batch's pixel buffer is transferred:
   * afterwards `batch.pixels` is detached (length 0).
   * @throws Error naming the worker and the batch when the worker fails on it or stops.
   */
  run<R extends ForwardRequest>(batch: BatchPixels, request: R): Promise<ForwardResultOf<R>>;
  /** Terminates every worker; pending batches reject. Safe to call twice. */
  close(): Promise<void>;
}

function failWorker(worker: PoolWorker, error: Error): void {
  worker.failure ??= error;
  for (const pending of worker.pending.values()) {
    pending.reject(new Error(`forward worker ${worker.index} stopped while running batch ${pending.batchIndex}: ${error.message}`));
  }
  worker.pending.clear();
}

function handleMessage(worker: PoolWorker, message: WorkerToMain): void {
  if (message.type !== 'result' && message.type !== 'batch-failed') return;
  const pending = worker.pending.get(message.batchIndex);
  if (pending === undefined) return;
  worker.pending.delete(message.batchIndex);
  if (message.type === 'result') pending.resolve(message.result);
  else pending.reject(rebuildWorkerError(`forward worker ${worker.index} failed on batch ${message.batchIndex}`, message.error));
}

function startWorker(index: number, options: ForwardPoolOptions): { worker: PoolWorker; ready: Promise<BackendInfo> } {
  const data: ForwardWorkerData = { workerIndex: index, backend: options.backend, model: options.model, engine: options.engine ?? 'tfjs', ...(options.onnx === undefined ? {} : { onnx: options.onnx }) };
  const thread = new Worker(new URL('./forward-worker.js', import.meta.url), { workerData: data });
  const worker: PoolWorker = { index, thread, pending: new Map(), failure: null };
  const ready = new Promise<BackendInfo>((resolve, reject) => {
    thread.on('message', (message: WorkerToMain) => {
      if (message.type === 'ready') resolve(message.backend);
      else if (message.type === 'init-failed') reject(rebuildWorkerError(`forward worker ${index} failed to start`, message.error));
      else handleMessage(worker, message);
    });
    thread.on('error', (error) => {
      reject(new Error(`forward worker ${index} failed to start: ${error.message}`));
      failWorker(worker, error);
    });
    thread.on('exit', (code) => {
      reject(new Error(`forward worker ${index} exited with code ${code} before it was ready`));
      failWorker(worker, new Error(`exited with code ${code}`));
    });
  });
  return { worker, ready };
}

/**
 * Starts `workers` threads and waits until each has its backend and model.
 * @throws UsageError (or Error) naming the worker that failed to start; the others are terminated.
 */
export async function createForwardPool(options: ForwardPoolOptions): Promise<ForwardPool> {
  const perWorker = options.inFlightPerWorker ?? 2;
  const started = Array.from({ length: options.workers }, (_, i) => startWorker(i + 1, options));
  const workers = started.map((s) => s.worker);
  const close = async (): Promise<void> => {
    for (const worker of workers) failWorker(worker, new Error('the pool was closed'));
    await Promise.all(workers.map((w) => w.thread.terminate()));
  };
  let backends: BackendInfo[];
  try {
    backends = await Promise.all(started.map((s) => s.ready));
  } catch (error) {
    // the others finish starting first: a thread terminated while onnxruntime initialises can abort the process
    await Promise.allSettled(started.map((s) => s.ready));
    await close();
    throw error;
  }
  return createPoolHandle(workers, backends, perWorker, close);
}

function createPoolHandle(workers: PoolWorker[], backends: BackendInfo[], perWorker: number, close: () => Promise<void>): ForwardPool {
  let nextBatchIndex = 0;
  const waiters: Array<() => void> = [];
  const wakeOne = (): void => { waiters.shift()?.(); };
  const pickWorker = (): PoolWorker | null => {
    let best: PoolWorker | null = null;
    for (const w of workers) if (w.failure === null && w.pending.size < perWorker && (best === null || w.pending.size < best.pending.size)) best = w;
    return best;
  };
  async function run<R extends ForwardRequest>(batch: BatchPixels, request: R): Promise<ForwardResultOf<R>> {
    const batchIndex = nextBatchIndex++;
    let worker = pickWorker();
    while (worker === null) {
      const broken = workers.find((w) => w.failure !== null);
      if (broken !== undefined) throw new Error(`forward worker ${broken.index} cannot take batch ${batchIndex}: ${broken.failure!.message}`);
      await new Promise<void>((resolve) => waiters.push(resolve));
      worker = pickWorker();
    }
    const target = worker;
    const pixels = transferablePixels(batch.pixels);
    const result = new Promise<unknown>((resolve, reject) => target.pending.set(batchIndex, { batchIndex, resolve, reject }));
    target.thread.postMessage({ type: 'batch', batchIndex, batch: { pixels, shape: batch.shape }, request }, pixels.buffer instanceof ArrayBuffer ? [pixels.buffer] : []);
    try {
      return (await result) as ForwardResultOf<R>;
    } finally {
      wakeOne();
    }
  }
  return {
    workerCount: workers.length,
    capacity: workers.length * perWorker,
    backends,
    run,
    async close() {
      await close();
      while (waiters.length > 0) wakeOne();
    },
  };
}

/** The array itself when it owns its whole buffer (transfer it), else a copy that does. */
function transferablePixels(pixels: Float32Array): Float32Array {
  const ownsBuffer = pixels.buffer instanceof ArrayBuffer && pixels.byteOffset === 0 && pixels.byteLength === pixels.buffer.byteLength;
  return ownsBuffer ? pixels : pixels.slice();
}
