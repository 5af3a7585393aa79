/**
 * What every worker thread that holds onnxruntime sessions by key shares
 * (the deconvnet's, src/deconv/deconv-worker.ts, and preferred inputs',
 * src/preferred/preferred-worker.ts), on both sides of the thread boundary:
 * - in the thread: sessions created from the graphs the main thread sends,
 *   looked up by key, and the ending: release every session, then close the
 *   port so the thread ends by itself (terminating a thread inside
 *   onnxruntime's native code can abort the process);
 * - in the main thread: asking a thread to end that way, terminating it only
 *   when it has not ended after a timeout.
 */
import { Worker, type MessagePort } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import { createOnnxSession, type OnnxSessionOptions } from '../onnx/onnx-session.js';

/** The thread side: sessions by key. */
export interface ThreadSessions {
  /** Starts creating the session of `key` from encoded bytes (a failure is reported by whoever awaits it). */
  add(key: string, bytes: Uint8Array, description: string): void;
  /** @throws Error when no graph of that key was sent */
  get(key: string, what: string): Promise<ort.InferenceSession>;
  /** Waits for sessions still being created, releases them all, then closes `port`. */
  closeAndEnd(port: MessagePort): Promise<void>;
}

export function createThreadSessions(options: OnnxSessionOptions): ThreadSessions {
  const sessions = new Map<string, Promise<ort.InferenceSession>>();
  return {
    add(key, bytes, description) {
      const session = createOnnxSession(bytes, options, { description });
      session.catch(() => undefined); // reported by the run that awaits it
      sessions.set(key, session);
    },
    async get(key, what) {
      const session = sessions.get(key);
      if (session === undefined) throw new Error(`no ${what} ${key} was sent to this worker`);
      return session;
    },
    async closeAndEnd(port) {
      for (const s of await Promise.allSettled(sessions.values())) if (s.status === 'fulfilled') await s.value.release().catch(() => undefined);
      sessions.clear();
      port.close();
    },
  };
}

/** How long a closing worker may take to release its sessions before it is terminated. */
export const CLOSE_TIMEOUT_MS = 30_000;

/** Posts `{ type: 'close' }` and waits for the thread to end (`exited`); terminates it only if it has not ended after CLOSE_TIMEOUT_MS. */
export async function closeSessionThread(thread: Worker, exited: Promise<void>): Promise<void> {
  thread.postMessage({ type: 'close' });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), CLOSE_TIMEOUT_MS); });
  const outcome = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (outcome === 'late') await thread.terminate();
}

/** A started session thread, with the batches it runs by id. */
export interface SessionThread<P extends { reject: (error: Error) => void }> {
  thread: Worker;
  /** Graph keys sent to it. */
  keys: Set<string>;
  pending: Map<number, P>;
  /** Set once the thread stopped or failed; later batches go elsewhere. */
  failure: Error | null;
  /** Settles when the thread has ended. */
  exited: Promise<void>;
}

/**
 * Starts the worker script `url` with one-thread sessions of `executionProvider`;
 * its messages go to `onMessage`; when it fails or exits, every pending batch is
 * rejected with "<label> stopped: <reason>".
 */
export function startSessionThread<P extends { reject: (error: Error) => void }, M>(url: URL, executionProvider: OnnxSessionOptions['executionProvider'], label: string, onMessage: (worker: SessionThread<P>, message: M) => void): SessionThread<P> {
  const thread = new Worker(url, { workerData: { executionProvider, intraOpThreads: 1 } satisfies OnnxSessionOptions });
  let markExited = (): void => undefined;
  const worker: SessionThread<P> = { thread, keys: new Set(), pending: new Map(), failure: null, exited: new Promise<void>((resolve) => { markExited = resolve; }) };
  const fail = (error: Error): void => {
    worker.failure ??= error;
    for (const p of worker.pending.values()) p.reject(new Error(`${label} stopped: ${error.message}`));
    worker.pending.clear();
  };
  thread.on('message', (message: M) => onMessage(worker, message));
  thread.on('error', fail);
  thread.on('exit', (code) => {
    fail(new Error(`exited with code ${code}`));
    markExited();
  });
  return worker;
}
