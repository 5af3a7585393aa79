/**
 * A preferred-inputs worker thread: single-threaded onnxruntime sessions of
 * the graphs it was sent (by key), running whole batches (preferred-job.ts):
 * the optimisation loop's arithmetic runs here too, beside its session, so
 * N workers keep N cores busy. Reports each step, then the batch's result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createThreadSessions } from '../deconv/session-threads.js';
import type { OnnxSessionOptions } from '../onnx/onnx-session.js';
import { runPreferredJob, type PreferredJob, type PreferredJobResult } from './preferred-job.js';

export type MainToPreferredWorker =
  | { type: 'graph'; key: string; bytes: Uint8Array; description: string }
  | { type: 'run'; id: number; gradientKey: string; measureKey: string; job: PreferredJob }
  /** Release every session and end the thread (terminating it inside onnxruntime's native code can abort the process). */
  | { type: 'close' };

export type PreferredWorkerToMain =
  | { type: 'step'; id: number; done: number }
  | { type: 'result'; id: number; result: PreferredJobResult }
  | { type: 'failed'; id: number; message: string; usage: boolean };

const sessions = createThreadSessions(workerData as OnnxSessionOptions);
const port = parentPort!;

port.on('message', (message: MainToPreferredWorker) => {
  if (message.type === 'close') void sessions.closeAndEnd(port);
  else if (message.type === 'graph') sessions.add(message.key, message.bytes, message.description);
  else void runOne(message);
});

async function runOne(message: Extract<MainToPreferredWorker, { type: 'run' }>): Promise<void> {
  try {
    const gradient = await sessions.get(message.gradientKey, 'graph');
    const measure = await sessions.get(message.measureKey, 'graph');
    const result = await runPreferredJob({ gradient, measure }, message.job, (done) => port.postMessage({ type: 'step', id: message.id, done } satisfies PreferredWorkerToMain));
    const buffers = result.images.flatMap((i) => [i.rgb01.buffer, i.input.buffer, i.history.buffer]) as ArrayBuffer[];
    port.postMessage({ type: 'result', id: message.id, result } satisfies PreferredWorkerToMain, buffers);
  } catch (error) {
    const e = error as Error;
    port.postMessage({ type: 'failed', id: message.id, message: e.message, usage: e.name === 'UsageError' } satisfies PreferredWorkerToMain);
  }
}
