/**
 * Entry point of the onnx training thread (spawned by onnx-trainer.ts from
 * the compiled .js next to it): it holds the training sessions and the
 * weights and momentum buffers, and runs the steps it is sent one after
 * another. onnxruntime's run blocks the thread that calls it for the whole
 * step, so it runs here and the main thread keeps decoding the next batches.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { describeWorkerError } from '../workers/worker-protocol.js';
import { createOnnxTrainSession, type OnnxTrainSession } from './onnx-train-session.js';
import { collectBuffers, type TrainMainToWorker, type TrainWorkerData, type TrainWorkerToMain } from './onnx-train-protocol.js';
import type { TrainTensors } from './trainer.js';

const port = parentPort;
if (port === null) throw new Error('onnx-train-worker.js must be started as a worker thread');

function post(message: TrainWorkerToMain, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

function copyTensors(tensors: TrainTensors): TrainTensors {
  const copy = (map: Map<string, Float32Array>): Map<string, Float32Array> => new Map([...map].map(([name, values]) => [name, values.slice()]));
  return { weights: copy(tensors.weights), velocities: copy(tensors.velocities) };
}

async function handle(session: OnnxTrainSession, message: TrainMainToWorker): Promise<boolean> {
  try {
    if (message.type === 'step') {
      const result = await session.step(message.batch, message.settings);
      post({ type: 'done', id: message.id, result });
    } else if (message.type === 'read') {
      const tensors = copyTensors(session.tensors);
      post({ type: 'done', id: message.id, result: tensors }, collectBuffers(tensors));
    } else {
      await session.release();
      post({ type: 'done', id: message.id, result: null });
      return false;
    }
  } catch (error) {
    post({ type: 'failed', id: message.id, error: describeWorkerError(error) });
  }
  return true;
}

async function start(data: TrainWorkerData): Promise<void> {
  let session: OnnxTrainSession;
  try {
    session = await createOnnxTrainSession(data.options, data.tensors);
    post({ type: 'ready' });
  } catch (error) {
    post({ type: 'init-failed', error: describeWorkerError(error) });
    return;
  }
  let queue = Promise.resolve(true);
  port!.on('message', (message: TrainMainToWorker) => {
    queue = queue.then(async (open) => {
      if (!open) return false;
      const stillOpen = await handle(session, message);
      if (!stillOpen) port!.close();
      return stillOpen;
    });
  });
}

await start(workerData as TrainWorkerData);
