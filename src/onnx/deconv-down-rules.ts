/**
 * The way down of the deconvnet and its two neighbours, one rule per graph op
 * (zfnet-paper.md, "Beyond ZFNet"), as ONNX nodes. A rule gets the signal `g`
 * arriving at a node's output and returns the signal for each of its inputs.
 *
 *   conv, dense       -> the adjoint: Convs with the filters flipped (ConvTranspose where that form
 *                        does not apply) / MatMul with the same weights (no bias)
 *   relu              -> deconvnet: relu(g); guided: g where g > 0 and x > 0; gradient: g where x > 0
 *   leaky-relu        -> the same with slope alpha where x <= 0 (deconvnet: LeakyRelu(g))
 *   maxpool           -> unpool to the switches, windows sharing a winner add (ScatterElements add)
 *   avgpool           -> the adjoint: each value spread evenly over its window (divided by its count)
 *   global-avgpool    -> spread evenly over the map
 *   batchnorm         -> its linear scale only, g * gamma / sqrt(var + eps)
 *   lrn, dropout, identity -> passed through (project choice for LRN)
 *   add               -> the same g to every input; concat -> g split; flatten -> reshaped back
 *
 * A fourth rule set, `exact`, is the true gradient (backpropagation) that the
 * training step and preferred inputs use: ReLU as `gradient`, LRN by its exact
 * derivative (zfnet-paper.md, "Training backward"), dropout through the mask
 * its forward pass applied (when the context names one).
 * Pure: rules emit nodes and constants through the context.
 */
import type { GraphNode, GraphOp, GraphOpName, GraphWeights, ModelGraph } from '../graph/model-graph.js';
import type { OnnxNode, OnnxTensor } from './onnx-codec.js';
import { channelWindowSumNodes, lrnBaseNodes, powerNodes } from './lower-graph-nodes.js';
import { float32Tensor, int64Tensor, makeNode } from './onnx-values.js';

export type DeconvMethod = 'deconvnet' | 'guided' | 'gradient';
export const DECONV_METHODS: readonly DeconvMethod[] = Object.freeze(['deconvnet', 'guided', 'gradient']);
/** The projection methods and `exact`, the true gradient. */
export type DownMethod = DeconvMethod | 'exact';

export interface DownContext {
  graph: ModelGraph;
  /** Read by the batchnorm rule only (its scale is folded into a constant). */
  weights: GraphWeights;
  method: DownMethod;
  /** N-less shapes of every node (and of the graph input). */
  shapes: ReadonlyMap<string, number[]>;
  nodes: OnnxNode[];
  constant(name: string, tensor: OnnxTensor): string;
  /** The forward value holding a max pool's switches (flat Indices into its input). */
  switchesOf(node: GraphNode): string;
  /** `exact`: the value holding the mask a dropout node's forward pass applied; null or absent: identity (inference). */
  dropoutMaskOf?(node: GraphNode): string | null;
}

type DownRule<O extends GraphOp> = (op: O, node: GraphNode, g: string, ctx: DownContext) => string[];
type DownTable = { readonly [K in GraphOpName]?: DownRule<Extract<GraphOp, { op: K }>> };

const onnxPads = (p: readonly number[]): number[] => [p[0]!, p[2]!, p[1]!, p[3]!];

function emit(ctx: DownContext, opType: string, name: string, inputs: string[], attributes: Parameters<typeof makeNode>[4] = {}): string {
  ctx.nodes.push(makeNode(opType, name, inputs, [name], attributes));
  return name;
}

/**
 * ConvTranspose attributes that map an output grid back onto exactly the
 * forward input (output_padding restores the rows a floor division dropped;
 * extra bottom/right pads drop ceil mode's cells).
 */
function transposeAttributes(node: GraphNode, ctx: DownContext, kernel: readonly number[], stride: readonly number[], dilation: readonly number[], padding: readonly number[]): Parameters<typeof makeNode>[4] {
  const [, h, w] = ctx.shapes.get(node.inputs[0]!)!;
  const [, oh, ow] = ctx.shapes.get(node.name)!;
  const extent = (axis: 0 | 1): number => (kernel[axis]! - 1) * dilation[axis]! + 1;
  const span = (axis: 0 | 1, outPx: number): number => stride[axis]! * (outPx - 1) + extent(axis);
  // Rows past the input (ceil mode) become extra trailing pads; rows the forward never read, output padding.
  const bottom = Math.max(padding[1]!, span(0, oh!) - h! - padding[0]!);
  const right = Math.max(padding[3]!, span(1, ow!) - w! - padding[2]!);
  const outputPadding = [h! - (span(0, oh!) - padding[0]! - bottom), w! - (span(1, ow!) - padding[2]! - right)];
  return {
    kernel_shape: { ints: [...kernel] }, strides: { ints: [...stride] }, dilations: { ints: [...dilation] },
    pads: { ints: onnxPads([padding[0]!, bottom, padding[2]!, right]) }, output_padding: { ints: outputPadding },
  };
}

function reluRule(alpha: number): (op: GraphOp, node: GraphNode, g: string, ctx: DownContext) => string[] {
  return (_op, node, g, ctx) => {
    const n = (step: string): string => `${node.name}/down/${step}`;
    if (ctx.method === 'deconvnet') return [alpha === 0 ? emit(ctx, 'Relu', n('relu'), [g]) : emit(ctx, 'LeakyRelu', n('relu'), [g], { alpha: { float: alpha } })];
    const zero = ctx.constant('down/zero', float32Tensor('down/zero', [], Float32Array.of(0)));
    const open = emit(ctx, 'Greater', n('open'), [node.inputs[0]!, zero]);
    const passed = ctx.method === 'guided' ? emit(ctx, 'Relu', n('positive'), [g]) : g;
    if (alpha === 0) return [emit(ctx, 'Where', n('mask'), [open, passed, zero])];
    const slope = ctx.constant(`${node.name}/down/alpha`, float32Tensor(`${node.name}/down/alpha`, [], Float32Array.of(alpha)));
    return [emit(ctx, 'Where', n('mask'), [open, passed, emit(ctx, 'Mul', n('leak'), [passed, slope])])];
  };
}

/** Per output cell of an average pool, the number of cells its mean divides by. */
function averageCounts(op: Extract<GraphOp, { op: 'avgpool' }>, inputShape: number[], outputShape: number[]): Float32Array {
  const [, h, w] = inputShape as [number, number, number];
  const [, oh, ow] = outputShape as [number, number, number];
  const cells = (outIndex: number, axis: 0 | 1, size: number): number => {
    const before = op.padding[axis * 2]!;
    const start = outIndex * op.stride[axis] - before;
    const [lo, hi] = op.countIncludePad ? [-before, size + op.padding[axis * 2 + 1]!] : [0, size];
    return Math.max(0, Math.min(hi, start + op.window[axis]) - Math.max(lo, start));
  };
  return Float32Array.from({ length: oh * ow }, (_, i) => cells(Math.floor(i / ow), 0, h) * cells(i % ow, 1, w));
}

const passThrough: DownRule<GraphOp> = (_op, _node, g) => [g];

/**
 * LRN: identity for the projection methods (the project's choice); `exact`:
 *   da_i = g_i * s_i^(-beta) - 2 alpha beta a_i * sum_{c: i in window(c)} g_c b_c / s_c,
 * with s = k + alpha * window sum of a^2 recomputed from the forward input a
 * and b the forward output.
 */
const lrnRule: DownRule<Extract<GraphOp, { op: 'lrn' }>> = (op, node, g, ctx) => {
  if (ctx.method !== 'exact') return [g];
  const n = (step: string): string => `${node.name}/down/${step}`;
  const a = node.inputs[0]!;
  const shape = ctx.shapes.get(node.name)!;
  const base = lrnBaseNodes(n('s'), a, shape, op, ctx.constant);
  ctx.nodes.push(...base.nodes, ...powerNodes(n('power'), base.output, op.beta, ctx.constant));
  const direct = emit(ctx, 'Div', n('direct'), [g, n('power')]); // g * s^-beta
  const ratio = emit(ctx, 'Mul', n('gb'), [g, emit(ctx, 'Div', n('b-over-s'), [node.name, base.output])]); // g * b / s
  const window = channelWindowSumNodes(n('spread'), ratio, shape, op.size, -2 * op.alpha * op.beta, ctx.constant, true);
  ctx.nodes.push(...window.nodes);
  return [emit(ctx, 'Add', n('grad'), [direct, emit(ctx, 'Mul', n('cross'), [a, window.output])])];
};

/** Dropout: `exact` multiplies by the forward pass's mask when there is one; otherwise identity. */
const dropoutRule: DownRule<Extract<GraphOp, { op: 'dropout' }>> = (_op, node, g, ctx) => {
  const mask = ctx.method === 'exact' ? ctx.dropoutMaskOf?.(node) ?? null : null;
  return [mask === null ? g : emit(ctx, 'Mul', `${node.name}/down`, [g, mask])];
};

const FLIP_END = -(2 ** 53 - 1);

/** `weight` [O, I, kh, kw] read from (rowStart, colStart) every `step` cells, transposed to [I, O, .., ..] and flipped: the filters of the adjoint. */
function adjointFilters(ctx: DownContext, name: string, weight: string, rowStart: number, colStart: number, step: [number, number]): string {
  const c = (key: string, values: number[]): string => ctx.constant(`down/${key}`, int64Tensor(`down/${key}`, [values.length], values));
  let filters = weight;
  if (step[0] > 1 || step[1] > 1) {
    filters = emit(ctx, 'Slice', `${name}/taps`, [weight, c(`start-${rowStart}-${colStart}`, [rowStart, colStart]), c('end-max2', [2 ** 53 - 1, 2 ** 53 - 1]), c('axes23', [2, 3]), c(`steps-${step[0]}-${step[1]}`, step)]);
  }
  const swapped = emit(ctx, 'Transpose', `${name}/swapped`, [filters], { perm: { ints: [1, 0, 2, 3] } });
  return emit(ctx, 'Slice', `${name}/flipped`, [swapped, c('flip-starts', [-1, -1]), c('flip-ends', [FLIP_END, FLIP_END]), c('axes23', [2, 3]), c('flip-steps', [-1, -1])]);
}

/**
 * The adjoint of an ungrouped, undilated conv as stride-1 Convs with the
 * filters transposed ([I, O, kh, kw]) and flipped, measured faster than
 * ConvTranspose (which scatters its columns back one at a time):
 * - stride 1: one Conv of g padded by kernel - 1 - pad on each side;
 * - stride s: the sub-pixel form. Input rows s*p + r (padded coordinates)
 *   see only the taps a = r, r + s, ...: one Conv per phase (r, q) with those
 *   taps, the s*s planes interleaved by DepthToSpace, the padding cropped.
 * Null where neither applies (groups, dilation, a kernel smaller than the stride).
 */
function convAdjoint(op: Extract<GraphOp, { op: 'conv' }>, node: GraphNode, g: string, ctx: DownContext): string | null {
  const [kh, kw] = op.kernel;
  const [sy, sx] = op.stride;
  if (op.groups !== 1 || op.dilation.some((d) => d !== 1) || kh < sy || kw < sx || sy !== sx) return null;
  const n = (step: string): string => `${node.name}/down/${step}`;
  if (sy === 1) {
    const pads = [kh - 1 - op.padding[0], kh - 1 - op.padding[1], kw - 1 - op.padding[2], kw - 1 - op.padding[3]];
    if (pads.some((p) => p < 0)) return null;
    return emit(ctx, 'Conv', `${node.name}/down`, [g, adjointFilters(ctx, n('filters'), op.weight, 0, 0, [1, 1])], { kernel_shape: { ints: [kh, kw] }, pads: { ints: onnxPads(pads) } });
  }
  const s = sy;
  const [, h, w] = ctx.shapes.get(node.inputs[0]!)!;
  const [, oh, ow] = ctx.shapes.get(node.name)!;
  const taps = (k: number, r: number): number => Math.ceil((k - r) / s);
  // Every phase plane is made this size (phase 0 has the most taps); DepthToSpace needs them equal.
  const [mh, mw] = [oh! + taps(kh, 0) - 1, ow! + taps(kw, 0) - 1];
  const planes: string[] = [];
  for (let r = 0; r < s; r++) {
    for (let q = 0; q < s; q++) {
      const [th, tw] = [taps(kh, r), taps(kw, q)];
      const filters = adjointFilters(ctx, n(`phase-${r}-${q}`), op.weight, r, q, [s, s]);
      planes.push(emit(ctx, 'Conv', n(`phase-${r}-${q}`), [g, filters], {
        kernel_shape: { ints: [th, tw] }, pads: { ints: onnxPads([th - 1, th - 1 + mh - (oh! + th - 1), tw - 1, tw - 1 + mw - (ow! + tw - 1)]) },
      }));
    }
  }
  const joined = emit(ctx, 'Concat', n('phases'), planes, { axis: { int: 1 } });
  const padded = emit(ctx, 'DepthToSpace', n('interleaved'), [joined], { blocksize: { int: s }, mode: { string: 'DCR' } }); // [N, I, s*mh, s*mw]
  // The padded input's rows are 0 .. h + top + bottom - 1; rows past s*mh were read by no output (zero gradient).
  const [top, , left] = op.padding;
  const keep = [Math.min(h!, s * mh - top), Math.min(w!, s * mw - left)];
  const c = (key: string, values: number[]): string => ctx.constant(n(key), int64Tensor(n(key), [values.length], values));
  const cropped = emit(ctx, 'Slice', n('cropped'), [padded, c('crop-starts', [top, left]), c('crop-ends', [top + keep[0]!, left + keep[1]!]), c('crop-axes', [2, 3])]);
  if (keep[0] === h && keep[1] === w) return emit(ctx, 'Identity', `${node.name}/down`, [cropped]);
  return emit(ctx, 'Pad', `${node.name}/down`, [cropped, c('unread-pads', [0, 0, 0, 0, 0, 0, h! - keep[0]!, w! - keep[1]!])]);
}

const RULES: DownTable = {
  conv: (op, node, g, ctx) => [convAdjoint(op, node, g, ctx) ?? emit(ctx, 'ConvTranspose', `${node.name}/down`, [g, op.weight], {
    ...transposeAttributes(node, ctx, op.kernel, op.stride, op.dilation, op.padding), group: { int: op.groups },
  })],
  dense: (op, node, g, ctx) => [emit(ctx, 'MatMul', `${node.name}/down`, [g, op.weight])],
  relu: reluRule(0),
  'leaky-relu': (op, node, g, ctx) => reluRule(op.alpha)(op, node, g, ctx),
  maxpool: (_op, node, g, ctx) => {
    const n = (step: string): string => `${node.name}/down/${step}`;
    const flat = ctx.constant('down/flat', int64Tensor('down/flat', [1], [-1]));
    const shape = emit(ctx, 'Shape', n('shape'), [node.inputs[0]!]);
    const zeros = emit(ctx, 'ConstantOfShape', n('zeros'), [shape], { value: { tensor: float32Tensor('zero', [1], Float32Array.of(0)) } });
    const into = emit(ctx, 'Reshape', n('zeros.flat'), [zeros, flat]);
    const where = emit(ctx, 'Reshape', n('switches.flat'), [ctx.switchesOf(node), flat]);
    const values = emit(ctx, 'Reshape', n('signal.flat'), [g, flat]);
    const summed = emit(ctx, 'ScatterElements', n('unpooled.flat'), [into, where, values], { axis: { int: 0 }, reduction: { string: 'add' } });
    return [emit(ctx, 'Reshape', n('unpooled'), [summed, shape])];
  },
  avgpool: (op, node, g, ctx) => {
    const [c] = ctx.shapes.get(node.name)!;
    const counts = averageCounts(op, ctx.shapes.get(node.inputs[0]!)!, ctx.shapes.get(node.name)!);
    const [oh, ow] = ctx.shapes.get(node.name)!.slice(1);
    const countName = ctx.constant(`${node.name}/down/counts`, float32Tensor(`${node.name}/down/counts`, [1, 1, oh!, ow!], counts));
    const ones = ctx.constant(`${node.name}/down/ones`, float32Tensor(`${node.name}/down/ones`, [c!, 1, ...op.window], new Float32Array(c! * op.window[0] * op.window[1]).fill(1)));
    const shared = emit(ctx, 'Div', `${node.name}/down/shared`, [g, countName]);
    return [emit(ctx, 'ConvTranspose', `${node.name}/down`, [shared, ones], { ...transposeAttributes(node, ctx, op.window, op.stride, [1, 1], op.padding), group: { int: c! } })];
  },
  'global-avgpool': (_op, node, g, ctx) => {
    const [, h, w] = ctx.shapes.get(node.inputs[0]!)!;
    const scale = ctx.constant(`${node.name}/down/scale`, float32Tensor(`${node.name}/down/scale`, [], Float32Array.of(1 / (h! * w!))));
    const shared = emit(ctx, 'Mul', `${node.name}/down/shared`, [g, scale]);
    return [emit(ctx, 'Expand', `${node.name}/down`, [shared, emit(ctx, 'Shape', `${node.name}/down/shape`, [node.inputs[0]!])])];
  },
  batchnorm: (op, node, g, ctx) => {
    const scale = ctx.weights.get(op.scale)!;
    const variance = ctx.weights.get(op.variance)!;
    const factor = scale.map((gamma, c) => gamma / Math.sqrt(variance[c]! + op.epsilon));
    const rank = ctx.shapes.get(node.name)!.length;
    const name = ctx.constant(`${node.name}/down/scale`, float32Tensor(`${node.name}/down/scale`, rank === 3 ? [1, factor.length, 1, 1] : [1, factor.length], factor));
    return [emit(ctx, 'Mul', `${node.name}/down`, [g, name])];
  },
  lrn: lrnRule,
  dropout: dropoutRule,
  identity: passThrough,
  add: (_op, node, g) => node.inputs.map(() => g),
  concat: (op, node, g, ctx) => {
    const sizes = node.inputs.map((input) => ctx.shapes.get(input)![op.axis]!);
    const split = ctx.constant(`${node.name}/down/split`, int64Tensor(`${node.name}/down/split`, [sizes.length], sizes));
    const outputs = node.inputs.map((_, i) => `${node.name}/down/${i}`);
    ctx.nodes.push(makeNode('Split', `${node.name}/down`, [g, split], outputs, { axis: { int: op.axis + 1 } }));
    return outputs;
  },
  flatten: (_op, node, g, ctx) => [emit(ctx, 'Reshape', `${node.name}/down`, [g, emit(ctx, 'Shape', `${node.name}/down/shape`, [node.inputs[0]!])])],
};

/** The down rules, by op. */
export const DOWN_RULES: DownTable = Object.freeze(RULES);

/**
 * The signals `node` passes to its inputs.
 * @throws RangeError naming the op, the node and the ops with rules when there is none (softmax).
 */
export function applyDownRule(node: GraphNode, g: string, ctx: DownContext): string[] {
  const rule = DOWN_RULES[node.op.op] as DownRule<GraphOp> | undefined;
  if (rule === undefined) throw new RangeError(`The ${ctx.method} way down has no rule for op ${node.op.op} (node ${node.name}); ops with rules: ${Object.keys(DOWN_RULES).join(', ')}`);
  return rule(node.op, node, g, ctx);
}
