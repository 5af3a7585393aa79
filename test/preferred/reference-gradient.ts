/**
 * Test helper: the input-gradient function of an objective (one unit per row,
 * centre cell or spatial mean of a node) by tf.grad through the direct tfjs
 * evaluation of the graph (test/import/graph-reference.ts): autodiff with no
 * custom rule, the reference the onnxruntime graph is checked against, and a
 * stand-in for it when a test needs no session.
 */
import * as tf from '@tensorflow/tfjs-core';
import { inferGraphShapes } from '../../src/graph/graph-shapes.js';
import type { GraphWeights, ModelGraph } from '../../src/graph/model-graph.js';
import type { InputGradientFn } from '../../src/preferred/optimise-batch.js';
import { objectiveCellWeights, type ObjectiveKind } from '../../src/train-graph/build-input-gradient-graph.js';
import { evaluateGraph } from '../import/graph-reference.js';

/** tf.grad of sum_b objective_b with respect to NHWC pixels; tensors are freed before it returns. */
export function createReferenceGradient(graph: ModelGraph, weights: GraphWeights, node: string, objective: ObjectiveKind): InputGradientFn {
  const { sizePx: s, channels } = graph.input;
  const shape = inferGraphShapes(graph).get(node)!;
  const cells = objectiveCellWeights(shape, objective);
  return async (pixels, units) => {
    const rows = units.length;
    const select = new Float32Array(rows * shape[0]! * cells.length);
    units.forEach((unit, b) => select.set(cells, (b * shape[0]! + unit) * cells.length));
    return tf.tidy(() => {
      const selectT = tf.tensor2d(select, [rows, shape[0]! * cells.length]);
      const objectiveOf = (x: tf.Tensor): tf.Tensor => {
        const value = evaluateGraph(graph, weights, tf.transpose(x, [0, 3, 1, 2])).get(node)!;
        return tf.sum(tf.mul(tf.reshape(value, [rows, -1]), selectT), 1);
      };
      const x = tf.tensor4d(pixels, [rows, s, s, channels]);
      const gradient = tf.grad((input: tf.Tensor) => tf.sum(objectiveOf(input)))(x);
      return { objective: objectiveOf(x).dataSync() as Float32Array, gradient: gradient.dataSync() as Float32Array };
    });
  };
}
