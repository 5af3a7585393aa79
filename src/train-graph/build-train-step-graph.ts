/**
 * The training step of the project's architectures as ONNX graphs run by
 * onnxruntime: forward (max pools with their switches, dropout through masks
 * fed in), softmax cross-entropy, the way down with the `exact` rules of
 * src/onnx/deconv-down-rules.ts plus each layer's parameter gradients
 * (param-gradients.ts), and the SGD update inside the graph
 * (loss-and-update.ts). Weights and momentum buffers are graph inputs and
 * outputs (PyTorch layout, named as the checkpoint names them), so one graph
 * serves every step. Pure: the graph is data.
 *
 * Three kinds:
 *   step       one whole SGD step: inputs pixels, labels, loss-scale, masks,
 *              weights, velocities, lr, momentum (, weight-decay);
 *              outputs loss, logits, next weights, next velocities
 *   gradients  a micro-batch's gradients (summed over micro-batches by the
 *              caller): outputs loss, logits, grad/<weight>
 *   update     the update alone from summed gradients: inputs weights,
 *              velocities, grad/<weight>, lr, momentum (, weight-decay)
 *
 * Names: pixels [N, S, S, C] NHWC; labels [N] int64; loss-scale [] (1 / batch
 * size); mask/<dropout node> [N, units] holding 0 or 1 / (1 - rate);
 * weights `conv1.weight`; velocities `velocity/conv1.weight`; outputs
 * `next/conv1.weight`, `next-velocity/conv1.weight`, `grad/conv1.weight`.
 */
import { inferGraphShapes } from '../graph/graph-shapes.js';
import { GRAPH_INPUT, weightNamesOf, type GraphNode, type ModelGraph } from '../graph/model-graph.js';
import { type DownContext, propagateDown } from '../onnx/deconv-graphs.js';
import { ONNX_DATA_TYPE, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo, tensorValueInfo } from '../onnx/onnx-format.js';
import { BUILT_IR_VERSION, BUILT_OPSET, lowerGraphNodes, nodesNeededFor, PIXELS_INPUT, switchesName } from '../onnx/forward-graphs.js';
import { emitParamGradients, gradientName } from './param-gradients.js';
import {
  LABELS_INPUT, LEARNING_RATE_INPUT, LOGITS_OUTPUT, LOSS_OUTPUT, LOSS_SCALE_INPUT, lossNodes, MOMENTUM_INPUT, updateNodes, WEIGHT_DECAY_INPUT,
} from './loss-and-update.js';

export type TrainGraphKind = 'step' | 'gradients' | 'update';

export interface TrainGraphOptions {
  kind: TrainGraphKind;
  /** RMS cap of conv filters after each update (0: no renormalisation). */
  filterRadius: number;
  /** Whether the update reads weight-decay (false leaves the term out of the graph). */
  weightDecay: boolean;
}

/** The value holding a dropout node's mask. */
export function maskInputName(dropoutNode: string): string {
  return `mask/${dropoutNode}`;
}

export function velocityInputName(weight: string): string {
  return `velocity/${weight}`;
}

export function nextWeightName(weight: string): string {
  return `next/${weight}`;
}

export function nextVelocityName(weight: string): string {
  return `next-velocity/${weight}`;
}

/** The parameters the step learns, in graph order, with their PyTorch-layout shapes. */
export function trainableWeights(graph: ModelGraph): Array<{ name: string; shape: number[] }> {
  return graph.nodes.flatMap((node) => weightNamesOf(node.op)).map((name) => ({ name, shape: graph.weightShapes[name]! }));
}

/** The dropout nodes of the forward pass to the logits, with their mask shapes (N-less). */
export function dropoutMasks(graph: ModelGraph): Array<{ node: string; input: string; rate: number; shape: number[] }> {
  const shapes = inferGraphShapes(graph);
  return nodesNeededFor(graph, [graph.logits])
    .filter((node): node is GraphNode & { op: { op: 'dropout'; rate: number } } => node.op.op === 'dropout')
    .map((node) => ({ node: node.name, input: maskInputName(node.name), rate: node.op.rate, shape: shapes.get(node.name)! }));
}

const TRAINABLE_PATH_OPS: ReadonlySet<string> = new Set(['conv', 'relu', 'maxpool', 'lrn', 'flatten', 'dense', 'dropout']);

function checkTrainable(graph: ModelGraph, path: readonly GraphNode[]): void {
  const other = path.find((node) => !TRAINABLE_PATH_OPS.has(node.op.op));
  if (other !== undefined) {
    throw new RangeError(`The onnx training step has no rule for op ${other.op.op} (node ${other.name} of ${graph.name}); it trains ${[...TRAINABLE_PATH_OPS].join(', ')}`);
  }
}

interface Parts { nodes: OnnxNode[]; constants: Map<string, OnnxTensor>; inputs: OnnxValueInfo[]; outputs: OnnxValueInfo[] }

const F = ONNX_DATA_TYPE.FLOAT;

function constantAdder(parts: Parts): (name: string, tensor: OnnxTensor) => string {
  return (name, tensor) => {
    if (!parts.constants.has(name)) parts.constants.set(name, { ...tensor, name });
    return name;
  };
}

/** Forward, loss and the way down; every parameter's gradient ends in grad/<weight>. */
function addGradients(graph: ModelGraph, parts: Parts): void {
  const path = nodesNeededFor(graph, [graph.logits]);
  checkTrainable(graph, path);
  const masks = new Map(dropoutMasks(graph).map((mask) => [mask.node, mask.input]));
  const dropoutMaskOf = (node: GraphNode): string | null => masks.get(node.name) ?? null;
  const lowered = lowerGraphNodes(graph, new Map(), [graph.logits], { lrn: 'pool', weightsAsInputs: true, switches: true, dropoutMaskOf });
  parts.nodes.push(...lowered.nodes);
  for (const tensor of lowered.initializers) parts.constants.set(tensor.name!, tensor);
  const constant = constantAdder(parts);
  const shapes = inferGraphShapes(graph);
  const loss = lossNodes(graph.logits, shapes.get(graph.logits)![0]!, constant);
  parts.nodes.push(...loss.nodes);
  const ctx: DownContext = { graph, weights: new Map(), method: 'exact', shapes, nodes: parts.nodes, constant, switchesOf: (node) => switchesName(node.name), dropoutMaskOf };
  propagateDown(ctx, {
    path, start: new Map([[graph.logits, loss.dlogits]]), noSignalFor: new Set([GRAPH_INPUT]),
    onNode: (node, g) => emitParamGradients(node, g, { shapes, nodes: parts.nodes, constant }),
  });
  const { sizePx: s, channels } = graph.input;
  parts.inputs.push(
    tensorValueInfo(PIXELS_INPUT, F, ['N', s, s, channels]),
    tensorValueInfo(LABELS_INPUT, ONNX_DATA_TYPE.INT64, ['N']),
    tensorValueInfo(LOSS_SCALE_INPUT, F, []),
    ...dropoutMasks(graph).map((mask) => tensorValueInfo(mask.input, F, ['N', ...mask.shape])),
  );
  parts.outputs.push(tensorValueInfo(LOSS_OUTPUT, F, []), tensorValueInfo(LOGITS_OUTPUT, F, ['N', ...shapes.get(graph.logits)!]));
}

/** The update of every parameter; conv weights (rank 4) are renormalised. */
function addUpdates(graph: ModelGraph, parts: Parts, options: TrainGraphOptions): void {
  const constant = constantAdder(parts);
  for (const { name, shape } of trainableWeights(graph)) {
    parts.nodes.push(...updateNodes({
      name, weight: name, velocity: velocityInputName(name), gradient: gradientName(name),
      nextWeight: nextWeightName(name), nextVelocity: nextVelocityName(name), filterRadius: shape.length === 4 ? options.filterRadius : 0,
    }, options.weightDecay, constant));
    parts.inputs.push(tensorValueInfo(velocityInputName(name), F, shape));
    if (options.kind === 'update') parts.inputs.push(tensorValueInfo(gradientName(name), F, shape));
    parts.outputs.push(tensorValueInfo(nextWeightName(name), F, shape), tensorValueInfo(nextVelocityName(name), F, shape));
  }
  parts.inputs.push(tensorValueInfo(LEARNING_RATE_INPUT, F, []), tensorValueInfo(MOMENTUM_INPUT, F, []));
  if (options.weightDecay) parts.inputs.push(tensorValueInfo(WEIGHT_DECAY_INPUT, F, []));
}

/**
 * Builds one of the training graphs of a project architecture's graph (src/graph/lower-model-config.ts).
 * @throws RangeError naming the node when the forward pass holds an op training has no rule for.
 */
export function buildTrainStepGraph(graph: ModelGraph, options: TrainGraphOptions): OnnxModel {
  const parts: Parts = { nodes: [], constants: new Map(), inputs: [], outputs: [] };
  if (options.kind !== 'update') addGradients(graph, parts);
  // Weights are inputs of every kind: the forward pass and the update read them.
  parts.inputs.push(...trainableWeights(graph).map(({ name, shape }) => tensorValueInfo(name, F, shape)));
  if (options.kind === 'gradients') parts.outputs.push(...trainableWeights(graph).map(({ name, shape }) => tensorValueInfo(gradientName(name), F, shape)));
  else addUpdates(graph, parts, options);
  return {
    irVersion: BUILT_IR_VERSION,
    opsetImport: [{ domain: '', version: BUILT_OPSET }],
    producerName: 'zfnet-pipeline',
    graph: { name: `${graph.name}-train-${options.kind}`, node: parts.nodes, initializer: [...parts.constants.values()], input: parts.inputs, output: parts.outputs },
    metadataProps: [
      { key: 'zfnet.graph-kind', value: `train-${options.kind}` },
      { key: 'zfnet.graph-options', value: JSON.stringify(options) },
    ],
  };
}
