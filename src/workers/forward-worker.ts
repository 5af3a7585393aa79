/**
 * Entry point of one forward worker thread (spawned by forward-pool.ts from
 * the compiled .js next to it). It starts its own tfjs backend, builds the
 * model once, then runs the batches it is sent one at a time, in arrival
 * order, and posts each result back with its typed arrays transferred.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../backend/select-backend.js';
import { loadCheckpoint } from '../checkpoint/checkpoint-file.js';
import type { ModelParams } from '../model/params.js';
import type { ModelConfig } from '../model/spec.js';
import { collectTransferables, runForwardRequest, validateForwardRequest } from './batch-reducers.js';
import { describeWorkerError, unpackParams, type ForwardWorkerData, type MainToWorker, type WorkerToMain } from './worker-protocol.js';

const port = parentPort;
if (port === null) throw new Error('forward-worker.js must be started as a worker thread');

function post(message: WorkerToMain, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

async function loadModel(data: ForwardWorkerData): Promise<{ config: ModelConfig; params: ModelParams }> {
  if (data.model.kind === 'checkpoint') {
    const loaded = loadCheckpoint(data.model.path);
    return { config: loaded.config, params: loaded.params };
  }
  return { config: data.model.config, params: unpackParams(data.model.packed) };
}

async function runBatch(config: ModelConfig, params: ModelParams, message: MainToWorker): Promise<void> {
  try {
    validateForwardRequest(config, message.request);
    const result = await runForwardRequest(config, params, message.batch, message.request);
    post({ type: 'result', batchIndex: message.batchIndex, result }, collectTransferables(result));
  } catch (error) {
    post({ type: 'batch-failed', batchIndex: message.batchIndex, error: describeWorkerError(error) });
  }
}

async function start(data: ForwardWorkerData): Promise<void> {
  let model: { config: ModelConfig; params: ModelParams };
  try {
    // The main thread already printed the backend line; workers stay quiet.
    const backend = await initBackend(data.backend, { log: () => undefined });
    model = await loadModel(data);
    post({ type: 'ready', backend, modelName: model.config.name });
  } catch (error) {
    post({ type: 'init-failed', error: describeWorkerError(error) });
    return;
  }
  // Batches run strictly one after another: two in the backend at once would
  // only double the activation memory on a single-threaded backend.
  let queue = Promise.resolve();
  port!.on('message', (message: MainToWorker) => {
    queue = queue.then(() => runBatch(model.config, model.params, message));
  });
}

await start(workerData as ForwardWorkerData);
