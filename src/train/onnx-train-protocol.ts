/**
 * Messages between the onnx trainer (main thread, onnx-trainer.ts) and its
 * training thread (onnx-train-worker.ts). Plain data: typed arrays travel
 * transferred, not copied.
 */
import type { WorkerErrorInfo } from '../workers/worker-protocol.js';
import type { OnnxTrainSessionOptions } from './onnx-train-session.js';
import type { StepInput, StepResult } from './train-step.js';
import type { TrainStepSettings, TrainTensors } from './trainer.js';

export interface TrainWorkerData {
  options: OnnxTrainSessionOptions;
  /** The starting weights and momentum buffers (PyTorch layout), transferred to the thread. */
  tensors: TrainTensors;
}

export type TrainMainToWorker =
  | { type: 'step'; id: number; batch: StepInput; settings: TrainStepSettings }
  | { type: 'read'; id: number }
  | { type: 'close'; id: number };

export type TrainWorkerToMain =
  | { type: 'ready' }
  | { type: 'init-failed'; error: WorkerErrorInfo }
  | { type: 'done'; id: number; result: StepResult | TrainTensors | null }
  | { type: 'failed'; id: number; error: WorkerErrorInfo };

/** The distinct ArrayBuffers under some typed arrays (a transfer list may name each once; shared memory is never transferred). */
export function collectBuffers(tensors: TrainTensors | Iterable<ArrayBufferView>): ArrayBuffer[] {
  const views = 'weights' in tensors ? [...tensors.weights.values(), ...tensors.velocities.values()] : [...tensors];
  const buffers = new Set<ArrayBuffer>();
  for (const view of views) if (view.buffer instanceof ArrayBuffer) buffers.add(view.buffer);
  return [...buffers];
}
