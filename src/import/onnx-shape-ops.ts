/**
 * ONNX ops that join, reshape or pass tensors -> graph nodes: Add and Sum (residual
 * joins; Add's constant biases folded into the layer before), Concat, Flatten / Reshape /
 * Squeeze to [N, F], Transpose between NCHW and NHWC views, zero Pad (taken
 * by the next Conv or max pool), Dropout, Softmax,
 * ReduceMean over the spatial axes, and the pass-throughs (Identity, Cast,
 * Shape of a computed tensor).
 */
import type { OnnxNode } from '../onnx/onnx-format.js';
import { BATCH_DIM, resolveReshape } from './onnx-fold.js';
import {
  addWeight, constInput, emitNode, hasInput, nodeError, paddedInput, runtimeInput,
  type ImportContext, type ImportValue, type RuntimeValue,
} from './onnx-import-context.js';
import type { OpConverter } from './onnx-layer-ops.js';
import { attrFloat, attrInt, attrInts, attrString, toFloat32, type ConstTensor } from './onnx-tensors.js';

const count = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.join(',') === b.join(',');

/** Passes a value through under a new ONNX name (no node). */
const passThrough: OpConverter = (node, ctx) => [runtimeInput(ctx, node, 0)];

/** [C, H, W] (or an NHWC view) -> [C*H*W]: a flatten node, or nothing when already flat. */
function flattenValue(ctx: ImportContext, node: OnnxNode, x: RuntimeValue, name: string): RuntimeValue {
  if (x.shape.length === 1) return x;
  const flat = emitNode(ctx, name, { op: 'flatten' }, [x.node], [count(x.shape)]);
  if (x.layout === 'nhwc') {
    const [h, w, c] = x.shape as [number, number, number];
    return { ...flat, hwcFrom: [c, h, w] };
  }
  return flat;
}

/**
 * The bias of the conv or dense node just before, when `x` is that node's
 * only reader and `bias` holds one value per channel (tf2onnx's MatMul + Add).
 */
function foldBias(ctx: ImportContext, node: OnnxNode, x: RuntimeValue, bias: ConstTensor): RuntimeValue | null {
  const producer = ctx.nodes[ctx.nodes.length - 1];
  const source = node.input?.find((name) => ctx.values.get(name) === x);
  if (producer === undefined || producer.name !== x.node || source === undefined || (ctx.useCount.get(source) ?? 0) !== 1) return null;
  const op = producer.op;
  if ((op.op !== 'conv' && op.op !== 'dense') || op.bias !== null || x.layout !== 'nchw') return null;
  const channels = op.op === 'conv' ? op.outChannels : op.outUnits;
  const nonUnit = bias.dims.filter((d) => d !== 1);
  const channelAxisOk = op.op === 'dense' ? bias.dims[bias.dims.length - 1] === channels : bias.dims.length <= 4 && bias.dims[bias.dims.length - 3] === channels;
  if (nonUnit.length > 1 || count(bias.dims) !== channels || !channelAxisOk) return null;
  op.bias = addWeight(ctx, `${producer.name}.bias`, [channels], toFloat32(bias));
  return x;
}

function convertAdd(node: OnnxNode, ctx: ImportContext, name: string): ImportValue[] {
  const [a, b] = [0, 1].map((i) => ctx.values.get(node.input?.[i] ?? ''));
  if (a?.kind === 'runtime' && b?.kind === 'runtime') {
    if (!sameShape(a.shape, b.shape) || a.layout !== b.layout) throw nodeError(ctx, node, `adds [N, ${a.shape.join(', ')}] and [N, ${b.shape.join(', ')}]; only equal shapes are supported`);
    return [{ ...emitNode(ctx, name, { op: 'add' }, [a.node, b.node], a.shape.slice()), layout: a.layout, hwcFrom: a.hwcFrom }];
  }
  const x = runtimeInput(ctx, node, a?.kind === 'runtime' ? 0 : 1);
  const bias = constInput(ctx, node, a?.kind === 'runtime' ? 1 : 0, 'bias');
  const folded = foldBias(ctx, node, x, bias);
  if (folded === null) throw nodeError(ctx, node, `adds a constant of shape [${bias.dims.join(', ')}] that is not the bias of the conv or dense layer before it; only such biases are supported`);
  return [folded];
}

/** Sum of two or more computed tensors of one shape (the n-ary Add). */
function convertSum(node: OnnxNode, ctx: ImportContext, name: string): ImportValue[] {
  const inputs = (node.input ?? []).map((_, i) => runtimeInput(ctx, node, i));
  const first = inputs[0]!;
  if (inputs.some((x) => !sameShape(x.shape, first.shape) || x.layout !== first.layout)) {
    throw nodeError(ctx, node, `sums shapes ${inputs.map((x) => `[N, ${x.shape.join(', ')}]`).join(', ')}; only equal shapes are supported`);
  }
  if (inputs.length === 1) return [first];
  return [{ ...emitNode(ctx, name, { op: 'add' }, inputs.map((x) => x.node), first.shape.slice()), layout: first.layout, hwcFrom: first.hwcFrom }];
}

function convertConcat(node: OnnxNode, ctx: ImportContext, name: string): ImportValue[] {
  const inputs = (node.input ?? []).map((_, i) => runtimeInput(ctx, node, i));
  const first = inputs[0]!;
  const rank = first.shape.length + 1;
  const axis = attrInt(node, 'axis', 1);
  const graphAxis = (axis < 0 ? axis + rank : axis) - 1;
  if (graphAxis < 0 || inputs.some((x) => x.layout !== first.layout)) throw nodeError(ctx, node, `concatenates along axis ${axis}; only non-batch axes of same-layout tensors are supported`);
  if (first.layout === 'nhwc' && graphAxis !== 2) throw nodeError(ctx, node, 'concatenates NHWC views along a spatial axis, which is not supported');
  const irAxis = first.layout === 'nhwc' ? 0 : graphAxis;
  const shape = first.shape.slice();
  shape[graphAxis] = inputs.reduce((sum, x) => sum + x.shape[graphAxis]!, 0);
  return [{ ...emitNode(ctx, name, { op: 'concat', axis: irAxis }, inputs.map((x) => x.node), shape), layout: first.layout }];
}

/** Reshape, Squeeze or Flatten of a computed tensor: to [N, F] (a flatten) or to its own shape. */
function reshapeRuntime(ctx: ImportContext, node: OnnxNode, name: string, x: RuntimeValue, target: number[]): ImportValue[] {
  const [batch, ...rest] = target;
  if (!(batch === BATCH_DIM || batch === 0 || batch === 1 || (batch === -1 && !rest.includes(-1)))) {
    throw nodeError(ctx, node, `reshapes to [${target.join(', ')}], which changes the batch dimension; only [N, ...] targets are supported`);
  }
  const shape = resolveReshape(x.shape, rest.map((d, i) => (d === 0 ? x.shape[i]! : d)), `ONNX model ${ctx.source}: node ${node.name ?? ''}`);
  if (sameShape(shape, x.shape)) return [x];
  if (shape.length === 1) return [flattenValue(ctx, node, x, name)];
  throw nodeError(ctx, node, `reshapes [N, ${x.shape.join(', ')}] to [N, ${shape.join(', ')}]; only flattening to [N, F] is supported`);
}

function convertReshape(node: OnnxNode, ctx: ImportContext, name: string): ImportValue[] {
  const x = runtimeInput(ctx, node, 0);
  return reshapeRuntime(ctx, node, name, x, Array.from(constInput(ctx, node, 1, 'shape').values));
}

function convertFlatten(node: OnnxNode, ctx: ImportContext, name: string): ImportValue[] {
  const axis = attrInt(node, 'axis', 1);
  if (axis !== 1) throw nodeError(ctx, node, `flattens from axis ${axis}; only axis 1 ([N, F]) is supported`);
  return [flattenValue(ctx, node, runtimeInput(ctx, node, 0), name)];
}

function convertSqueeze(node: OnnxNode, ctx: ImportContext, name: string): ImportValue[] {
  const x = runtimeInput(ctx, node, 0);
  const axes = attrInts(node, 'axes') ?? (hasInput(node, 1) ? Array.from(constInput(ctx, node, 1, 'axes').values) : null);
  const full = [BATCH_DIM, ...x.shape];
  const drop = new Set((axes ?? full.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => (a < 0 ? a + full.length : a)));
  if (drop.has(0)) throw nodeError(ctx, node, 'squeezes the batch axis, which is not supported');
  return reshapeRuntime(ctx, node, name, x, full.filter((_, i) => !drop.has(i)));
}

function convertTranspose(node: OnnxNode, ctx: ImportContext): ImportValue[] {
  const x = paddedInput(ctx, node, 0);
  const perm = (attrInts(node, 'perm') ?? []).join(',');
  if (x.shape.length === 3 && x.layout === 'nchw' && perm === '0,2,3,1') {
    const [c, h, w] = x.shape as [number, number, number];
    return [{ ...x, layout: 'nhwc', shape: [h, w, c] }];
  }
  if (x.shape.length === 3 && x.layout === 'nhwc' && perm === '0,3,1,2') {
    const [h, w, c] = x.shape as [number, number, number];
    return [{ ...x, layout: 'nchw', shape: [c, h, w] }];
  }
  throw nodeError(ctx, node, `transposes [N, ${x.shape.join(', ')}] (${x.layout.toUpperCase()}) with perm [${perm}]; only NCHW <-> NHWC transposes are supported`);
}

function convertDropout(node: OnnxNode, ctx: ImportContext, name: string): Array<ImportValue | null> {
  const mask = node.output?.[1];
  if (mask !== undefined && mask !== '' && (ctx.useCount.get(mask) ?? 0) > 0) throw nodeError(ctx, node, 'has its mask output used, which is not supported');
  const x = runtimeInput(ctx, node, 0);
  const rate = hasInput(node, 1) ? Number(constInput(ctx, node, 1, 'ratio').values[0]) : attrFloat(node, 'ratio', 0.5);
  return [{ ...emitNode(ctx, name, { op: 'dropout', rate }, [x.node], x.shape.slice()), layout: x.layout, hwcFrom: x.hwcFrom }, null];
}

function convertSoftmax(node: OnnxNode, ctx: ImportContext, name: string): ImportValue[] {
  const x = runtimeInput(ctx, node, 0);
  const axis = attrInt(node, 'axis', ctx.opset >= 13 ? -1 : 1);
  if (x.shape.length !== 1 || (axis !== 1 && axis !== -1)) throw nodeError(ctx, node, `takes the softmax over axis ${axis} of [N, ${x.shape.join(', ')}]; only the class axis of [N, F] is supported`);
  return [emitNode(ctx, name, { op: 'softmax' }, [x.node], x.shape.slice())];
}

/** ReduceMean over the two spatial axes (Keras GlobalAveragePooling2D through tf2onnx). */
function convertReduceMean(node: OnnxNode, ctx: ImportContext, name: string): ImportValue[] {
  const x = runtimeInput(ctx, node, 0);
  const axes = (attrInts(node, 'axes') ?? (hasInput(node, 1) ? Array.from(constInput(ctx, node, 1, 'axes').values) : [])).map((a) => (a < 0 ? a + 4 : a)).sort();
  const spatial = x.layout === 'nhwc' ? '1,2' : '2,3';
  if (x.shape.length !== 3 || axes.join(',') !== spatial) throw nodeError(ctx, node, `averages over axes [${axes.join(', ')}]; only the two spatial axes of a feature map are supported`);
  const pooled = emitNode(ctx, name, { op: 'global-avgpool' }, [x.node], [x.layout === 'nhwc' ? x.shape[2]! : x.shape[0]!, 1, 1]);
  if (attrInt(node, 'keepdims', 1) === 1) return [x.layout === 'nhwc' ? { ...pooled, layout: 'nhwc', shape: [1, 1, pooled.shape[0]!] } : pooled];
  return [flattenValue(ctx, node, pooled, `${name}.flatten`)];
}

/**
 * Pad with zeros over the two spatial axes (Keras' ZeroPadding2D, torch's
 * ZeroPad2d): recorded on the value and taken by the Conv or max pool reading it.
 */
function convertPad(node: OnnxNode, ctx: ImportContext): ImportValue[] {
  const x = runtimeInput(ctx, node, 0);
  if (attrString(node, 'mode', 'constant') !== 'constant') throw nodeError(ctx, node, `pads in mode ${attrString(node, 'mode', 'constant')}; only constant (zero) padding is supported`);
  const pads = Array.from(constInput(ctx, node, 1, 'pads').values);
  const value = hasInput(node, 2) ? Number(constInput(ctx, node, 2, 'constant value').values[0]) : 0;
  const [h, w] = x.layout === 'nhwc' ? [1, 2] : [2, 3];
  const others = pads.filter((_, i) => i % 4 !== h && i % 4 !== w);
  if (pads.length !== 8 || x.shape.length !== 3 || value !== 0 || others.some((p) => p !== 0) || pads.some((p) => p < 0)) {
    throw nodeError(ctx, node, `pads [${pads.join(', ')}] with ${value}; only non-negative zero padding of the two spatial axes of a feature map is supported`);
  }
  return [{ ...x, pendingPad: [pads[h]!, pads[h + 4]!, pads[w]!, pads[w + 4]!] }];
}

/** Converters of the joining, reshaping and passing ops. */
export const SHAPE_OPS: Readonly<Record<string, OpConverter>> = Object.freeze({
  Add: convertAdd,
  Sum: convertSum,
  Concat: convertConcat,
  Flatten: convertFlatten,
  Reshape: convertReshape,
  Squeeze: convertSqueeze,
  Transpose: convertTranspose,
  Pad: (node, ctx) => convertPad(node, ctx),
  Dropout: convertDropout,
  Softmax: convertSoftmax,
  ReduceMean: convertReduceMean,
  Identity: passThrough,
  Cast: (node, ctx) => {
    if (attrInt(node, 'to', 1) !== 1) throw nodeError(ctx, node, 'casts a computed tensor to a type other than float');
    return passThrough(node, ctx, '');
  },
  Shape: (node, ctx) => {
    const x = runtimeInput(ctx, node, 0);
    const dims = [BATCH_DIM, ...x.shape];
    const start = attrInt(node, 'start', 0);
    const end = attrInt(node, 'end', dims.length);
    return [{ kind: 'const', tensor: { dims: [dims.slice(start, end).length], values: dims.slice(start, end), isFloat: false } }];
  },
});
