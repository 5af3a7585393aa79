/**
 * The gradients of a layer's own parameters, given the signal g arriving at
 * its output during the training step's way down (the inputs' gradients are
 * the `exact` rules of src/onnx/deconv-down-rules.ts). One rule per op that
 * owns weights; the project's architectures train conv and dense layers.
 *
 *   conv:  dW[o, i, a, b] = sum_{n, y, x} g[n, o, y, x] * xpad[n, i, s*y + a, s*x + b]
 *          as one Gemm of g [O, N*Ho*Wo] with the input's patches
 *          [I*kh*kw, N*Ho*Wo] (im2col by Slices); measured faster than
 *          a Conv over swapped axes (g as filters dilated by the stride), whose
 *          skinny per-channel products onnxruntime runs one at a time.
 *          dB[o] = sum_{n, y, x} g[n, o, y, x]
 *   dense: dW = g^T x (Gemm transA), dB = sum_n g[n]
 * Pure: rules emit nodes and constants through the context.
 */
import type { GraphNode, GraphOp } from '../graph/model-graph.js';
import { int64Tensor, makeNode, type OnnxNode, type OnnxTensor } from '../onnx/onnx-format.js';

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

/**
 * The input's patches as one matrix [I * kh * kw, N * Ho * Wo]: the input with
 * batch and channel swapped ([I, N, H, W]), padded, then one Slice per kernel
 * offset, joined (row (i, a, b) reads x[n, i, s*y + a, s*x + b]).
 */
function patchNodes(op: Extract<GraphOp, { op: 'conv' }>, node: GraphNode, ctx: ParamGradientContext): string {
  const n = (step: string): string => `${node.name}/grad/${step}`;
  const [inChannels, inHeight, inWidth] = ctx.shapes.get(node.inputs[0]!)!;
  const [, oh, ow] = ctx.shapes.get(node.name)!;
  const [kh, kw] = op.kernel;
  const [sy, sx] = op.stride;
  const [top, bottom, left, right] = op.padding;
  // A square stride s > 1 reads through the s*s phases of each plane
  // (SpaceToDepth) with step-1 Slices: onnxruntime's strided Slice copies
  // element by element, several times slower than the phase split plus
  // contiguous Slices (full zfnet at batch 32: the Slices of a step 413 -> 140 ms).
  const phased = sy === sx && sy > 1;
  const roundUp = (size: number): number => (phased ? Math.ceil(size / sy) * sy - size : 0);
  const extraBottom = roundUp(inHeight! + top + bottom);
  const extraRight = roundUp(inWidth! + left + right);
  let swapped = emit(ctx, 'Transpose', n('input-swapped'), [node.inputs[0]!], { perm: { ints: [1, 0, 2, 3] } }); // [I, N, H, W]
  if ([top, bottom + extraBottom, left, right + extraRight].some((p) => p !== 0)) {
    const pads = ctx.constant(n('pads'), int64Tensor(n('pads'), [8], [0, 0, top, left, 0, 0, bottom + extraBottom, right + extraRight]));
    swapped = emit(ctx, 'Pad', n('padded'), [swapped, pads]);
  }
  const offsets: string[] = [];
  if (phased) {
    // Each (i, n) plane on its own: [I*N, 1, Hp, Wp] -> [I*N, s*s, Hp/s, Wp/s],
    // channel py*s + px holding xpad[n, i, s*y + py, s*x + px]; then [I, N, s*s, Hp/s, Wp/s].
    const [paddedHeight, paddedWidth] = [inHeight! + top + bottom + extraBottom, inWidth! + left + right + extraRight];
    const planeShape = ctx.constant(n('plane-shape'), int64Tensor(n('plane-shape'), [4], [-1, 1, paddedHeight, paddedWidth]));
    const planes = emit(ctx, 'Reshape', n('planes'), [swapped, planeShape]);
    const phaseShape = ctx.constant(n('phase-shape'), int64Tensor(n('phase-shape'), [5], [inChannels!, -1, sy * sx, paddedHeight / sy, paddedWidth / sx]));
    const phases = emit(ctx, 'Reshape', n('phases'), [emit(ctx, 'SpaceToDepth', n('phase-planes'), [planes], { blocksize: { int: sy } }), phaseShape]);
    const axes = ctx.constant('grad/axes234', int64Tensor('grad/axes234', [3], [2, 3, 4]));
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const phase = (a % sy) * sx + (b % sx);
        const [y0, x0] = [Math.floor(a / sy), Math.floor(b / sx)];
        const starts = ctx.constant(n(`start-${a}-${b}`), int64Tensor(n(`start-${a}-${b}`), [3], [phase, y0, x0]));
        const ends = ctx.constant(n(`end-${a}-${b}`), int64Tensor(n(`end-${a}-${b}`), [3], [phase + 1, y0 + oh!, x0 + ow!]));
        offsets.push(emit(ctx, 'Slice', n(`offset-${a}-${b}`), [phases, starts, ends, axes])); // [I, N, 1, Ho, Wo]
      }
    }
  } else {
    const axes = ctx.constant('grad/axes23', int64Tensor('grad/axes23', [2], [2, 3]));
    const steps = ctx.constant(`grad/steps-${sy}x${sx}`, int64Tensor(`grad/steps-${sy}x${sx}`, [2], [sy, sx]));
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const starts = ctx.constant(n(`start-${a}-${b}`), int64Tensor(n(`start-${a}-${b}`), [2], [a, b]));
        const ends = ctx.constant(n(`end-${a}-${b}`), int64Tensor(n(`end-${a}-${b}`), [2], [a + sy * (oh! - 1) + 1, b + sx * (ow! - 1) + 1]));
        offsets.push(emit(ctx, 'Slice', n(`offset-${a}-${b}`), [swapped, starts, ends, axes, steps])); // [I, N, Ho, Wo]
      }
    }
  }
  const joined = emit(ctx, 'Concat', n('patches'), offsets, { axis: { int: 1 } }); // [I, kh*kw*N, (1,) Ho, Wo]
  const matrix = ctx.constant(n('patch-shape'), int64Tensor(n('patch-shape'), [2], [inChannels! * kh * kw, -1]));
  return emit(ctx, 'Reshape', n('patch-matrix'), [joined, matrix]);
}

const convGradients: ParamRule<Extract<GraphOp, { op: 'conv' }>> = (op, node, g, ctx) => {
  if (op.groups !== 1 || op.dilation.some((d) => d !== 1)) {
    throw new RangeError(`Training has no weight gradient for grouped or dilated conv ${node.name} (groups ${op.groups}, dilation ${op.dilation.join('x')})`);
  }
  const n = (step: string): string => `${node.name}/grad/${step}`;
  const [outChannels] = ctx.shapes.get(node.name)!;
  const signalRows = ctx.constant(n('signal-shape'), int64Tensor(n('signal-shape'), [2], [outChannels!, -1]));
  const signal = emit(ctx, 'Reshape', n('signal-matrix'), [emit(ctx, 'Transpose', n('signal-swapped'), [g], { perm: { ints: [1, 0, 2, 3] } }), signalRows]); // [O, N*Ho*Wo]
  const product = emit(ctx, 'Gemm', n('product'), [signal, patchNodes(op, node, ctx)], { transB: { int: 1 } }); // [O, I*kh*kw]
  const weightShape = ctx.constant(n('weight-shape'), int64Tensor(n('weight-shape'), [4], [outChannels!, -1, op.kernel[0], op.kernel[1]]));
  emit(ctx, 'Reshape', n('weight'), [product, weightShape], {}, gradientName(op.weight));
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
