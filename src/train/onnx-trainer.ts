/**
 * The onnx engine behind the Trainer interface: a worker thread
 * (onnx-train-worker.ts) holds the onnxruntime training sessions and the
 * weights and momentum buffers; the main thread sends each batch (its pixels
 * and masks transferred) and gets back the loss and label ranks only, so it
 * stays free to decode the next batches while a step runs.
 */
import { Worker } from 'node:worker_threads';
import type { ModelConfig } from '../model/spec.js';
import { rebuildWorkerError } from '../workers/worker-protocol.js';
import type { OnnxTrainSessionOptions } from './onnx-train-session.js';
import { collectBuffers, type TrainMainToWorker, type TrainWorkerData, type TrainWorkerToMain } from './onnx-train-protocol.js';
import type { StepResult } from './train-step.js';
import type { Trainer, TrainTensors } from './trainer.js';

type Request = { type: 'step'; batch: Extract<TrainMainToWorker, { type: 'step' }>['batch']; settings: Extract<TrainMainToWorker, { type: 'step' }>['settings'] } | { type: 'read' } | { type: 'close' };

/**
 * Starts the training thread with `tensors` (PyTorch layout; their buffers
 * are transferred: do not use them afterwards).
 * @throws UsageError naming the execution provider when it fails to load; Error when the thread fails to start.
 */
export async function createOnnxTrainer(options: OnnxTrainSessionOptions, tensors: TrainTensors): Promise<Trainer> {
  const data: TrainWorkerData = { options, tensors };
  const thread = new Worker(new URL('./onnx-train-worker.js', import.meta.url), { workerData: data, transferList: collectBuffers(tensors) });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let failure: Error | null = null;
  let nextId = 0;
  const fail = (error: Error): void => {
    failure ??= error;
    for (const p of pending.values()) p.reject(new Error(`the onnx training thread stopped: ${error.message}`));
    pending.clear();
  };
  await new Promise<void>((resolve, reject) => {
    thread.once('error', reject);
    thread.once('message', (message: TrainWorkerToMain) => {
      thread.off('error', reject);
      if (message.type === 'ready') resolve();
      else if (message.type === 'init-failed') reject(rebuildWorkerError(`the onnx training thread failed to start (${options.config.name})`, message.error));
      else reject(new Error(`the onnx training thread sent ${message.type} before ready`));
    });
  });
  thread.on('message', (message: TrainWorkerToMain) => {
    if (message.type !== 'done' && message.type !== 'failed') return;
    const p = pending.get(message.id);
    pending.delete(message.id);
    if (message.type === 'done') p?.resolve(message.result);
    else p?.reject(rebuildWorkerError(`onnx training step of ${options.config.name}`, message.error));
  });
  thread.on('error', fail);
  thread.on('exit', (code) => fail(new Error(`it exited with code ${code}`)));
  let closed = false;
  const send = <T>(request: Request, transfer: ArrayBuffer[] = []): Promise<T> => {
    if (failure !== null) return Promise.reject(new Error(`the onnx training thread stopped: ${failure.message}`));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      thread.postMessage({ ...request, id }, transfer);
    });
  };
  return {
    config: options.config as ModelConfig,
    microBatchSize: options.microBatchSize,
    step: (batch, settings) => send<StepResult>({ type: 'step', batch, settings }, collectBuffers([batch.pixels, ...settings.dropoutMasks.values()])),
    readTensors: () => send<TrainTensors>({ type: 'read' }),
    async close() {
      if (closed) return;
      closed = true;
      // The thread releases its sessions and ends itself: terminating a thread inside onnxruntime's native code can abort the process.
      if (failure === null) await send<null>({ type: 'close' }).catch(() => undefined);
      await new Promise<void>((resolve) => (thread.threadId === -1 ? resolve() : thread.once('exit', () => resolve())));
    },
  };
}
