/**
 * Test helper: the reference of every projection method, by autodiff on tfjs
 * through the direct graph evaluation (graph-reference.ts) with each method's
 * ReLU rule as a custom gradient: value * d(examined[select]) / d(pixels).
 */
import * as tf from '@tensorflow/tfjs-core';
import { inferGraphShapes } from '../../src/graph/graph-shapes.js';
import type { GraphNode, GraphWeights, ModelGraph } from '../../src/graph/model-graph.js';
import type { DeconvMethod } from '../../src/onnx/deconv-down-rules.js';
import { evaluateGraph, type NodeOverrides } from '../import/graph-reference.js';

/** The ReLU rule of each method as a tfjs custom gradient (forward: the plain op). */
function reluGradient(method: DeconvMethod, alpha: number): (dy: tf.Tensor, x: tf.Tensor) => tf.Tensor {
  const slope = (x: tf.Tensor): tf.Tensor => tf.where(tf.greater(x, 0), tf.onesLike(x), tf.fill(x.shape, alpha));
  if (method === 'deconvnet') return (dy) => (alpha === 0 ? tf.relu(dy) : tf.leakyRelu(dy, alpha));
  if (method === 'guided') return (dy, x) => tf.mul(tf.relu(dy), slope(x));
  return (dy, x) => tf.mul(dy, slope(x));
}

/** Autodiff with the method's ReLU rule; LRN and dropout pass the gradient unchanged (the project's choice). */
function overridesFor(method: DeconvMethod): NodeOverrides {
  const custom = (grad: (dy: tf.Tensor, x: tf.Tensor) => tf.Tensor) => (x: tf.Tensor, _node: GraphNode, plain: (x: tf.Tensor) => tf.Tensor): tf.Tensor =>
    (tf.customGrad((input, save) => {
      (save as tf.GradSaveFunc)([input as tf.Tensor]);
      // A new tensor even for pass-through ops: returning the input itself would count its gradient twice.
      return { value: tf.clone(plain(input as tf.Tensor)), gradFunc: (dy, saved) => grad(dy as tf.Tensor, saved[0]!) };
    }) as (input: tf.Tensor) => tf.Tensor)(x);
  return {
    relu: custom(reluGradient(method, 0)),
    'leaky-relu': (x, node, plain) => custom(reluGradient(method, (node.op as { alpha: number }).alpha))(x, node, plain),
    lrn: custom((dy) => dy),
    dropout: custom((dy) => dy),
  };
}

/** value_e * d(examined[select_e]) / d(pixels) through the method's rules, [E, C, S, S]. */
export function referenceProjection(graph: ModelGraph, weights: GraphWeights, nchw: tf.Tensor4D, examined: string, selects: number[], method: DeconvMethod): Float32Array {
  const size = inferGraphShapes(graph).get(examined)!.reduce((a, b) => a * b, 1);
  const values = tf.tidy(() => tf.reshape(evaluateGraph(graph, weights, nchw).get(examined)!, [nchw.shape[0], size]).arraySync() as number[][]);
  const mask = tf.tensor2d(values.map((row, e) => row.map((v, i) => (i === selects[e] ? v : 0))));
  const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.reshape(evaluateGraph(graph, weights, x, overridesFor(method)).get(examined)!, [nchw.shape[0], size]), mask)));
  const result = tf.tidy(() => grad(nchw).dataSync() as Float32Array);
  mask.dispose();
  return result;
}

