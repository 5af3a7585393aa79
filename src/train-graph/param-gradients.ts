/**
 * The gradients of a layer's own parameters, given the signal g arriving at
 * its output during the training step's way down (the inputs' gradients are
 * the `exact` rules of src/onnx/deconv-down-rules.ts). One rule per op that
 * owns weights; the project's architectures train conv and dense layers.
 *
 *   conv:  dW[o, i, a, b] = sum_{n, y, x} g[n, o, y, x] * xpad[n, i, s*y + a, s*x + b]
 *          as one Conv over swapped axes: the input [I, N, H, W] convolved with
 *          g [O, N, Ho, Wo] as filters, dilated by the stride; the rows a stride
 *          leaves unread fall outside the kernel and are sliced off.
 *          dB[o] = sum_{n, y, x} g[n, o, y, x]
 *   dense: dW = g^T x (Gemm transA), dB = sum_n g[n]
 * Pure: rules emit nodes and constants through the context.
 */
import type { GraphNode, GraphOp } from '../graph/model-graph.js';
import type { OnnxNode, OnnxTensor } from '../onnx/onnx-codec.js';
import { int64Tensor, makeNode } from '../onnx/onnx-values.js';

export interface ParamGradientContext {
  /** N-less shapes of every node and of the graph input. */
  shapes: ReadonlyMap<string, number[]>;
  nodes: OnnxNode[];
  constant(name: string, tensor: OnnxTensor): string;
}

/** The value holding the gradient of weight `name` (conv1.weight -> grad/conv1.weight). */
export function gradientName(weight: string): string {
  return `grad/${weight}`;
}

type ParamRule<O extends GraphOp> = (op: O, node: GraphNode, g: string, ctx: ParamGradientContext) => void;

const onnxPads = (p: readonly number[]): number[] => [p[0]!, p[2]!, p[1]!, p[3]!];

function emit(ctx: ParamGradientContext, opType: string, name: string, inputs: string[], attributes: Parameters<typeof makeNode>[4] = {}, output = name): string {
  ctx.nodes.push(makeNode(opType, name, inputs, [output], attributes));
  return output;
}

const convGradients: ParamRule<Extract<GraphOp, { op: 'conv' }>> = (op, node, g, ctx) => {
  if (op.groups !== 1 || op.dilation.some((d) => d !== 1)) {
    throw new RangeError(`Training has no weight gradient for grouped or dilated conv ${node.name} (groups ${op.groups}, dilation ${op.dilation.join('x')})`);
  }
  const n = (step: string): string => `${node.name}/grad/${step}`;
  const swapped = emit(ctx, 'Transpose', n('input-swapped'), [node.inputs[0]!], { perm: { ints: [1, 0, 2, 3] } }); // [I, N, H, W]
  const filters = emit(ctx, 'Transpose', n('signal-swapped'), [g], { perm: { ints: [1, 0, 2, 3] } }); // [O, N, Ho, Wo]
  const [, oh, ow] = ctx.shapes.get(node.name)!;
  const full = emit(ctx, 'Conv', n('correlate'), [swapped, filters], {
    kernel_shape: { ints: [oh!, ow!] }, strides: { ints: [1, 1] }, dilations: { ints: [...op.stride] }, pads: { ints: onnxPads(op.padding) },
  }); // [I, O, >= kh, >= kw]
  const starts = ctx.constant('grad/zeros2', int64Tensor('grad/zeros2', [2], [0, 0]));
  const ends = ctx.constant(`${n('kernel')}`, int64Tensor(n('kernel'), [2], [...op.kernel]));
  const axes = ctx.constant('grad/axes23', int64Tensor('grad/axes23', [2], [2, 3]));
  const kernel = emit(ctx, 'Slice', n('slice'), [full, starts, ends, axes]);
  emit(ctx, 'Transpose', n('weight'), [kernel], { perm: { ints: [1, 0, 2, 3] } }, gradientName(op.weight));
  if (op.bias !== null) {
    const batchAndSpace = ctx.constant('grad/axes023', int64Tensor('grad/axes023', [3], [0, 2, 3]));
    emit(ctx, 'ReduceSum', n('bias'), [g, batchAndSpace], { keepdims: { int: 0 } }, gradientName(op.bias));
  }
};

const denseGradients: ParamRule<Extract<GraphOp, { op: 'dense' }>> = (op, node, g, ctx) => {
  const n = (step: string): string => `${node.name}/grad/${step}`;
  emit(ctx, 'Gemm', n('weight'), [g, node.inputs[0]!], { transA: { int: 1 } }, gradientName(op.weight)); // [O, I]
  if (op.bias !== null) {
    const batch = ctx.constant('grad/axes0', int64Tensor('grad/axes0', [1], [0]));
    emit(ctx, 'ReduceSum', n('bias'), [g, batch], { keepdims: { int: 0 } }, gradientName(op.bias));
  }
};

const RULES: { readonly [K in GraphOp['op']]?: ParamRule<Extract<GraphOp, { op: K }>> } = { conv: convGradients, dense: denseGradients };

/** Ops whose parameters the training step learns. */
export const TRAINABLE_OPS: readonly string[] = Object.freeze(Object.keys(RULES));

/**
 * Emits the gradients of `node`'s parameters (nothing for ops without any).
 * @throws RangeError naming the node for a layer whose weights cannot be trained (grouped or dilated conv, batch norm).
 */
export function emitParamGradients(node: GraphNode, g: string, ctx: ParamGradientContext): void {
  const rule = RULES[node.op.op] as ParamRule<GraphOp> | undefined;
  if (rule !== undefined) return rule(node.op, node, g, ctx);
  if (node.op.op === 'batchnorm') throw new RangeError(`Training has no gradient for batch norm ${node.name}: only the project's architectures (conv, LRN, max pool, dense, dropout) train`);
}
