/**
 * The state of one ONNX import: what each ONNX value is (a folded constant or
 * a tensor of the graph being built), the graph nodes emitted so far and the
 * weights they read. The op converters (onnx-layer-ops.ts, onnx-shape-ops.ts)
 * read their inputs and emit nodes through these helpers.
 */
import { UsageError } from '../errors.js';
import type { GraphNode, GraphOp } from '../graph/model-graph.js';
import type { OnnxNode } from '../onnx/onnx-format.js';
import type { ConstTensor } from './onnx-tensors.js';
import type { Padding4 } from '../model/spec.js';

/**
 * A tensor computed by the graph. `shape` leaves out N. NCHW values of rank 3
 * are [C, H, W]; an `nhwc` value is the transposed view [H, W, C] of the NCHW
 * node it names (tf2onnx's Transposes are absorbed instead of emitted). A flat
 * value made from an NHWC view remembers the map it came from (`hwcFrom`,
 * [C, H, W]) so the dense layer after it can take its weights in NCHW order.
 */
export interface RuntimeValue {
  kind: 'runtime';
  node: string;
  shape: number[];
  layout: 'nchw' | 'nhwc';
  hwcFrom: number[] | null;
  /**
   * Zero padding a Pad node asked for, [top, bottom, left, right], not yet
   * applied: the Conv (or max pool after a ReLU) that reads it takes it into
   * its own padding (Keras' ZeroPadding2D through tf2onnx). `shape` is unpadded.
   */
  pendingPad?: Padding4;
}

export interface ConstValue {
  kind: 'const';
  tensor: ConstTensor;
}

export type ImportValue = RuntimeValue | ConstValue;

export interface ImportContext {
  /** Names the file in messages. */
  source: string;
  opset: number;
  values: Map<string, ImportValue>;
  nodes: GraphNode[];
  weights: Map<string, { shape: number[]; data: Float32Array }>;
  /** How many node inputs read each ONNX value (the graph output counts as one). */
  useCount: Map<string, number>;
}

/** "node NAME (OpType)" as messages name a node. */
export function describeNode(node: OnnxNode): string {
  return `node ${JSON.stringify(node.name ?? '')} (${node.opType})`;
}

/** A UsageError about one node of the file. */
export function nodeError(ctx: ImportContext, node: OnnxNode, why: string): UsageError {
  return new UsageError(`ONNX model ${ctx.source}: ${describeNode(node)} ${why}`);
}

function valueOf(ctx: ImportContext, node: OnnxNode, index: number): ImportValue {
  const name = node.input?.[index];
  if (name === undefined || name === '') throw nodeError(ctx, node, `has no input ${index}`);
  const value = ctx.values.get(name);
  if (value === undefined) throw nodeError(ctx, node, `reads ${name}, which no earlier node or initializer defines`);
  return value;
}

/** True when the node's optional input `index` is given. */
export function hasInput(node: OnnxNode, index: number): boolean {
  const name = node.input?.[index];
  return name !== undefined && name !== '';
}

/** A computed input that may carry a pending Pad (only Transpose, Conv and MaxPool read those). */
export function paddedInput(ctx: ImportContext, node: OnnxNode, index: number): RuntimeValue {
  const value = valueOf(ctx, node, index);
  if (value.kind !== 'runtime') throw nodeError(ctx, node, `has a constant input ${index} where a computed tensor is expected`);
  return value;
}

/** @throws UsageError naming the node when input `index` is a constant or an unapplied Pad. */
export function runtimeInput(ctx: ImportContext, node: OnnxNode, index: number): RuntimeValue {
  const value = paddedInput(ctx, node, index);
  if (value.pendingPad !== undefined) throw nodeError(ctx, node, 'reads the output of a Pad; only a Conv, or a MaxPool after a ReLU, may read a zero-padded tensor');
  return value;
}

/** @throws UsageError naming the node when input `index` is computed at run time (`what` says what it should be). */
export function constInput(ctx: ImportContext, node: OnnxNode, index: number, what: string): ConstTensor {
  const value = valueOf(ctx, node, index);
  if (value.kind !== 'const') throw nodeError(ctx, node, `computes its ${what} (input ${index}) at run time; only constant ${what}s are supported`);
  return value.tensor;
}

/** @throws UsageError naming the node when a map input is not NCHW [C, H, W]. */
export function mapInput(ctx: ImportContext, node: OnnxNode, index: number, acceptPad = false): RuntimeValue {
  const value = acceptPad ? paddedInput(ctx, node, index) : runtimeInput(ctx, node, index);
  if (value.shape.length !== 3 || value.layout !== 'nchw') {
    throw nodeError(ctx, node, `expects an NCHW feature map but its input ${index} has shape [N, ${value.shape.join(', ')}]${value.layout === 'nhwc' ? ' (NHWC)' : ''}`);
  }
  return value;
}

/** Appends a graph node and returns its value. */
export function emitNode(ctx: ImportContext, name: string, op: GraphOp, inputs: string[], shape: number[]): RuntimeValue {
  ctx.nodes.push({ name, op, inputs });
  return { kind: 'runtime', node: name, shape, layout: 'nchw', hwcFrom: null };
}

/** Registers a weight under `name` (the node's name plus a PyTorch suffix) and returns the name. */
export function addWeight(ctx: ImportContext, name: string, shape: number[], data: Float32Array): string {
  if (ctx.weights.has(name)) throw new RangeError(`Weight ${name} is registered twice`);
  ctx.weights.set(name, { shape, data });
  return name;
}
