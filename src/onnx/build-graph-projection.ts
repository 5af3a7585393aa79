/**
 * Projections to pixel space for any ModelGraph (residual joins, concat,
 * batch norm, average pools, dense layers), full frame, batched over entries:
 * the forward engine's nodes (lower-graph-nodes.ts) up to the examined node,
 * each max pool's switches, the examined activation of each entry, then the
 * way down in reverse graph order with one rule per op (deconv-down-rules.ts).
 * A node read by several others (a residual block's input) receives the sum
 * of what comes down each of them (propagate-down.ts). `method` picks the ReLU rule: the
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
import { lowerGraphNodes, nodesNeededFor, switchesName } from './lower-graph-nodes.js';
import { wrapOnnxModel } from './onnx-model.js';
import { int64Tensor, makeNode, tensorValueInfo } from './onnx-values.js';
import type { DeconvMethod, DownContext } from './deconv-down-rules.js';
import { propagateDown } from './propagate-down.js';

export const SELECT_INPUT = 'select';

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
  // Max pools output their switches too (first maximum in row-major window order, flat over [E, C, H, W]).
  const lowered = lowerGraphNodes(graph, weights, [examined], { lrn: 'pool', switches: true });
  const constants = new Map<string, OnnxTensor>();
  const ctx: DownContext = {
    graph, weights, method, shapes, nodes: [],
    constant: (name, tensor) => { if (!constants.has(name)) constants.set(name, { ...tensor, name }); return name; },
    switchesOf: (node) => switchesName(node.name),
  };
  const path = nodesNeededFor(graph, [examined]);
  const shape = shapes.get(examined)!;
  const start = startNodes(examined, shape.reduce((a, b) => a * b, 1), shape, ctx.constant);
  ctx.nodes.push(...start.nodes);
  const signalAt = propagateDown(ctx, { path, start: new Map([[examined, start.signal]]) });
  ctx.nodes.push(makeNode('Identity', 'projection', [signalAt(GRAPH_INPUT)!], ['projection']));
  const s = graph.input.sizePx;
  const model = wrapOnnxModel(graph, { nodes: [...lowered.nodes, ...ctx.nodes], initializers: [...lowered.initializers, ...constants.values()] }, {
    kind: `projection-${method}`,
    description: JSON.stringify({ examined, method }),
    outputs: [tensorValueInfo('activation', ONNX_DATA_TYPE.FLOAT, ['E', 1]), tensorValueInfo('projection', ONNX_DATA_TYPE.FLOAT, ['E', graph.input.channels, s, s])],
  });
  model.graph.input!.push(tensorValueInfo(SELECT_INPUT, ONNX_DATA_TYPE.INT64, ['E', 1]));
  return model;
}
