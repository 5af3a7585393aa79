/**
 * Shape inference over a ModelGraph: the N-less output shape of every node
 * ([C, H, W] for maps, [F] for features). Pure; the same size rules as
 * src/model/geometry.ts (floor or PyTorch ceil mode).
 */
import { GRAPH_INPUT, type GraphNode, type ModelGraph, type Pair } from './model-graph.js';
import type { Padding4 } from '../model/spec.js';

/**
 * Output size along one axis of a window op. Ceil mode follows PyTorch: the
 * last window must start inside the input or its leading padding.
 */
export function windowOutputPx(inputPx: number, windowPx: number, stride: number, padBefore: number, padAfter: number, ceilMode: boolean, dilation = 1): number {
  const span = inputPx + padBefore + padAfter - dilation * (windowPx - 1) - 1;
  if (!ceilMode) return Math.floor(span / stride) + 1;
  let outputPx = Math.ceil(span / stride) + 1;
  if ((outputPx - 1) * stride >= inputPx + padBefore) outputPx -= 1;
  return outputPx;
}

function spatialOut(shape: number[], window: Pair, stride: Pair, padding: Padding4, ceilMode: boolean, dilation: Pair = [1, 1]): [number, number] {
  const [, h, w] = shape as [number, number, number];
  return [
    windowOutputPx(h, window[0], stride[0], padding[0], padding[1], ceilMode, dilation[0]),
    windowOutputPx(w, window[1], stride[1], padding[2], padding[3], ceilMode, dilation[1]),
  ];
}

function nodeShape(graph: ModelGraph, node: GraphNode, inputs: number[][]): number[] {
  const x = inputs[0]!;
  const op = node.op;
  switch (op.op) {
    case 'conv': {
      const [h, w] = spatialOut(x, op.kernel, op.stride, op.padding, false, op.dilation);
      return [op.outChannels, h, w];
    }
    case 'maxpool':
    case 'avgpool': {
      const [h, w] = spatialOut(x, op.window, op.stride, op.padding, op.ceilMode);
      return [x[0]!, h, w];
    }
    case 'global-avgpool':
      return [x[0]!, 1, 1];
    case 'dense':
      return [op.outUnits];
    case 'flatten':
      return [x.reduce((a, b) => a * b, 1)];
    case 'concat': {
      const out = x.slice();
      out[op.axis] = inputs.reduce((sum, shape) => sum + shape[op.axis]!, 0);
      return out;
    }
    default:
      return x.slice();
  }
}

/**
 * The output shape of every node (and of GRAPH_INPUT).
 * @throws RangeError naming the node whose output would be empty or whose inputs disagree.
 */
export function inferGraphShapes(graph: ModelGraph): Map<string, number[]> {
  const shapes = new Map<string, number[]>([[GRAPH_INPUT, [graph.input.channels, graph.input.sizePx, graph.input.sizePx]]]);
  for (const node of graph.nodes) {
    const inputs = node.inputs.map((name) => shapes.get(name)!);
    if (node.op.op === 'add' && inputs.some((shape) => shape.join('x') !== inputs[0]!.join('x'))) {
      throw new RangeError(`Graph ${graph.name}: add ${node.name} joins shapes ${inputs.map((s) => `[${s.join(', ')}]`).join(' and ')}`);
    }
    const shape = nodeShape(graph, node, inputs);
    if (shape.some((size) => !Number.isInteger(size) || size < 1)) {
      throw new RangeError(`Graph ${graph.name}: node ${node.name} would output [${shape.join(', ')}] from [${inputs[0]!.join(', ')}]`);
    }
    shapes.set(node.name, shape);
  }
  return shapes;
}
