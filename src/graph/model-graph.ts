/**
 * The model as a graph of named nodes: the one description that every engine
 * builder (ONNX forward graphs, deconvnet graphs) and every graph analysis
 * (shapes, receptive fields) reads. The project's own architectures are
 * lowered into it by `lowerModelConfig`; imported models (ONNX files,
 * torchvision state_dicts) map into the same form, so one engine serves both.
 *
 * Conventions, fixed here once:
 * - Layout is NCHW, as in ONNX and PyTorch. Shapes below leave out N.
 * - Weights are named (`conv1.weight`, `features.3.bias`) and live outside the
 *   graph, in PyTorch layout: conv [out, in / groups, kh, kw], dense [out, in].
 * - Padding4 is [top, bottom, left, right] as in src/model/spec.ts (ONNX pads
 *   are [top, left, bottom, right]: builders convert).
 * - LRN's alpha is the project's (NOT divided by the window size, see
 *   zfnet-paper.md); an ONNX importer multiplies ONNX's alpha by 1/size.
 * - Nodes are in topological order; `inputs` name earlier nodes or the graph
 *   input `GRAPH_INPUT`.
 * Pure data and pure functions only.
 */
import type { Padding4 } from '../model/spec.js';

/** The name of the graph's single image input, [3, S, S]. */
export const GRAPH_INPUT = 'input';

export type Pair = [number, number];

export interface ConvOp { op: 'conv'; weight: string; bias: string | null; outChannels: number; kernel: Pair; stride: Pair; padding: Padding4; dilation: Pair; groups: number }
export interface ReluOp { op: 'relu' }
export interface LeakyReluOp { op: 'leaky-relu'; alpha: number }
/** ceilMode: PyTorch ceil_mode (the last window may run past bottom/right; missing cells never win). */
export interface MaxPoolOp { op: 'maxpool'; window: Pair; stride: Pair; padding: Padding4; ceilMode: boolean }
export interface AvgPoolOp { op: 'avgpool'; window: Pair; stride: Pair; padding: Padding4; ceilMode: boolean; countIncludePad: boolean }
export interface GlobalAvgPoolOp { op: 'global-avgpool' }
/** Inference batch norm: y = (x - mean) / sqrt(variance + epsilon) * scale + bias, per channel. */
export interface BatchNormOp { op: 'batchnorm'; scale: string; bias: string; mean: string; variance: string; epsilon: number }
/** b = a / (k + alpha * sum_{size channels} a^2)^beta, alpha not divided by size. */
export interface LrnOp { op: 'lrn'; size: number; k: number; alpha: number; beta: number }
/** y = x W^T + b with W [out, in] (PyTorch Linear, ONNX Gemm transB = 1). */
export interface DenseOp { op: 'dense'; weight: string; bias: string | null; outUnits: number }
/** Elementwise sum of its inputs (residual joins). */
export interface AddOp { op: 'add' }
/** Joins its inputs along `axis` of the N-less shape (0 = channels). */
export interface ConcatOp { op: 'concat'; axis: number }
/** [C, H, W] -> [C * H * W] in row-major NCHW order (PyTorch's flatten). */
export interface FlattenOp { op: 'flatten' }
export interface DropoutOp { op: 'dropout'; rate: number }
export interface IdentityOp { op: 'identity' }
/** Softmax over the last axis. */
export interface SoftmaxOp { op: 'softmax' }

export type GraphOp =
  | ConvOp | ReluOp | LeakyReluOp | MaxPoolOp | AvgPoolOp | GlobalAvgPoolOp | BatchNormOp
  | LrnOp | DenseOp | AddOp | ConcatOp | FlattenOp | DropoutOp | IdentityOp | SoftmaxOp;

export type GraphOpName = GraphOp['op'];

export interface GraphNode {
  /** Unique; the model's own name (`conv1`, `features.3`, `layer3.1.conv2`). */
  name: string;
  op: GraphOp;
  /** Earlier node names or GRAPH_INPUT. */
  inputs: string[];
}

/** An analysable layer: a node whose output holds units (channels of a map, or features). */
export interface GraphLayer {
  /** The name users type and see (`conv1`, `features.3`). */
  name: string;
  /** The node whose output is examined (for conv layers: after the nonlinearity). */
  node: string;
  kind: 'conv' | 'pool' | 'norm' | 'dense' | 'logits' | 'probs' | 'other';
  /** Shorter names accepted for it (`c1`); may be empty. */
  aliases: string[];
}

export interface ModelGraph {
  /** Architecture or model name. */
  name: string;
  input: { channels: number; sizePx: number };
  nodes: GraphNode[];
  /** Node giving the logits. */
  logits: string;
  /** Node giving class probabilities, when the graph has one. */
  probs: string | null;
  /** Named layers, in forward order. */
  layers: GraphLayer[];
  /** Shape of every weight, PyTorch layout. */
  weightShapes: Record<string, number[]>;
}

/** Weight values by name, PyTorch layout (row-major). */
export type GraphWeights = ReadonlyMap<string, Float32Array>;

/**
 * Finds a node by name.
 * @throws RangeError naming the node and the graph when it is missing.
 */
export function findNode(graph: ModelGraph, name: string): GraphNode {
  const node = graph.nodes.find((candidate) => candidate.name === name);
  if (node === undefined) throw new RangeError(`Graph ${graph.name} has no node named ${name}`);
  return node;
}

/**
 * Finds a layer by name or alias.
 * @throws RangeError listing the graph's layer names when none matches.
 */
export function findLayer(graph: ModelGraph, name: string): GraphLayer {
  const layer = graph.layers.find((candidate) => candidate.name === name || candidate.aliases.includes(name));
  if (layer === undefined) {
    throw new RangeError(`Expected one of the layers ${graph.layers.map((l) => l.name).join(', ')} of ${graph.name} but received ${name}`);
  }
  return layer;
}

/**
 * Checks that names are unique, inputs refer to earlier nodes, and every
 * weight an op names has a shape.
 * @throws RangeError naming the first offending node.
 */
export function validateGraph(graph: ModelGraph): void {
  const seen = new Set<string>([GRAPH_INPUT]);
  for (const node of graph.nodes) {
    if (seen.has(node.name)) throw new RangeError(`Graph ${graph.name}: node name ${node.name} is used twice (or is the input's name)`);
    for (const input of node.inputs) {
      if (!seen.has(input)) throw new RangeError(`Graph ${graph.name}: node ${node.name} reads ${input}, which is not an earlier node`);
    }
    for (const weight of weightNamesOf(node.op)) {
      if (!Object.hasOwn(graph.weightShapes, weight)) throw new RangeError(`Graph ${graph.name}: node ${node.name} uses weight ${weight}, which has no shape`);
    }
    seen.add(node.name);
  }
  for (const name of [graph.logits, ...(graph.probs === null ? [] : [graph.probs]), ...graph.layers.map((l) => l.node)]) {
    if (!seen.has(name)) throw new RangeError(`Graph ${graph.name}: ${name} is named as an output but is not a node`);
  }
}

/** The weight names an op reads, in a fixed order. */
export function weightNamesOf(op: GraphOp): string[] {
  switch (op.op) {
    case 'conv':
    case 'dense':
      return op.bias === null ? [op.weight] : [op.weight, op.bias];
    case 'batchnorm':
      return [op.scale, op.bias, op.mean, op.variance];
    default:
      return [];
  }
}

/** Nodes that read each node's output (the graph's edges, reversed). */
export function consumersOf(graph: ModelGraph): Map<string, string[]> {
  const consumers = new Map<string, string[]>([[GRAPH_INPUT, []]]);
  for (const node of graph.nodes) consumers.set(node.name, []);
  for (const node of graph.nodes) for (const input of node.inputs) consumers.get(input)!.push(node.name);
  return consumers;
}
