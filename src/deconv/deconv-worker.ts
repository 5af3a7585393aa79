/**
 * A deconvnet worker thread: one single-threaded onnxruntime session per
 * deconv graph it was sent, running whole batches (src/deconv/deconv-sessions.ts).
 * session.run blocks its thread, so parallel batches need parallel threads.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { OnnxSessionOptions } from '../onnx/onnx-session.js';
import { runDeconvSession, type DeconvFeeds } from './deconv-feeds.js';
import { createThreadSessions } from './session-threads.js';

export type MainToDeconvWorker =
  | { type: 'graph'; key: string; bytes: Uint8Array; description: string }
  | { type: 'run'; id: number; key: string; feeds: DeconvFeeds }
  /** Release every session and end the thread (terminating it inside onnxruntime's native code can abort the process). */
  | { type: 'close' };

export type DeconvWorkerToMain =
  | { type: 'result'; id: number; activation: Float32Array; projection: Float32Array }
  | { type: 'failed'; id: number; message: string; usage: boolean };

const sessions = createThreadSessions(workerData as OnnxSessionOptions);
const port = parentPort!;

port.on('message', (message: MainToDeconvWorker) => {
  if (message.type === 'close') void sessions.closeAndEnd(port);
  else if (message.type === 'graph') sessions.add(message.key, message.bytes, message.description);
  else void runOne(message);
});

async function runOne(message: Extract<MainToDeconvWorker, { type: 'run' }>): Promise<void> {
  try {
    const out = await runDeconvSession(await sessions.get(message.key, 'deconv graph'), message.feeds);
    // Copies: onnxruntime's output buffers are not ours to transfer.
    const [activation, projection] = [out.activation.slice(), out.projection.slice()];
    port.postMessage({ type: 'result', id: message.id, activation, projection } satisfies DeconvWorkerToMain, [activation.buffer, projection.buffer] as ArrayBuffer[]);
  } catch (error) {
    const e = error as Error;
    port.postMessage({ type: 'failed', id: message.id, message: e.message, usage: e.name === 'UsageError' } satisfies DeconvWorkerToMain);
  }
}
