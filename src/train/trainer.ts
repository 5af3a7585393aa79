/**
 * One interface, several engines, for the training step: the pipeline hands
 * a trainer batches and the step's settings (rate, momentum, weight decay,
 * the dropout masks the project drew), and asks it for the weights and
 * momentum buffers when it writes a checkpoint. Which engine computes the
 * step (tfjs in-process: tfjs-trainer.ts; onnxruntime in a worker thread:
 * onnx-trainer.ts) is chosen once, at the edge, and recorded with the run.
 *
 * Tensors cross this interface in PyTorch layout (the checkpoint's names and
 * shapes, src/model/torch-layout.ts), so checkpoints are written the
 * same way whatever trained them.
 */
import type { ModelConfig } from '../model/spec.js';
import type { DropoutMasks } from './dropout-masks.js';
import type { SgdHyperParams } from './sgd-momentum.js';
import type { StepInput, StepResult } from './train-step.js';

/** Weights and momentum buffers by parameter name, PyTorch layout, float32. */
export interface TrainTensors {
  weights: Map<string, Float32Array>;
  velocities: Map<string, Float32Array>;
}

export interface TrainStepSettings extends SgdHyperParams {
  /** The step's masks for the whole batch (src/train/dropout-masks.ts). */
  dropoutMasks: DropoutMasks;
}

export interface Trainer {
  readonly config: ModelConfig;
  /** Images per forward/backward pass (a larger batch is split, its gradients summed before the one update). */
  readonly microBatchSize: number;
  /**
   * One SGD step (forward with the masks, softmax cross-entropy, gradients,
   * the update and the filter renormalisation). The batch's pixels may be
   * handed to another thread (detached afterwards).
   * @throws RangeError for a batch the model cannot take; Error naming the engine when it fails.
   */
  step(batch: StepInput, settings: TrainStepSettings): Promise<StepResult>;
  /** A copy of the current weights and momentum buffers. */
  readTensors(): Promise<TrainTensors>;
  /** Releases the engine (worker, sessions, tensors). Call it in `finally`. */
  close(): Promise<void>;
}

/**
 * Sums of float32 arrays by name into the first map (in place), for
 * gradients summed over micro-batches.
 * @throws RangeError naming a tensor whose sizes disagree.
 */
export function addInto(total: Map<string, Float32Array>, more: ReadonlyMap<string, Float32Array>): void {
  for (const [name, values] of more) {
    const sum = total.get(name);
    if (sum === undefined) {
      total.set(name, values.slice());
      continue;
    }
    if (sum.length !== values.length) throw new RangeError(`Cannot add ${name} of ${values.length} values to ${sum.length}`);
    for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + values[i]!;
  }
}
