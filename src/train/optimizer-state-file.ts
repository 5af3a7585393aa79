/**
 * The optimizer state (momentum buffers) as a second safetensors file beside
 * each checkpoint: `epoch-0003.safetensors` + `epoch-0003.optimizer.safetensors`.
 *
 * The file uses the checkpoint format itself (src/checkpoint/checkpoint-file.ts):
 * the same tensor names, PyTorch layout, float32 exactly as trained, written
 * atomically. Its training state marks it as momentum buffers
 * (`kind: "sgd-momentum-buffers"`) and names the position it belongs to, so a
 * mismatched pair, or a buffer file given where weights are expected, is refused.
 * Note the velocity follows Krizhevsky's form (it includes the learning rate),
 * unlike PyTorch's `momentum_buffer`.
 */
import { UsageError } from '../errors.js';
import { readCheckpointFile, saveCheckpointTensors, type SaveCheckpointResult } from '../checkpoint/checkpoint-file.js';
import type { ModelConfig } from '../model/spec.js';
import { SGD_UPDATE_FORM } from './sgd-momentum.js';

export const OPTIMIZER_STATE_KIND = 'sgd-momentum-buffers';

/** Where a checkpoint's optimizer file lives: `X.safetensors` -> `X.optimizer.safetensors`. */
export function optimizerPathFor(checkpointPath: string): string {
  return `${checkpointPath.replace(/\.safetensors$/, '')}.optimizer.safetensors`;
}

/** The training position a checkpoint and its optimizer file share. */
export interface TrainingPosition {
  /** Epochs completed before this state. */
  epoch: number;
  /** Steps completed within the next epoch (0 at an epoch boundary). */
  step: number;
}

/** Saves momentum buffers (PyTorch layout) atomically. */
export function saveOptimizerState(path: string, config: ModelConfig, velocities: ReadonlyMap<string, Float32Array>, position: TrainingPosition): SaveCheckpointResult {
  return saveCheckpointTensors(path, { config, tensors: velocities, trainingState: { kind: OPTIMIZER_STATE_KIND, update: SGD_UPDATE_FORM, ...position } });
}

/**
 * Loads momentum buffers for `position` (PyTorch layout).
 * @throws UsageError naming the file when it is missing, unreadable, not momentum buffers,
 *   for another model, or for another position.
 */
export function loadOptimizerState(path: string, config: ModelConfig, position: TrainingPosition): Map<string, Float32Array> {
  const loaded = readCheckpointFile(path);
  const state = loaded.trainingState;
  const problem = state?.['kind'] !== OPTIMIZER_STATE_KIND
    ? 'is not an optimizer state file'
    : loaded.config.name !== config.name || loaded.config.numClasses !== config.numClasses
      ? `is for ${loaded.config.name} with ${loaded.config.numClasses} classes, not ${config.name} with ${config.numClasses}`
      : state.epoch !== position.epoch || state.step !== position.step
        ? `belongs to epoch ${state.epoch} step ${state.step}, not epoch ${position.epoch} step ${position.step}`
        : null;
  if (problem !== null) throw new UsageError(`Optimizer state ${path} ${problem}`);
  return new Map([...loaded.tensors].map(([name, tensor]) => [name, tensor.data]));
}
