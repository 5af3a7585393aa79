/**
 * The first conv layer of a graph, the one whose filters are drawn as RGB
 * pictures (the paper's layer 1, Fig. 6's filters): a conv with 3 input
 * channels (ungrouped) reading the image. Pure.
 */
import { permuteAxes } from '../model/torch-layout.js';
import { GRAPH_INPUT, findNode, type GraphLayer, type GraphNode, type GraphWeights, type ModelGraph } from './model-graph.js';

type ConvNode = GraphNode & { op: Extract<GraphNode['op'], { op: 'conv' }> };

/** Ops a conv layer's examined node may sit behind (the conv's nonlinearity and normalisation). */
const POINTWISE = new Set(['relu', 'leaky-relu', 'batchnorm', 'identity', 'dropout']);

function isImageConv(graph: ModelGraph, node: GraphNode): node is ConvNode {
  return node.op.op === 'conv' && node.op.groups === 1 && node.inputs[0] === GRAPH_INPUT && graph.weightShapes[node.op.weight]?.[1] === 3;
}

/** The image-reading conv behind `layer` (through its ReLU / BatchNorm), or null when the layer is not one. */
export function findImageConvOf(graph: ModelGraph, layer: Pick<GraphLayer, 'node'>): ConvNode | null {
  let node = findNode(graph, layer.node);
  while (POINTWISE.has(node.op.op) && node.inputs.length === 1 && node.inputs[0] !== GRAPH_INPUT) node = findNode(graph, node.inputs[0]!);
  return isImageConv(graph, node) ? node : null;
}

/** The first conv of the graph that reads the 3-channel image, with its layer (the layer examined after it); null when there is none. */
export function findFirstImageConv(graph: ModelGraph): { conv: ConvNode; layer: GraphLayer | null } | null {
  const conv = graph.nodes.find((n): n is ConvNode => isImageConv(graph, n));
  if (conv === undefined) return null;
  return { conv, layer: graph.layers.find((l) => findImageConvOf(graph, l) === conv) ?? null };
}

/**
 * A conv's filters in tfjs layout [kh, kw, in, out] (what src/experiments/filter-spectrum.ts reads),
 * from PyTorch layout [out, in, kh, kw].
 */
export function readConvFilters(graph: ModelGraph, weights: GraphWeights, conv: ConvNode): { values: Float32Array; shape: [number, number, number, number] } {
  const [out, inC, kh, kw] = graph.weightShapes[conv.op.weight] as [number, number, number, number];
  return { values: permuteAxes(weights.get(conv.op.weight)!, [out, inC, kh, kw], [2, 3, 1, 0]), shape: [kh, kw, inC, out] };
}
