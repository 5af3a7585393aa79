/**
 * The tfjs engine behind the Trainer interface: the step of train-step.ts on
 * the tfjs backend started for the run (tensorflow, wasm or cpu), in the
 * calling thread, with the weights and momentum buffers as tf.Variables in
 * tfjs layout. Tensors cross the interface in PyTorch layout.
 */
import * as tf from '@tensorflow/tfjs-core';
import { convertFromTorch, convertToTorch, parameterLayouts } from '../model/torch-layout.js';
import { disposeParams, type ModelParams } from '../model/params.js';
import type { ModelConfig } from '../model/spec.js';
import type { MomentumBuffers } from './sgd-momentum.js';
import { runTrainStep } from './train-step.js';
import type { Trainer, TrainTensors } from './trainer.js';

export interface TfjsTrainerOptions {
  config: ModelConfig;
  filterRadius: number;
  microBatchSize: number;
}

/** tf.Variables (tfjs layout) of PyTorch-layout tensors. @throws RangeError naming a tensor that is missing. */
function variablesOf(config: ModelConfig, tensors: ReadonlyMap<string, Float32Array>, trainable: boolean): Map<string, tf.Variable> {
  const variables = new Map<string, tf.Variable>();
  for (const layout of parameterLayouts(config)) {
    const torch = tensors.get(layout.name);
    if (torch === undefined) {
      disposeParams(variables);
      throw new RangeError(`Training ${config.name} needs tensor ${layout.name}`);
    }
    variables.set(layout.name, tf.tidy(() => tf.variable(tf.tensor(convertFromTorch(layout, torch), layout.tfjsShape, 'float32'), trainable)));
  }
  return variables;
}

/** PyTorch-layout copies of tfjs-layout variables. */
export function torchTensorsOf(config: ModelConfig, variables: ReadonlyMap<string, tf.Variable>): Map<string, Float32Array> {
  return new Map(parameterLayouts(config).map((layout) => [layout.name, convertToTorch(layout, variables.get(layout.name)!.dataSync() as Float32Array)]));
}

/**
 * A trainer on the current tfjs backend, starting from `tensors` (copied).
 * Ownership: close() disposes its variables.
 */
export function createTfjsTrainer(options: TfjsTrainerOptions, tensors: TrainTensors): Trainer & { params: ModelParams; buffers: MomentumBuffers } {
  const params = variablesOf(options.config, tensors.weights, true);
  let buffers: MomentumBuffers;
  try {
    buffers = variablesOf(options.config, tensors.velocities, false);
  } catch (error) {
    disposeParams(params);
    throw error;
  }
  return {
    config: options.config,
    microBatchSize: options.microBatchSize,
    params,
    buffers,
    async step(batch, settings) {
      return runTrainStep(options.config, params, buffers, batch, { ...settings, filterRadius: options.filterRadius, microBatchSize: options.microBatchSize });
    },
    async readTensors() {
      return { weights: torchTensorsOf(options.config, params), velocities: torchTensorsOf(options.config, buffers) };
    },
    async close() {
      disposeParams(params);
      disposeParams(buffers);
    },
  };
}
