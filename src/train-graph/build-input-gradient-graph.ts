/**
 * The input-gradient graph: for each row b of a batch, one unit's activation
 * (the objective) and its exact gradient with respect to the row's pixels,
 * d objective[b] / d pixels[b]. Preferred inputs (activation maximisation)
 * climb it. The way down is the training step's: the `exact` rules of
 * src/onnx/deconv-down-rules.ts (ReLU masks, max-pool switches with shared
 * winners adding, LRN's exact derivative; dropout and batch norm as at
 * inference). Pure: the graph is data.
 *
 * Graph inputs:  `pixels` [B, S, S, C] float32 NHWC in the model's input scale;
 *   `unit` [B] int64, the channel (or feature) of each row.
 * Graph outputs: `objective` [B]; `gradient` [B, S, S, C] NHWC.
 */
import { inferGraphShapes } from '../graph/graph-shapes.js';
import { GRAPH_INPUT, findNode, type GraphWeights, type ModelGraph } from '../graph/model-graph.js';
import { type DownContext, propagateDown } from '../onnx/deconv-graphs.js';
import { float32Tensor, int64Tensor, makeNode, ONNX_DATA_TYPE, type OnnxModel, type OnnxNode, type OnnxTensor, tensorValueInfo } from '../onnx/onnx-format.js';
import { lowerGraphNodes, nodesNeededFor, switchesName, wrapOnnxModel } from '../onnx/forward-graphs.js';

export const UNIT_INPUT = 'unit';
export const OBJECTIVE_OUTPUT = 'objective';
export const GRADIENT_OUTPUT = 'gradient';

/** centre: the unit's value at the centre cell (floor(H/2), floor(W/2)); mean: its spatial mean. A 1-D layer's value is both. */
export type ObjectiveKind = 'centre' | 'mean';
export const OBJECTIVE_KINDS: readonly ObjectiveKind[] = Object.freeze(['centre', 'mean']);

export interface InputGradientOptions {
  /** IR node name of the examined layer (GraphLayer.node). */
  node: string;
  objective: ObjectiveKind;
}

/** The weight of each cell of one channel in the objective: [H * W] (a one-hot centre, or 1 / (H * W) everywhere). */
export function objectiveCellWeights(shape: readonly number[], objective: ObjectiveKind): Float32Array {
  if (shape.length === 1) return Float32Array.of(1);
  const [, h, w] = shape as [number, number, number];
  if (objective === 'mean') return new Float32Array(h * w).fill(1 / (h * w));
  const cells = new Float32Array(h * w);
  cells[Math.floor(h / 2) * w + Math.floor(w / 2)] = 1;
  return cells;
}

/** The objective and its gradient at the examined node: onehot(unit) x cell weights, [B, ...shape]. */
function objectiveNodes(node: string, shape: readonly number[], objective: ObjectiveKind, constant: DownContext['constant']): { nodes: OnnxNode[]; signal: string } {
  const channels = shape[0]!;
  const cells = objectiveCellWeights(shape, objective);
  const n = (step: string): string => `objective/${step}`;
  const depth = constant(n('depth'), int64Tensor(n('depth'), [], [channels]));
  const offOn = constant(n('off-on'), float32Tensor(n('off-on'), [2], Float32Array.of(0, 1)));
  const pattern = constant(n('cells'), float32Tensor(n('cells'), [1, 1, cells.length], cells));
  const unitAxis = constant(n('unit-axis'), int64Tensor(n('unit-axis'), [1], [2]));
  const mapShape = constant(n('map-shape'), int64Tensor(n('map-shape'), [shape.length + 1], [-1, ...shape]));
  const flatShape = constant(n('flat-shape'), int64Tensor(n('flat-shape'), [2], [-1, channels * cells.length]));
  const rowAxis = constant(n('row-axis'), int64Tensor(n('row-axis'), [1], [1]));
  return {
    signal: n('signal'),
    nodes: [
      makeNode('OneHot', n('onehot'), [UNIT_INPUT, depth, offOn], [n('onehot')], { axis: { int: -1 } }), // [B, C]
      makeNode('Unsqueeze', n('unsqueeze'), [n('onehot'), unitAxis], [n('channel')]), // [B, C, 1]
      makeNode('Mul', n('weights'), [n('channel'), pattern], [n('weights')]), // [B, C, H*W]
      makeNode('Reshape', n('signal'), [n('weights'), mapShape], [n('signal')]),
      makeNode('Reshape', n('flat-weights'), [n('weights'), flatShape], [n('flat-weights')]),
      makeNode('Reshape', n('flat-values'), [node, flatShape], [n('flat-values')]),
      makeNode('Mul', n('weighted'), [n('flat-values'), n('flat-weights')], [n('weighted')]),
      makeNode('ReduceSum', OBJECTIVE_OUTPUT, [n('weighted'), rowAxis], [OBJECTIVE_OUTPUT], { keepdims: { int: 0 } }),
    ],
  };
}

/**
 * Builds the input-gradient graph of `options.node`.
 * @throws RangeError naming the node when it is not in the graph, or an op on the way down that has no rule.
 */
export function buildInputGradientGraph(graph: ModelGraph, weights: GraphWeights, options: InputGradientOptions): OnnxModel {
  findNode(graph, options.node);
  const shapes = inferGraphShapes(graph);
  const lowered = lowerGraphNodes(graph, weights, [options.node], { lrn: 'pool', switches: true });
  const constants = new Map<string, OnnxTensor>();
  const ctx: DownContext = {
    graph, weights, method: 'exact', shapes, nodes: [],
    constant: (name, tensor) => { if (!constants.has(name)) constants.set(name, { ...tensor, name }); return name; },
    switchesOf: (node) => switchesName(node.name),
  };
  const start = objectiveNodes(options.node, shapes.get(options.node)!, options.objective, ctx.constant);
  ctx.nodes.push(...start.nodes);
  const signalAt = propagateDown(ctx, { path: nodesNeededFor(graph, [options.node]), start: new Map([[options.node, start.signal]]) });
  const down = signalAt(GRAPH_INPUT);
  if (down === null) throw new RangeError(`Node ${options.node} of ${graph.name} does not depend on the image`);
  ctx.nodes.push(makeNode('Transpose', GRADIENT_OUTPUT, [down], [GRADIENT_OUTPUT], { perm: { ints: [0, 2, 3, 1] } }));
  const { sizePx: s, channels } = graph.input;
  const model = wrapOnnxModel(graph, { nodes: [...lowered.nodes, ...ctx.nodes], initializers: [...lowered.initializers, ...constants.values()] }, {
    kind: 'input-gradient',
    description: JSON.stringify(options),
    outputs: [tensorValueInfo(OBJECTIVE_OUTPUT, ONNX_DATA_TYPE.FLOAT, ['N']), tensorValueInfo(GRADIENT_OUTPUT, ONNX_DATA_TYPE.FLOAT, ['N', s, s, channels])],
  });
  model.graph.input!.push(tensorValueInfo(UNIT_INPUT, ONNX_DATA_TYPE.INT64, ['N']));
  return model;
}
