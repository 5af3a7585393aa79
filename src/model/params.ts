/**
 * Model parameters in memory: tf.Variables keyed like the checkpoint
 * (`conv1.weight`, `conv1.bias`, ..., `fc8.bias`) but in tfjs layout:
 * conv weight [kh, kw, in, out], dense weight [in, out], where fc6's input
 * order is the flatten of an NHWC pool5, i.e. (h, w, c). The checkpoint module
 * converts to and from PyTorch's layout on disk.
 */
import * as tf from '@tensorflow/tfjs-core';
import { convertFromTorch, parameterLayouts } from './torch-layout.js';
import { parameterShapes } from './geometry.js';
import { drawInitWeights } from './init-weights.js';
import type { ModelConfig } from './spec.js';

export type ModelParams = Map<string, tf.Variable>;

export { INIT_WEIGHT_STD } from './init-weights.js';

/** Parameter shapes in tfjs layout, in layer order. */
export function tfjsParameterShapes(config: ModelConfig): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const [name, shape] of parameterShapes(config)) {
    if (shape.length === 4) {
      const [out, inC, kh, kw] = shape as [number, number, number, number];
      shapes.set(name, [kh, kw, inC, out]);
    } else if (shape.length === 2) {
      const [out, inUnits] = shape as [number, number];
      shapes.set(name, [inUnits, out]);
    } else {
      shapes.set(name, shape);
    }
  }
  return shapes;
}

/**
 * Fresh parameters with the paper's initialisation (drawInitWeights, in
 * tfjs layout). Deterministic for a seed on every backend and engine.
 * Ownership: the caller disposes the variables (disposeParams).
 */
export function initParams(config: ModelConfig, seed: number): ModelParams {
  const torch = drawInitWeights(config, seed);
  const params: ModelParams = new Map();
  for (const layout of parameterLayouts(config)) {
    const value = tf.tensor(convertFromTorch(layout, torch.get(layout.name)!), layout.tfjsShape, 'float32');
    params.set(layout.name, tf.variable(value, true));
    value.dispose();
  }
  return params;
}

/**
 * Wraps plain tensors (tfjs layout) as variables; the tensors are copied, so
 * the caller still owns (and disposes) the inputs.
 */
export function paramsFromTensors(tensors: Map<string, tf.Tensor>, trainable = true): ModelParams {
  const params: ModelParams = new Map();
  for (const [name, tensor] of tensors) params.set(name, tf.variable(tensor, trainable));
  return params;
}

/** Disposes every variable of a parameter set. */
export function disposeParams(params: ModelParams): void {
  for (const variable of params.values()) variable.dispose();
}

/** Looks up one parameter. @throws RangeError naming the missing key. */
export function getParam(params: ModelParams, name: string): tf.Variable {
  const value = params.get(name);
  if (value === undefined) throw new RangeError(`Model parameters have no tensor ${name}`);
  return value;
}
