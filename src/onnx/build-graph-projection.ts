/**
 * Projections to pixel space for any ModelGraph (residual joins, concat,
 * batch norm, average pools, dense layers), full frame, batched over entries:
 * the forward engine's nodes (lower-graph-nodes.ts) up to the examined node,
 * each max pool's switches, the examined activation of each entry, then the
 * way down in reverse graph order with one rule per op (deconv-down-rules.ts).
 * A node read by several others (a residual block's input) receives the sum
 * of what comes down each of them. `method` picks the ReLU rule: the
 * deconvnet (Zeiler & Fergus), guided backpropagation (Springenberg et al.)
 * or the plain gradient (Simonyan et al.). Pure: the graph is data.
 *
 * Graph inputs:  `pixels` [E, S, S, C] (NHWC, as the project's batches);
 *   `select` [E, 1] int64, the flat (channel, row, col) index into the examined node's output.
 * Graph outputs: `activation` [E, 1]; `projection` [E, C, S, S].
 */
import { inferGraphShapes } from '../graph/graph-shapes.js';
import { GRAPH_INPUT, findNode, type GraphNode, type GraphWeights, type ModelGraph } from '../graph/model-graph.js';
import type { OnnxModel, OnnxNode, OnnxTensor } from './onnx-codec.js';
import { ONNX_DATA_TYPE } from './onnx-schema.js';
import { lowerGraphNodes, nodesNeededFor } from './lower-graph-nodes.js';
import { wrapOnnxModel } from './onnx-model.js';
import { int64Tensor, makeNode, tensorValueInfo } from './onnx-values.js';
import { applyDownRule, type DeconvMethod, type DownContext } from './deconv-down-rules.js';

export const SELECT_INPUT = 'select';

/** ONNX pads of a max pool with PyTorch's ceil-mode cells as extra bottom/right padding. */
function poolPads(node: GraphNode, shapes: ReadonlyMap<string, number[]>): number[] {
  const op = node.op as Extract<GraphNode['op'], { op: 'maxpool' }>;
  const [, h, w] = shapes.get(node.inputs[0]!)!;
  const [, oh, ow] = shapes.get(node.name)!;
  const extra = (inPx: number, axis: 0 | 1, outPx: number): number => Math.max(0, (outPx - 1) * op.stride[axis] + op.window[axis] - (inPx + op.padding[axis * 2]! + op.padding[axis * 2 + 1]!));
  return [op.padding[0], op.padding[2], op.padding[1] + extra(h!, 0, oh!), op.padding[3] + extra(w!, 1, ow!)];
}

/** Switches: the pool again with its Indices output (first maximum in row-major window order, flat over [E, C, H, W]). */
function switchNode(node: GraphNode, shapes: ReadonlyMap<string, number[]>): OnnxNode {
  const op = node.op as Extract<GraphNode['op'], { op: 'maxpool' }>;
  return makeNode('MaxPool', `${node.name}/switches`, [node.inputs[0]!], [`${node.name}/switches/values`, `${node.name}/switches`], {
    kernel_shape: { ints: [...op.window] }, strides: { ints: [...op.stride] }, pads: { ints: poolPads(node, shapes) },
  });
}

/** The examined value of each entry and the signal that starts the way down: that value alone, zeros elsewhere. */
function startNodes(examined: string, size: number, shape: number[], constant: DownContext['constant']): { nodes: OnnxNode[]; signal: string } {
  const depth = constant('top/depth', int64Tensor('top/depth', [], [size]));
  const offOn = constant('top/off-on', { name: 'top/off-on', dims: [2], dataType: ONNX_DATA_TYPE.FLOAT, floatData: [0, 1] });
  const flatShape = constant('top/flat-shape', int64Tensor('top/flat-shape', [2], [-1, size]));
  const mapShape = constant('top/map-shape', int64Tensor('top/map-shape', [shape.length + 1], [-1, ...shape]));
  const axes = constant('top/axes', int64Tensor('top/axes', [1], [1]));
  return {
    signal: 'top/signal',
    nodes: [
      makeNode('Flatten', 'top/flat', [examined], ['top/flat'], { axis: { int: 1 } }),
      makeNode('OneHot', 'top/onehot', [SELECT_INPUT, depth, offOn], ['top/onehot'], { axis: { int: -1 } }), // [E, 1, size]
      makeNode('Reshape', 'top/mask', ['top/onehot', flatShape], ['top/mask']),
      makeNode('Mul', 'top/kept', ['top/flat', 'top/mask'], ['top/kept']),
      makeNode('ReduceSum', 'activation', ['top/kept', axes], ['activation'], { keepdims: { int: 1 } }),
      makeNode('Reshape', 'top/signal', ['top/kept', mapShape], ['top/signal']),
    ],
  };
}

/**
 * Builds the projection graph of `examined` (a node name) with `method`'s ReLU rule.
 * @throws RangeError naming the node when it is not in the graph or an op on the way down has no rule.
 */
export function buildGraphProjection(graph: ModelGraph, weights: GraphWeights, examined: string, method: DeconvMethod): OnnxModel {
  findNode(graph, examined);
  const shapes = inferGraphShapes(graph);
  const lowered = lowerGraphNodes(graph, weights, [examined], { lrn: 'pool' });
  const constants = new Map<string, OnnxTensor>();
  const ctx: DownContext = {
    graph, weights, method, shapes, nodes: [],
    constant: (name, tensor) => { if (!constants.has(name)) constants.set(name, { ...tensor, name }); return name; },
    switchesOf: (node) => `${node.name}/switches`,
  };
  const path = nodesNeededFor(graph, [examined]);
  const switches = path.filter((n) => n.op.op === 'maxpool').map((n) => switchNode(n, shapes));
  const shape = shapes.get(examined)!;
  const start = startNodes(examined, shape.reduce((a, b) => a * b, 1), shape, ctx.constant);
  ctx.nodes.push(...start.nodes);
  const arriving = new Map<string, string[]>([[examined, [start.signal]]]);
  const signalAt = (name: string): string => {
    const parts = arriving.get(name) ?? [];
    if (parts.length === 1) return parts[0]!;
    ctx.nodes.push(makeNode('Sum', `${name}/down/sum`, parts, [`${name}/down/sum`]));
    return `${name}/down/sum`;
  };
  for (const node of [...path].reverse()) {
    if (!arriving.has(node.name)) continue;
    const down = applyDownRule(node, signalAt(node.name), ctx);
    node.inputs.forEach((input, i) => arriving.set(input, [...(arriving.get(input) ?? []), down[i]!]));
  }
  ctx.nodes.push(makeNode('Identity', 'projection', [signalAt(GRAPH_INPUT)], ['projection']));
  const s = graph.input.sizePx;
  const model = wrapOnnxModel(graph, { nodes: [...lowered.nodes, ...switches, ...ctx.nodes], initializers: [...lowered.initializers, ...constants.values()] }, {
    kind: `projection-${method}`,
    description: JSON.stringify({ examined, method }),
    outputs: [tensorValueInfo('activation', ONNX_DATA_TYPE.FLOAT, ['E', 1]), tensorValueInfo('projection', ONNX_DATA_TYPE.FLOAT, ['E', graph.input.channels, s, s])],
  });
  model.graph.input!.push(tensorValueInfo(SELECT_INPUT, ONNX_DATA_TYPE.INT64, ['E', 1]));
  return model;
}
