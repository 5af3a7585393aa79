/**
 * Model parameters in memory: tf.Variables keyed like the checkpoint
 * (`conv1.weight`, `conv1.bias`, ..., `fc8.bias`) but in tfjs layout:
 * conv weight [kh, kw, in, out], dense weight [in, out], where fc6's input
 * order is the flatten of an NHWC pool5, i.e. (h, w, c). The checkpoint module
 * converts to and from PyTorch's layout on disk.
 */
import * as tf from '@tensorflow/tfjs-core';
import { parameterShapes } from './geometry.js';
import type { ModelConfig } from './spec.js';

export type ModelParams = Map<string, tf.Variable>;

/** The paper's weight init: N(0, 0.01^2); biases 0. */
export const INIT_WEIGHT_STD = 0.01;

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
 * Fresh parameters with the paper's initialisation. Deterministic for a seed
 * on every backend (tfjs draws the normal samples in JS).
 * Ownership: the caller disposes the variables (disposeParams).
 */
export function initParams(config: ModelConfig, seed: number): ModelParams {
  const params: ModelParams = new Map();
  let index = 0;
  for (const [name, shape] of tfjsParameterShapes(config)) {
    const value = name.endsWith('.bias')
      ? tf.zeros(shape)
      : tf.randomNormal(shape, 0, INIT_WEIGHT_STD, 'float32', seed * 1009 + index);
    params.set(name, tf.variable(value, true));
    value.dispose();
    index += 1;
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
