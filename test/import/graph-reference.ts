/**
 * Test helper: a direct tfjs computation of a ModelGraph, node by node, in
 * NCHW like the graph (tfjs's NHWC ops are wrapped in transposes). Written
 * from the op definitions in src/graph/model-graph.ts, independent of the
 * engines under test, so imported graphs and the builders can be checked
 * against it, and tf.grad through it gives the autodiff reference.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { GRAPH_INPUT, type GraphNode, type GraphWeights, type ModelGraph } from '../../src/graph/model-graph.js';
import type { Padding4 } from '../../src/model/spec.js';

const toNhwc = (x: tf.Tensor): tf.Tensor4D => tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D;
const toNchw = (x: tf.Tensor): tf.Tensor4D => tf.transpose(x, [0, 3, 1, 2]) as tf.Tensor4D;

/** Extra bottom/right cells PyTorch's ceil mode adds (the last window starts inside input + leading pad). */
function ceilExtra(inputPx: number, window: number, stride: number, before: number, after: number, ceilMode: boolean): number {
  if (!ceilMode) return 0;
  const span = inputPx + before + after - window;
  let out = Math.ceil(span / stride) + 1;
  if ((out - 1) * stride >= inputPx + before) out -= 1;
  return Math.max(0, (out - 1) * stride + window - (inputPx + before + after));
}

function nhwcPads(x: tf.Tensor, window: [number, number], stride: [number, number], p: Padding4, ceilMode: boolean): [number, number][] {
  const [, , h, w] = x.shape as number[];
  return [[0, 0], [p[0], p[1] + ceilExtra(h!, window[0], stride[0], p[0], p[1], ceilMode)], [p[2], p[3] + ceilExtra(w!, window[1], stride[1], p[2], p[3], ceilMode)], [0, 0]];
}

function conv(x: tf.Tensor, node: Extract<GraphNode['op'], { op: 'conv' }>, weights: GraphWeights): tf.Tensor {
  const values = weights.get(node.weight)!;
  const w = tf.tensor(values, [node.outChannels, values.length / (node.outChannels * node.kernel[0] * node.kernel[1]), node.kernel[0], node.kernel[1]]);
  const filters = tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D; // [kh, kw, in/g, out]
  const p = node.padding;
  // tf.split's gradient fails for one piece: split only grouped convs.
  const xs = node.groups === 1 ? [toNhwc(x)] : tf.split(toNhwc(x), node.groups, 3);
  const fs = node.groups === 1 ? [filters] : tf.split(filters, node.groups, 3);
  const parts = xs.map((xi, g) => tf.conv2d(xi as tf.Tensor4D, fs[g] as tf.Tensor4D, node.stride, [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]], 'NHWC', node.dilation));
  let y: tf.Tensor = parts.length === 1 ? parts[0]! : tf.concat(parts, 3);
  if (node.bias !== null) y = tf.add(y, tf.tensor1d(weights.get(node.bias)!));
  return toNchw(y);
}

function avgPool(x: tf.Tensor, op: Extract<GraphNode['op'], { op: 'avgpool' }>): tf.Tensor {
  const pads = nhwcPads(x, op.window, op.stride, op.padding, op.ceilMode);
  const sum = tf.mul(tf.avgPool(tf.pad(toNhwc(x), pads), op.window, op.stride, 'valid'), op.window[0] * op.window[1]);
  // Divisor: input cells (and explicit padding when countIncludePad), never ceil mode's extra cells.
  const [, , h, w] = x.shape as number[];
  const ones = tf.ones([1, h!, w!, 1]);
  const p = op.padding;
  const counted = op.countIncludePad ? tf.pad(tf.pad(ones, [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]], 1), [[0, 0], [0, pads[1]![1] - p[1]], [0, pads[2]![1] - p[3]], [0, 0]]) : tf.pad(ones, pads);
  const count = tf.mul(tf.avgPool(counted as tf.Tensor4D, op.window, op.stride, 'valid'), op.window[0] * op.window[1]);
  return toNchw(tf.div(sum, count));
}

/** Replacements of single-input ops (custom gradients of the way down). */
export type NodeOverrides = Partial<Record<GraphNode['op']['op'], (x: tf.Tensor, node: GraphNode, plain: (x: tf.Tensor) => tf.Tensor) => tf.Tensor>>;

function evaluateNode(node: GraphNode, inputs: tf.Tensor[], weights: GraphWeights, overrides: NodeOverrides = {}): tf.Tensor {
  const override = overrides[node.op.op];
  if (override !== undefined) return override(inputs[0]!, node, (x) => evaluateNode(node, [x], weights));
  const x = inputs[0]!;
  const op = node.op;
  switch (op.op) {
    case 'conv': return conv(x, op, weights);
    case 'relu': return tf.relu(x);
    case 'leaky-relu': return tf.leakyRelu(x, op.alpha);
    case 'maxpool': return toNchw(tf.maxPool(tf.pad(toNhwc(x), nhwcPads(x, op.window, op.stride, op.padding, op.ceilMode), -1e30), op.window, op.stride, 'valid'));
    case 'avgpool': return avgPool(x, op);
    case 'global-avgpool': return tf.mean(x, [2, 3], true);
    case 'batchnorm': {
      const v = (name: string): tf.Tensor => tf.reshape(tf.tensor1d(weights.get(name)!), x.rank === 4 ? [1, -1, 1, 1] : [1, -1]);
      return tf.add(tf.mul(tf.div(tf.sub(x, v(op.mean)), tf.sqrt(tf.add(v(op.variance), op.epsilon))), v(op.scale)), v(op.bias));
    }
    case 'lrn': return toNchw(tf.localResponseNormalization(toNhwc(x), (op.size - 1) / 2, op.k, op.alpha, op.beta));
    case 'dense': {
      const w = tf.tensor2d(weights.get(op.weight)!, [op.outUnits, x.shape[1]!]);
      const y = tf.matMul(x as tf.Tensor2D, w, false, true);
      return op.bias === null ? y : tf.add(y, tf.tensor1d(weights.get(op.bias)!));
    }
    case 'add': return tf.addN(inputs);
    case 'concat': return tf.concat(inputs, op.axis + 1);
    case 'flatten': return tf.reshape(x, [x.shape[0]!, -1]);
    case 'softmax': return tf.softmax(x);
    case 'dropout':
    case 'identity': return x;
  }
}

/**
 * Every node's output for `input` [N, C, S, S]. Ownership: the caller disposes
 * the returned tensors (call it inside tf.tidy to keep only what it returns).
 */
export function evaluateGraph(graph: ModelGraph, weights: GraphWeights, input: tf.Tensor, overrides: NodeOverrides = {}): Map<string, tf.Tensor> {
  const values = new Map<string, tf.Tensor>([[GRAPH_INPUT, input]]);
  for (const node of graph.nodes) values.set(node.name, evaluateNode(node, node.inputs.map((name) => values.get(name)!), weights, overrides));
  values.delete(GRAPH_INPUT);
  return values;
}

export { relativeError } from '../kernels/compare-backends.js';

/** Deterministic pseudo-random floats in [-scale, scale). */
export function seededFloats(count: number, seed: number, scale = 1): Float32Array {
  let state = seed >>> 0 || 1;
  return Float32Array.from({ length: count }, () => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return ((state / 2 ** 32) * 2 - 1) * scale;
  });
}
