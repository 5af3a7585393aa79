/**
 * Entry point of one forward worker thread (spawned by forward-pool.ts from
 * the compiled .js next to it). It starts its engine (a tfjs backend, or an
 * onnxruntime session: the table WORKER_RUNNERS), loads the model once, then
 * runs the batches it is sent one at a time, in arrival order, and posts each
 * result back with its typed arrays transferred.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { InferenceEngineName } from '../backend-choice.js';
import { collectTransferables } from './batch-reducers.js';
import { describeWorkerError, type ForwardWorkerData, type MainToWorker, type WorkerRunner, type WorkerToMain } from './worker-protocol.js';

const port = parentPort;
if (port === null) throw new Error('forward-worker.js must be started as a worker thread');

function post(message: WorkerToMain, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

/** How each engine starts in a worker; loaded lazily so a tfjs worker never loads onnxruntime and vice versa. */
const WORKER_RUNNERS: Readonly<Record<InferenceEngineName, (data: ForwardWorkerData) => Promise<WorkerRunner>>> = Object.freeze({
  tfjs: async (data) => (await import('./tfjs-worker-runner.js')).startTfjsWorkerRunner(data),
  onnx: async (data) => (await import('./onnx-worker-runner.js')).startOnnxWorkerRunner(data),
});

async function runBatch(runner: WorkerRunner, message: MainToWorker): Promise<void> {
  try {
    runner.validate(message.request);
    const result = await runner.run(message.batch, message.request);
    post({ type: 'result', batchIndex: message.batchIndex, result }, collectTransferables(result));
  } catch (error) {
    post({ type: 'batch-failed', batchIndex: message.batchIndex, error: describeWorkerError(error) });
  }
}

async function start(data: ForwardWorkerData): Promise<void> {
  let runner: WorkerRunner;
  try {
    runner = await WORKER_RUNNERS[data.engine ?? 'tfjs'](data);
    post({ type: 'ready', backend: runner.backend, modelName: runner.modelName });
  } catch (error) {
    post({ type: 'init-failed', error: describeWorkerError(error) });
    return;
  }
  // Batches run strictly one after another: two in the engine at once would
  // only double the activation memory of a single-threaded engine.
  let queue = Promise.resolve();
  port!.on('message', (message: MainToWorker) => {
    queue = queue.then(() => runBatch(runner, message));
  });
}

await start(workerData as ForwardWorkerData);
