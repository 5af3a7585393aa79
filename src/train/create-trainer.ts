/**
 * The edge where a training run's engine is chosen: one table from the engine
 * that initBackend started (src/backend/select-backend.ts) to the Trainer that
 * runs on it. The pipeline asks for a trainer and never looks at the engine.
 */
import type { BackendInfo } from '../backend/select-backend.js';
import type { ModelConfig } from '../model/spec.js';
import { createTfjsTrainer } from './tfjs-trainer.js';
import type { Trainer, TrainTensors } from './trainer.js';

export interface CreateTrainerOptions {
  config: ModelConfig;
  filterRadius: number;
  /** The recipe's weight decay (0: the onnx graph leaves the term out). */
  weightDecay: number;
  microBatchSize: number;
}

type TrainerFactory = (engine: BackendInfo, options: CreateTrainerOptions, tensors: TrainTensors) => Promise<Trainer>;

const tfjs: TrainerFactory = async (_engine, options, tensors) => createTfjsTrainer(options, tensors);

const TRAINERS: Readonly<Record<BackendInfo['name'], TrainerFactory>> = Object.freeze({
  onnx: async (engine, options, tensors) => (await import('./onnx-trainer.js')).createOnnxTrainer({
    config: options.config, filterRadius: options.filterRadius, weightDecay: options.weightDecay !== 0, microBatchSize: options.microBatchSize,
    executionProvider: engine.executionProvider ?? 'cpu', intraOpThreads: engine.threads,
  }, tensors),
  tensorflow: tfjs,
  wasm: tfjs,
  cpu: tfjs,
});

/**
 * The trainer of the started engine, holding `tensors` (PyTorch layout; the
 * onnx trainer takes their buffers over).
 * @throws UsageError naming the execution provider when it fails to load.
 */
export function createTrainer(engine: BackendInfo, options: CreateTrainerOptions, tensors: TrainTensors): Promise<Trainer> {
  return TRAINERS[engine.name](engine, options, tensors);
}
