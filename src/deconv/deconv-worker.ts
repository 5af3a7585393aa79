/**
 * A deconvnet worker thread: one single-threaded onnxruntime session per
 * deconv graph it was sent, running whole batches (src/deconv/deconv-sessions.ts).
 * session.run blocks its thread, so parallel batches need parallel threads.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import { createOnnxSession, type OnnxSessionOptions } from '../onnx/onnx-session.js';
import { runDeconvSession, type DeconvFeeds } from './deconv-feeds.js';

export type MainToDeconvWorker =
  | { type: 'graph'; key: string; bytes: Uint8Array; description: string }
  | { type: 'run'; id: number; key: string; feeds: DeconvFeeds }
  /** Release every session and end the thread (terminating it inside onnxruntime's native code can abort the process). */
  | { type: 'close' };

export type DeconvWorkerToMain =
  | { type: 'result'; id: number; activation: Float32Array; projection: Float32Array }
  | { type: 'failed'; id: number; message: string; usage: boolean };

const options = workerData as OnnxSessionOptions;
const sessions = new Map<string, Promise<ort.InferenceSession>>();
const port = parentPort!;

port.on('message', (message: MainToDeconvWorker) => {
  if (message.type === 'close') {
    void closeSessions();
    return;
  }
  if (message.type === 'graph') {
    const session = createOnnxSession(message.bytes, options, { description: message.description });
    session.catch(() => undefined); // reported by the run that awaits it
    sessions.set(message.key, session);
    return;
  }
  void runOne(message);
});

async function runOne(message: Extract<MainToDeconvWorker, { type: 'run' }>): Promise<void> {
  try {
    const session = sessions.get(message.key);
    if (session === undefined) throw new Error(`no deconv graph ${message.key} was sent to this worker`);
    const out = await runDeconvSession(await session, message.feeds);
    // Copies: onnxruntime's output buffers are not ours to transfer.
    const [activation, projection] = [out.activation.slice(), out.projection.slice()];
    port.postMessage({ type: 'result', id: message.id, activation, projection } satisfies DeconvWorkerToMain, [activation.buffer, projection.buffer] as ArrayBuffer[]);
  } catch (error) {
    const e = error as Error;
    port.postMessage({ type: 'failed', id: message.id, message: e.message, usage: e.name === 'UsageError' } satisfies DeconvWorkerToMain);
  }
}

/** Waits for sessions still being created, releases them all, then closes the port so the thread ends by itself. */
async function closeSessions(): Promise<void> {
  for (const s of await Promise.allSettled(sessions.values())) if (s.status === 'fulfilled') await s.value.release().catch(() => undefined);
  sessions.clear();
  port.close();
}
