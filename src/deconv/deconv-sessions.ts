/**
 * Where windowed deconvnet batches run on onnxruntime: either N worker
 * threads with one single-threaded session each (batches go to the least
 * loaded worker), or one in-process session with N intra-op threads. Both
 * take the graphs as encoded bytes, one per key (layer), loaded on first use.
 */
import type * as ort from 'onnxruntime-node';
import { UsageError } from '../errors.js';
import { createOnnxSession, type ExecutionProviderName } from '../onnx/onnx-session.js';
import { runDeconvSession, transferablesOf, type DeconvFeeds, type DeconvOutputs } from './deconv-feeds.js';
import type { DeconvWorkerToMain, MainToDeconvWorker } from './deconv-worker.js';
import { closeSessionThread, startSessionThread, type SessionThread } from './session-threads.js';

export interface DeconvSessions {
  /** Batches that can run at once. */
  readonly parallelism: number;
  /** Runs one batch; `graph` builds the encoded graph of `key` the first time it is needed. The feeds' buffers may be detached. */
  run(key: string, graph: () => { bytes: Uint8Array; description: string }, feeds: DeconvFeeds): Promise<DeconvOutputs>;
  close(): Promise<void>;
}

export interface DeconvSessionsOptions {
  executionProvider: ExecutionProviderName;
  /** 0: one in-process session with `threads` intra-op threads; else this many worker threads of one thread each. */
  workers: number;
  threads: number;
}

/** @throws RangeError naming the value when workers or threads are out of range */
export function createDeconvSessions(options: DeconvSessionsOptions): DeconvSessions {
  if (!Number.isInteger(options.workers) || options.workers < 0 || options.workers > 256) throw new RangeError(`Expected integer between 0 and 256 for workers but received ${options.workers}`);
  if (!Number.isInteger(options.threads) || options.threads < 1 || options.threads > 256) throw new RangeError(`Expected integer between 1 and 256 for threads but received ${options.threads}`);
  return options.workers === 0 ? inProcessSessions(options) : workerSessions(options);
}

function inProcessSessions(options: DeconvSessionsOptions): DeconvSessions {
  const sessions = new Map<string, Promise<ort.InferenceSession>>();
  let closed = false;
  return {
    parallelism: 1,
    async run(key, graph, feeds) {
      if (closed) throw new Error(CLOSED_MESSAGE);
      let session = sessions.get(key);
      if (session === undefined) {
        const { bytes, description } = graph();
        session = createOnnxSession(bytes, { executionProvider: options.executionProvider, intraOpThreads: options.threads }, { description });
        sessions.set(key, session);
      }
      return runDeconvSession(await session, feeds);
    },
    async close() {
      closed = true;
      for (const s of await Promise.allSettled(sessions.values())) if (s.status === 'fulfilled') await s.value.release();
      sessions.clear();
    },
  };
}

type PoolWorker = SessionThread<{ resolve: (o: DeconvOutputs) => void; reject: (e: Error) => void }>;

const CLOSED_MESSAGE = 'the deconv sessions were closed';

function startWorker(index: number, options: DeconvSessionsOptions): PoolWorker {
  return startSessionThread(new URL('./deconv-worker.js', import.meta.url), options.executionProvider, `deconv worker ${index}`, (worker: PoolWorker, message: DeconvWorkerToMain) => {
    const pending = worker.pending.get(message.id);
    if (pending === undefined) return;
    worker.pending.delete(message.id);
    if (message.type === 'result') pending.resolve({ activation: message.activation, projection: message.projection });
    else pending.reject(message.usage ? new UsageError(message.message) : new Error(`deconv worker ${index}: ${message.message}`));
  });
}

/** Asks the worker to release its sessions and end (terminated only when it does not). */
async function closeWorker(worker: PoolWorker): Promise<void> {
  worker.failure ??= new Error('closed');
  await closeSessionThread(worker.thread, worker.exited);
}

/** The threads start with the first batch (a rerun with nothing left to project starts none). */
function workerSessions(options: DeconvSessionsOptions): DeconvSessions {
  let workers: PoolWorker[] | null = null;
  let closed = false;
  const graphs = new Map<string, { bytes: Uint8Array; description: string }>();
  let nextId = 0;
  return {
    parallelism: options.workers,
    run(key, graph, feeds) {
      if (closed) return Promise.reject(new Error(CLOSED_MESSAGE));
      workers ??= Array.from({ length: options.workers }, (_, i) => startWorker(i, options));
      const worker = workers.filter((w) => w.failure === null).sort((a, b) => a.pending.size - b.pending.size)[0];
      if (worker === undefined) return Promise.reject(workers[0]?.failure ?? new Error('no deconv worker is running'));
      if (!graphs.has(key)) graphs.set(key, graph());
      if (!worker.keys.has(key)) {
        worker.thread.postMessage({ type: 'graph', key, ...graphs.get(key)! } satisfies MainToDeconvWorker);
        worker.keys.add(key);
      }
      const id = nextId++;
      return new Promise<DeconvOutputs>((resolve, reject) => {
        worker.pending.set(id, { resolve, reject });
        worker.thread.postMessage({ type: 'run', id, key, feeds } satisfies MainToDeconvWorker, transferablesOf(feeds));
      });
    },
    async close() {
      closed = true;
      const started = workers ?? [];
      workers = [];
      await Promise.all(started.map(closeWorker));
    },
  };
}
