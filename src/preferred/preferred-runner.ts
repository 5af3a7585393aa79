/**
 * Where preferred-input batches run: N worker threads with one
 * single-threaded onnxruntime session per graph each (a batch goes to the
 * least loaded worker; the optimisation's own arithmetic runs in the worker
 * beside its session, so N workers keep N cores busy), or, with 0 workers,
 * one in-process session per graph with a thread per core (serve, tests).
 * Graphs come as encoded bytes, one per key, built on first use.
 */
import { availableParallelism } from 'node:os';
import type * as ort from 'onnxruntime-node';
import { closeSessionThread, startSessionThread, type SessionThread } from '../deconv/session-threads.js';
import { UsageError } from '../errors.js';
import { createOnnxSession, type ExecutionProviderName } from '../onnx/onnx-session.js';
import { runPreferredJob, type PreferredJob, type PreferredJobResult } from './preferred-job.js';
import type { MainToPreferredWorker, PreferredWorkerToMain } from './preferred-worker.js';

/** A graph by key, built when a runner first needs it. */
export interface GraphSource {
  key: string;
  build: () => { bytes: Uint8Array; description: string };
}

export interface PreferredRunner {
  /** Batches that run at once. */
  readonly parallelism: number;
  readonly description: string;
  /** Runs one batch; `onStep` hears each optimisation step. */
  run(graphs: { gradient: GraphSource; measure: GraphSource }, job: PreferredJob, onStep?: (done: number) => void): Promise<PreferredJobResult>;
  close(): Promise<void>;
}

export interface PreferredRunnerOptions {
  executionProvider: ExecutionProviderName;
  /** 0: in-process sessions with a thread per core; default one worker per core. */
  workers?: number;
}

const CLOSED_MESSAGE = 'the preferred-inputs sessions were closed';

/** @throws RangeError naming the value when workers is out of range */
export function createPreferredRunner(options: PreferredRunnerOptions): PreferredRunner {
  const cores = availableParallelism();
  const workers = options.workers ?? cores;
  if (!Number.isInteger(workers) || workers < 0 || workers > 256) throw new RangeError(`Expected integer between 0 and 256 for workers but received ${workers}`);
  return workers === 0 ? inProcessRunner(options.executionProvider, cores) : workerRunner(options.executionProvider, workers);
}

function inProcessRunner(executionProvider: ExecutionProviderName, threads: number): PreferredRunner {
  const sessions = new Map<string, Promise<ort.InferenceSession>>();
  let closed = false;
  const sessionOf = (graph: GraphSource): Promise<ort.InferenceSession> => {
    let session = sessions.get(graph.key);
    if (session === undefined) {
      const { bytes, description } = graph.build();
      session = createOnnxSession(bytes, { executionProvider, intraOpThreads: threads }, { description });
      session.catch(() => undefined);
      sessions.set(graph.key, session);
    }
    return session;
  };
  return {
    parallelism: 1,
    description: `1 in-process session x ${threads} intra-op threads`,
    async run(graphs, job, onStep) {
      if (closed) throw new Error(CLOSED_MESSAGE);
      return runPreferredJob({ gradient: await sessionOf(graphs.gradient), measure: await sessionOf(graphs.measure) }, job, onStep);
    },
    async close() {
      closed = true;
      for (const s of await Promise.allSettled(sessions.values())) if (s.status === 'fulfilled') await s.value.release();
      sessions.clear();
    },
  };
}

interface Pending {
  resolve: (result: PreferredJobResult) => void;
  reject: (error: Error) => void;
  onStep?: (done: number) => void;
}

type PoolWorker = SessionThread<Pending>;

function startWorker(index: number, executionProvider: ExecutionProviderName): PoolWorker {
  return startSessionThread(new URL('./preferred-worker.js', import.meta.url), executionProvider, `preferred-inputs worker ${index}`, (worker: PoolWorker, message: PreferredWorkerToMain) => {
    const pending = worker.pending.get(message.id);
    if (pending === undefined) return;
    if (message.type === 'step') return pending.onStep?.(message.done);
    worker.pending.delete(message.id);
    if (message.type === 'result') pending.resolve(message.result);
    else pending.reject(message.usage ? new UsageError(message.message) : new Error(`preferred-inputs worker ${index}: ${message.message}`));
  });
}

/** Asks the worker to release its sessions and end (terminated only when it does not). */
async function closeWorker(worker: PoolWorker): Promise<void> {
  worker.failure ??= new Error('closed');
  await closeSessionThread(worker.thread, worker.exited);
}

/** Threads start with the first batch (a resumed run with nothing left starts none). */
function workerRunner(executionProvider: ExecutionProviderName, count: number): PreferredRunner {
  let workers: PoolWorker[] | null = null;
  let closed = false;
  const built = new Map<string, { bytes: Uint8Array; description: string }>();
  let nextId = 0;
  const send = (worker: PoolWorker, graph: GraphSource): void => {
    if (worker.keys.has(graph.key)) return;
    if (!built.has(graph.key)) built.set(graph.key, graph.build());
    worker.thread.postMessage({ type: 'graph', key: graph.key, ...built.get(graph.key)! } satisfies MainToPreferredWorker);
    worker.keys.add(graph.key);
  };
  return {
    parallelism: count,
    description: `${count} worker thread${count === 1 ? '' : 's'} x 1-thread sessions`,
    run(graphs, job, onStep) {
      if (closed) return Promise.reject(new Error(CLOSED_MESSAGE));
      workers ??= Array.from({ length: count }, (_, i) => startWorker(i, executionProvider));
      const worker = workers.filter((w) => w.failure === null).sort((a, b) => a.pending.size - b.pending.size)[0];
      if (worker === undefined) return Promise.reject(workers[0]?.failure ?? new Error('no preferred-inputs worker is running'));
      send(worker, graphs.gradient);
      send(worker, graphs.measure);
      const id = nextId++;
      return new Promise<PreferredJobResult>((resolve, reject) => {
        worker.pending.set(id, { resolve, reject, onStep });
        worker.thread.postMessage({ type: 'run', id, gradientKey: graphs.gradient.key, measureKey: graphs.measure.key, job } satisfies MainToPreferredWorker);
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
