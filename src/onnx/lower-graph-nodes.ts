/**
 * The forward part every ONNX builder shares: the nodes of a ModelGraph
 * (src/graph/model-graph.ts) as ONNX nodes, one lowering per op in a frozen
 * table, with the weights they read as initializers. Pure.
 *
 * Conventions of the graphs built here:
 * - The ONNX input is `pixels`, [N, S, S, C] float32 as the project's batches
 *   hold it (NHWC, mean-subtracted, 0..255); one Transpose gives the NCHW
 *   value GRAPH_INPUT that the graph's nodes read.
 * - Each IR node's output is the ONNX value of the same name; helper values
 *   of a multi-node lowering are named `<node>/<step>`.
 * - Max pooling: the ceil-mode rows and columns become explicit bottom/right
 *   padding (never winning a max), so the output size is the IR's (PyTorch's
 *   rule) whatever ceil rule the runtime follows.
 * - LRN: the project's formula (alpha not divided by size). `lrn: 'pool'`
 *   (default; the name is from its first form, an AveragePool across the
 *   channel axis) computes the formula explicitly, the window sum of squares
 *   as a banded channel matrix product, which is faster than onnxruntime's LRN
 *   kernel; `lrn: 'onnx'` uses ONNX LRN with alpha * size (ONNX divides by size).
 */
import { inferGraphShapes } from '../graph/graph-shapes.js';
import { GRAPH_INPUT, weightNamesOf, type GraphNode, type GraphOp, type GraphWeights, type ModelGraph } from '../graph/model-graph.js';
import type { OnnxNode, OnnxTensor } from './onnx-codec.js';
import { float32Tensor, int64Tensor, makeNode } from './onnx-values.js';

/** The ONNX graph input every builder uses. */
export const PIXELS_INPUT = 'pixels';

export type LrnForm = 'pool' | 'onnx';
export const LRN_FORMS: readonly LrnForm[] = Object.freeze(['pool', 'onnx']);

export interface LowerOptions {
  lrn: LrnForm;
  /**
   * Training graphs: weights are graph inputs fed each run (named as the
   * weights), not initializers, so they can change between runs.
   */
  weightsAsInputs?: boolean;
  /** Training graphs: the value holding a dropout node's mask (0 or 1 / (1 - rate) per element); none: identity. */
  dropoutMaskOf?: (node: GraphNode) => string | null;
  /** Max pools also output their switches (flat Indices into the input) as `<node>/switches`. */
  switches?: boolean;
}

/** The value holding a max pool's switches when lowered with `switches`. */
export function switchesName(node: string): string {
  return `${node}/switches`;
}

/** Nodes and initializers of a lowered graph part. */
export interface LoweredNodes {
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
}

interface LowerContext {
  node: GraphNode;
  /** N-less input shape of the first input. */
  inputShape: number[];
  outputShape: number[];
  options: LowerOptions;
  /** Adds a constant initializer and returns its name. */
  constant: (name: string, tensor: OnnxTensor) => string;
}

type Lowering<O extends GraphOp> = (op: O, ctx: LowerContext) => OnnxNode[];
type LoweringTable = { readonly [K in GraphOp['op']]: Lowering<Extract<GraphOp, { op: K }>> };

/** ONNX pads [top, left, bottom, right] from Padding4 [top, bottom, left, right]. */
function onnxPads(p: readonly number[]): number[] {
  return [p[0]!, p[2]!, p[1]!, p[3]!];
}

/** Padding that makes a floor-mode window op give `outPx` cells: ceil mode's extra cells go bottom/right. */
function extraPadPx(inPx: number, before: number, after: number, window: number, stride: number, outPx: number): number {
  return Math.max(0, (outPx - 1) * stride + window - (inPx + before + after));
}

function windowPads(ctx: LowerContext, window: readonly number[], stride: readonly number[], padding: readonly number[]): number[] {
  const [, h, w] = ctx.inputShape as [number, number, number];
  const [, oh, ow] = ctx.outputShape as [number, number, number];
  const bottom = padding[1]! + extraPadPx(h, padding[0]!, padding[1]!, window[0]!, stride[0]!, oh);
  const right = padding[3]! + extraPadPx(w, padding[2]!, padding[3]!, window[1]!, stride[1]!, ow);
  return onnxPads([padding[0]!, bottom, padding[2]!, right]);
}

/**
 * The banded [C, C] matrix of a window of `size` channels times `scale`: row i
 * holds `scale` at the channels of i's window (the missing ones at the ends
 * count as zeros); `transposed` gives its transpose (channels c with i in
 * window(c)), which differs only for even sizes.
 */
export function channelWindowMatrix(channels: number, size: number, scale: number, transposed = false): Float32Array {
  const before = Math.floor((size - 1) / 2);
  const band = new Float32Array(channels * channels);
  for (let i = 0; i < channels; i++) {
    for (let j = Math.max(0, i - before); j <= Math.min(channels - 1, i - before + size - 1); j++) band[transposed ? j * channels + i : i * channels + j] = scale;
  }
  return band;
}

/**
 * Nodes giving `scale` times the sum of `x` ([N, C, H, W]) over a window of
 * `size` channels: one MatMul of the banded matrix (channelWindowMatrix) with
 * x seen as [N, C, H*W]. Measured faster than an AveragePool across the
 * channel axis (a strided reduction) and than onnxruntime's LRN kernel.
 */
export function channelWindowSumNodes(prefix: string, x: string, shape: readonly number[], size: number, scale: number, constant: (name: string, tensor: OnnxTensor) => string, transposed = false): { nodes: OnnxNode[]; output: string } {
  const [c, h, w] = shape as [number, number, number];
  const s = (step: string): string => `${prefix}/${step}`;
  const planes = constant(`${prefix}/planes-shape`, int64Tensor(`${prefix}/planes-shape`, [3], [-1, c, h * w]));
  const back = constant(`${prefix}/map-shape`, int64Tensor(`${prefix}/map-shape`, [4], [-1, c, h, w]));
  const band = constant(`${prefix}/band`, float32Tensor(`${prefix}/band`, [c, c], channelWindowMatrix(c, size, scale, transposed)));
  return {
    output: s('sum'),
    nodes: [
      makeNode('Reshape', s('planes'), [x, planes], [s('planes')]), // [N, C, H*W]
      makeNode('MatMul', s('window'), [band, s('planes')], [s('window')]),
      makeNode('Reshape', s('sum'), [s('window'), back], [s('sum')]),
    ],
  };
}

/** Nodes raising `base` to `beta` (`name` is the result); 0.75 as sqrt(base) * sqrt(sqrt(base)), correctly rounded square roots instead of exp/log. */
export function powerNodes(name: string, base: string, beta: number, constant: (name: string, tensor: OnnxTensor) => string): OnnxNode[] {
  if (beta === 0.75) {
    return [
      makeNode('Sqrt', `${name}/sqrt`, [base], [`${name}/root`]),
      makeNode('Sqrt', `${name}/sqrt2`, [`${name}/root`], [`${name}/root4`]),
      makeNode('Mul', name, [`${name}/root`, `${name}/root4`], [name]),
    ];
  }
  const exponent = constant(`${name}/beta`, float32Tensor(`${name}/beta`, [], new Float32Array([beta])));
  return [makeNode('Pow', name, [base, exponent], [name])];
}

/** The LRN base s = k + alpha * window sum of squares, as nodes (output `<prefix>/base`). */
export function lrnBaseNodes(prefix: string, x: string, shape: readonly number[], op: Extract<GraphOp, { op: 'lrn' }>, constant: (name: string, tensor: OnnxTensor) => string): { nodes: OnnxNode[]; output: string } {
  const bias = constant(`${prefix}/k`, float32Tensor(`${prefix}/k`, [], new Float32Array([op.k])));
  const window = channelWindowSumNodes(`${prefix}/window`, `${prefix}/square`, shape, op.size, op.alpha, constant);
  return {
    output: `${prefix}/base`,
    nodes: [
      makeNode('Mul', `${prefix}/square`, [x, x], [`${prefix}/square`]),
      ...window.nodes,
      makeNode('Add', `${prefix}/base`, [window.output, bias], [`${prefix}/base`]),
    ],
  };
}

function lowerLrn(op: Extract<GraphOp, { op: 'lrn' }>, ctx: LowerContext): OnnxNode[] {
  const { name, inputs } = ctx.node;
  const x = inputs[0]!;
  if (ctx.options.lrn === 'onnx') {
    return [makeNode('LRN', name, [x], [name], { size: { int: op.size }, alpha: { float: op.alpha * op.size }, beta: { float: op.beta }, bias: { float: op.k } })];
  }
  const base = lrnBaseNodes(name, x, ctx.inputShape, op, ctx.constant);
  return [...base.nodes, ...powerNodes(`${name}/denominator`, base.output, op.beta, ctx.constant), makeNode('Div', name, [x, `${name}/denominator`], [name])];
}

const LOWERINGS: LoweringTable = {
  conv: (op, ctx) => [makeNode('Conv', ctx.node.name, [ctx.node.inputs[0]!, op.weight, ...(op.bias === null ? [] : [op.bias])], [ctx.node.name], {
    kernel_shape: { ints: [...op.kernel] }, strides: { ints: [...op.stride] }, pads: { ints: onnxPads(op.padding) },
    dilations: { ints: [...op.dilation] }, group: { int: op.groups },
  })],
  relu: (_op, ctx) => [makeNode('Relu', ctx.node.name, [ctx.node.inputs[0]!], [ctx.node.name])],
  'leaky-relu': (op, ctx) => [makeNode('LeakyRelu', ctx.node.name, [ctx.node.inputs[0]!], [ctx.node.name], { alpha: { float: op.alpha } })],
  maxpool: (op, ctx) => [makeNode('MaxPool', ctx.node.name, [ctx.node.inputs[0]!], ctx.options.switches === true ? [ctx.node.name, switchesName(ctx.node.name)] : [ctx.node.name], {
    kernel_shape: { ints: [...op.window] }, strides: { ints: [...op.stride] }, pads: { ints: windowPads(ctx, op.window, op.stride, op.padding) },
  })],
  // As torch.onnx exports it: ONNX's own ceil_mode and count_include_pad (opset 19 ceil rule, as PyTorch's).
  avgpool: (op, ctx) => [makeNode('AveragePool', ctx.node.name, [ctx.node.inputs[0]!], [ctx.node.name], {
    kernel_shape: { ints: [...op.window] }, strides: { ints: [...op.stride] }, pads: { ints: onnxPads(op.padding) },
    ceil_mode: { int: op.ceilMode ? 1 : 0 }, count_include_pad: { int: op.countIncludePad ? 1 : 0 },
  })],
  'global-avgpool': (_op, ctx) => [makeNode('GlobalAveragePool', ctx.node.name, [ctx.node.inputs[0]!], [ctx.node.name])],
  batchnorm: (op, ctx) => [makeNode('BatchNormalization', ctx.node.name, [ctx.node.inputs[0]!, op.scale, op.bias, op.mean, op.variance], [ctx.node.name], { epsilon: { float: op.epsilon } })],
  lrn: lowerLrn,
  dense: (op, ctx) => [makeNode('Gemm', ctx.node.name, [ctx.node.inputs[0]!, op.weight, ...(op.bias === null ? [] : [op.bias])], [ctx.node.name], { transB: { int: 1 } })],
  add: (_op, ctx) => [makeNode('Sum', ctx.node.name, ctx.node.inputs.slice(), [ctx.node.name])],
  concat: (op, ctx) => [makeNode('Concat', ctx.node.name, ctx.node.inputs.slice(), [ctx.node.name], { axis: { int: op.axis + 1 } })],
  flatten: (_op, ctx) => [makeNode('Flatten', ctx.node.name, [ctx.node.inputs[0]!], [ctx.node.name], { axis: { int: 1 } })],
  dropout: (_op, ctx) => {
    const mask = ctx.options.dropoutMaskOf?.(ctx.node) ?? null;
    return [mask === null ? makeNode('Identity', ctx.node.name, [ctx.node.inputs[0]!], [ctx.node.name]) : makeNode('Mul', ctx.node.name, [ctx.node.inputs[0]!, mask], [ctx.node.name])];
  },
  identity: (_op, ctx) => [makeNode('Identity', ctx.node.name, [ctx.node.inputs[0]!], [ctx.node.name])],
  softmax: (_op, ctx) => [makeNode('Softmax', ctx.node.name, [ctx.node.inputs[0]!], [ctx.node.name], { axis: { int: -1 } })],
};

/** The lowering of each IR op, by op name. */
export const ONNX_LOWERINGS: LoweringTable = Object.freeze(LOWERINGS);

/** The IR nodes `outputs` depend on, in graph order. */
export function nodesNeededFor(graph: ModelGraph, outputs: readonly string[]): GraphNode[] {
  const byName = new Map(graph.nodes.map((node) => [node.name, node]));
  const needed = new Set<string>();
  const stack = outputs.filter((name) => name !== GRAPH_INPUT);
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (needed.has(name)) continue;
    const node = byName.get(name);
    if (node === undefined) throw new RangeError(`Graph ${graph.name} has no node named ${name}`);
    needed.add(name);
    stack.push(...node.inputs.filter((input) => input !== GRAPH_INPUT));
  }
  return graph.nodes.filter((node) => needed.has(node.name));
}

/**
 * The ONNX nodes computing `outputs` (IR node names) from PIXELS_INPUT, and
 * the weights they read as initializers (views of `weights`), unless
 * `options.weightsAsInputs` (then `weights` is not read).
 * @throws RangeError naming the node or weight that is missing or has the wrong size.
 */
export function lowerGraphNodes(graph: ModelGraph, weights: GraphWeights, outputs: readonly string[], options: LowerOptions): LoweredNodes {
  const shapes = inferGraphShapes(graph);
  const nodes: OnnxNode[] = [makeNode('Transpose', 'pixels/nchw', [PIXELS_INPUT], [GRAPH_INPUT], { perm: { ints: [0, 3, 1, 2] } })];
  const initializers: OnnxTensor[] = [];
  const seenWeights = new Set<string>();
  const constant = (name: string, tensor: OnnxTensor): string => {
    initializers.push(tensor);
    return name;
  };
  for (const node of nodesNeededFor(graph, outputs)) {
    for (const weight of weightNamesOf(node.op)) {
      if (seenWeights.has(weight)) continue;
      seenWeights.add(weight);
      if (options.weightsAsInputs !== true) initializers.push(weightTensor(graph, weights, weight));
    }
    const ctx: LowerContext = { node, inputShape: shapes.get(node.inputs[0]!)!, outputShape: shapes.get(node.name)!, options, constant };
    const lowering = ONNX_LOWERINGS[node.op.op] as Lowering<GraphOp>;
    nodes.push(...lowering(node.op, ctx));
  }
  return { nodes, initializers };
}

function weightTensor(graph: ModelGraph, weights: GraphWeights, name: string): OnnxTensor {
  const data = weights.get(name);
  if (data === undefined) throw new RangeError(`Weights for ${graph.name} have no tensor ${name}`);
  return float32Tensor(name, graph.weightShapes[name]!, data);
}
