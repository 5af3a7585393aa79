/**
 * ONNX layer ops -> graph nodes: Conv, pools, BatchNormalization, LRN,
 * activations and the dense layers (Gemm, MatMul). Each converter reads its
 * node's attributes with the ONNX defaults, checks what the graph cannot
 * express, and emits one node named after the model's module.
 */
import type { Padding4, } from '../model/spec.js';
import { windowOutputPx } from '../graph/graph-shapes.js';
import type { OnnxNode } from '../onnx/onnx-format.js';
import {
  addWeight, constInput, emitNode, hasInput, mapInput, nodeError, runtimeInput,
  type ImportContext, type ImportValue, type RuntimeValue,
} from './onnx-import-context.js';
import { attrFloat, attrInt, attrInts, attrString, toFloat32, type ConstTensor } from './onnx-tensors.js';

/** Converts one node; returns one value per output (null: not produced, must be unused). */
export type OpConverter = (node: OnnxNode, ctx: ImportContext, name: string) => Array<ImportValue | null>;

type Pair = [number, number];

/** Refuses a node whose output `index` is read (Indices of MaxPool, Dropout's mask). */
export function refuseUsedOutput(ctx: ImportContext, node: OnnxNode, index: number, what: string): void {
  const output = node.output?.[index];
  if (output !== undefined && output !== '' && (ctx.useCount.get(output) ?? 0) > 0) throw nodeError(ctx, node, `has its ${what} output used, which is not supported`);
}

function pairAttr(ctx: ImportContext, node: OnnxNode, name: string, fallback: Pair): Pair {
  const values = attrInts(node, name);
  if (values === undefined) return fallback;
  if (values.length !== 2) throw nodeError(ctx, node, `has ${name} [${values.join(', ')}]; only 2-D (two values) is supported`);
  return [values[0]!, values[1]!];
}

/** Explicit pads as Padding4, from `pads` ([top, left, bottom, right]) or `auto_pad`. */
function paddingOf(ctx: ImportContext, node: OnnxNode, input: RuntimeValue, window: Pair, stride: Pair, dilation: Pair): Padding4 {
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const pending = input.pendingPad ?? [0, 0, 0, 0];
  if (autoPad === 'NOTSET') {
    const pads = attrInts(node, 'pads') ?? [0, 0, 0, 0];
    if (pads.length !== 4) throw nodeError(ctx, node, `has pads [${pads.join(', ')}]; expected 4 values for a 2-D op`);
    return [pads[0]! + pending[0], pads[2]! + pending[1], pads[1]! + pending[2], pads[3]! + pending[3]];
  }
  if (autoPad === 'VALID') return [...pending];
  if (input.pendingPad !== undefined) throw nodeError(ctx, node, `has auto_pad ${autoPad} on a zero-padded input, which is not supported`);
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') throw nodeError(ctx, node, `has auto_pad ${autoPad}; expected NOTSET, VALID, SAME_UPPER or SAME_LOWER`);
  const split = (axis: 0 | 1): [number, number] => {
    const inputPx = input.shape[axis + 1]!;
    const total = Math.max(0, (Math.ceil(inputPx / stride[axis]) - 1) * stride[axis] + (window[axis] - 1) * dilation[axis] + 1 - inputPx);
    const small = Math.floor(total / 2);
    return autoPad === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
  };
  const [[top, bottom], [left, right]] = [split(0), split(1)];
  return [top, bottom, left, right];
}

function outputPx(input: RuntimeValue, window: Pair, stride: Pair, padding: Padding4, ceilMode: boolean, dilation: Pair = [1, 1]): Pair {
  return [
    windowOutputPx(input.shape[1]!, window[0], stride[0], padding[0], padding[1], ceilMode, dilation[0]),
    windowOutputPx(input.shape[2]!, window[1], stride[1], padding[2], padding[3], ceilMode, dilation[1]),
  ];
}

function convertConv(node: OnnxNode, ctx: ImportContext, name: string): ImportValue[] {
  const x = mapInput(ctx, node, 0, true);
  const w = constInput(ctx, node, 1, 'weight');
  if (w.dims.length !== 4) throw nodeError(ctx, node, `has a weight of shape [${w.dims.join(', ')}]; only 2-D convolutions are supported`);
  const groups = attrInt(node, 'group', 1);
  const [outChannels, perGroup, kh, kw] = w.dims as [number, number, number, number];
  if (perGroup * groups !== x.shape[0]) throw nodeError(ctx, node, `has a weight for ${perGroup * groups} input channels (${groups} groups) but its input has ${x.shape[0]}`);
  const kernel = pairAttr(ctx, node, 'kernel_shape', [kh, kw]);
  const stride = pairAttr(ctx, node, 'strides', [1, 1]);
  const dilation = pairAttr(ctx, node, 'dilations', [1, 1]);
  const padding = paddingOf(ctx, node, x, kernel, stride, dilation);
  const weight = addWeight(ctx, `${name}.weight`, w.dims.slice(), toFloat32(w));
  const bias = hasInput(node, 2) ? addWeight(ctx, `${name}.bias`, [outChannels], toFloat32(checkVector(ctx, node, constInput(ctx, node, 2, 'bias'), outChannels))) : null;
  const [h, wo] = outputPx(x, kernel, stride, padding, false, dilation);
  return [emitNode(ctx, name, { op: 'conv', weight, bias, outChannels, kernel, stride, padding, dilation, groups }, [x.node], [outChannels, h, wo])];
}

function checkVector(ctx: ImportContext, node: OnnxNode, tensor: ConstTensor, size: number): ConstTensor {
  if (tensor.values.length !== size) throw nodeError(ctx, node, `has a parameter of shape [${tensor.dims.join(', ')}] where ${size} values are expected`);
  return tensor;
}

function poolGeometry(ctx: ImportContext, node: OnnxNode, x: RuntimeValue): { window: Pair; stride: Pair; padding: Padding4; ceilMode: boolean } {
  const window = pairAttr(ctx, node, 'kernel_shape', [0, 0]);
  if (window[0] < 1 || window[1] < 1) throw nodeError(ctx, node, 'has no 2-D kernel_shape');
  const dilation = pairAttr(ctx, node, 'dilations', [1, 1]);
  if (dilation[0] !== 1 || dilation[1] !== 1) throw nodeError(ctx, node, `has dilations [${dilation.join(', ')}]; only 1 is supported for pools`);
  const stride = pairAttr(ctx, node, 'strides', [1, 1]);
  return { window, stride, padding: paddingOf(ctx, node, x, window, stride, dilation), ceilMode: attrInt(node, 'ceil_mode', 0) === 1 };
}

function convertMaxPool(node: OnnxNode, ctx: ImportContext, name: string): ImportValue[] {
  refuseUsedOutput(ctx, node, 1, 'Indices');
  const x = mapInput(ctx, node, 0, true);
  // Zero padding equals the max pool's own (never winning) padding only where the input cannot be negative.
  if (x.pendingPad !== undefined && ctx.nodes.find((n) => n.name === x.node)?.op.op !== 'relu') {
    throw nodeError(ctx, node, 'reads a zero-padded tensor that is not a ReLU output; zero padding before a max pool is only supported after a ReLU');
  }
  const g = poolGeometry(ctx, node, x);
  return [emitNode(ctx, name, { op: 'maxpool', ...g }, [x.node], [x.shape[0]!, ...outputPx(x, g.window, g.stride, g.padding, g.ceilMode)])];
}

function convertAveragePool(node: OnnxNode, ctx: ImportContext, name: string): ImportValue[] {
  const x = mapInput(ctx, node, 0);
  const g = poolGeometry(ctx, node, x);
  const countIncludePad = attrInt(node, 'count_include_pad', 0) === 1;
  return [emitNode(ctx, name, { op: 'avgpool', ...g, countIncludePad }, [x.node], [x.shape[0]!, ...outputPx(x, g.window, g.stride, g.padding, g.ceilMode)])];
}

function convertBatchNorm(node: OnnxNode, ctx: ImportContext, name: string): Array<ImportValue | null> {
  if (attrInt(node, 'training_mode', 0) !== 0) throw nodeError(ctx, node, 'is in training mode; export the model in eval mode (model.eval())');
  for (let i = 1; i < 5; i++) refuseUsedOutput(ctx, node, i, 'running statistics');
  const x = runtimeInput(ctx, node, 0);
  if (x.layout !== 'nchw') throw nodeError(ctx, node, 'normalises an NHWC view, which is not supported');
  const channels = x.shape[0]!;
  const param = (index: number, suffix: string): string => addWeight(ctx, `${name}.${suffix}`, [channels], toFloat32(checkVector(ctx, node, constInput(ctx, node, index, suffix), channels)));
  const op = { op: 'batchnorm' as const, scale: param(1, 'weight'), bias: param(2, 'bias'), mean: param(3, 'running_mean'), variance: param(4, 'running_var'), epsilon: attrFloat(node, 'epsilon', 1e-5) };
  return [emitNode(ctx, name, op, [x.node], x.shape.slice()), null, null, null, null];
}

function convertLrn(node: OnnxNode, ctx: ImportContext, name: string): ImportValue[] {
  const x = mapInput(ctx, node, 0);
  const size = attrInt(node, 'size', 0);
  if (size < 1) throw nodeError(ctx, node, 'has no size');
  // ONNX divides alpha by size; the graph's LRN does not (model-graph.ts).
  const op = { op: 'lrn' as const, size, k: attrFloat(node, 'bias', 1), alpha: attrFloat(node, 'alpha', 1e-4) / size, beta: attrFloat(node, 'beta', 0.75) };
  return [emitNode(ctx, name, op, [x.node], x.shape.slice())];
}

/** A flat input to a dense layer, and the weight columns' order fix when it was flattened from NHWC. */
function flatInput(ctx: ImportContext, node: OnnxNode): RuntimeValue {
  const x = runtimeInput(ctx, node, 0);
  if (x.shape.length !== 1) throw nodeError(ctx, node, `expects a flat [N, F] input but received [N, ${x.shape.join(', ')}]; flatten it first`);
  return x;
}

/**
 * W [out, in] with columns in NCHW flatten order. A dense layer fed by an
 * NHWC flatten (Keras via tf2onnx) has its columns in (h, w, c) order: moved here.
 */
function denseWeight(x: RuntimeValue, w: Float32Array, outUnits: number): Float32Array {
  if (x.hwcFrom === null) return w;
  const [c, h, wd] = x.hwcFrom as [number, number, number];
  const inUnits = c * h * wd;
  const out = new Float32Array(w.length);
  for (let o = 0; o < outUnits; o++) {
    for (let ci = 0; ci < c; ci++) for (let y = 0; y < h; y++) for (let xi = 0; xi < wd; xi++) {
      out[o * inUnits + (ci * h + y) * wd + xi] = w[o * inUnits + (y * wd + xi) * c + ci]!;
    }
  }
  return out;
}

function transposed(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}

function emitDense(ctx: ImportContext, name: string, x: RuntimeValue, weightOutIn: Float32Array, outUnits: number, bias: Float32Array | null): ImportValue[] {
  const inUnits = x.shape[0]!;
  const weight = addWeight(ctx, `${name}.weight`, [outUnits, inUnits], denseWeight(x, weightOutIn, outUnits));
  const biasName = bias === null ? null : addWeight(ctx, `${name}.bias`, [outUnits], bias);
  return [emitNode(ctx, name, { op: 'dense', weight, bias: biasName, outUnits }, [x.node], [outUnits])];
}

function convertGemm(node: OnnxNode, ctx: ImportContext, name: string): ImportValue[] {
  if (attrInt(node, 'transA', 0) !== 0) throw nodeError(ctx, node, 'has transA = 1, which is not supported');
  const x = flatInput(ctx, node);
  const b = constInput(ctx, node, 1, 'weight');
  const transB = attrInt(node, 'transB', 0) === 1;
  const [rows, cols] = b.dims as [number, number];
  const inUnits = transB ? cols : rows;
  if (b.dims.length !== 2 || inUnits !== x.shape[0]) throw nodeError(ctx, node, `has a weight of shape [${b.dims.join(', ')}] for an input of ${x.shape[0]} features`);
  const outUnits = transB ? rows : cols;
  const alpha = attrFloat(node, 'alpha', 1);
  const beta = attrFloat(node, 'beta', 1);
  const raw = toFloat32(b);
  const weight = (transB ? raw : transposed(raw, rows, cols)).map((v) => v * alpha);
  const bias = hasInput(node, 2) ? toFloat32(checkVector(ctx, node, constInput(ctx, node, 2, 'bias'), outUnits)).map((v) => v * beta) : null;
  return emitDense(ctx, name, x, weight, outUnits, bias);
}

function convertMatMul(node: OnnxNode, ctx: ImportContext, name: string): ImportValue[] {
  const x = flatInput(ctx, node);
  const b = constInput(ctx, node, 1, 'weight');
  if (b.dims.length !== 2 || b.dims[0] !== x.shape[0]) throw nodeError(ctx, node, `has a weight of shape [${b.dims.join(', ')}] for an input of ${x.shape[0]} features`);
  return emitDense(ctx, name, x, transposed(toFloat32(b), b.dims[0]!, b.dims[1]!), b.dims[1]!, null);
}

function convertUnary(op: 'relu' | 'leaky-relu'): OpConverter {
  return (node, ctx, name) => {
    const x = runtimeInput(ctx, node, 0);
    const graphOp = op === 'relu' ? { op } : { op, alpha: attrFloat(node, 'alpha', 0.01) };
    // Elementwise: an NHWC view stays one (the node computes on the NCHW tensor underneath).
    return [{ ...emitNode(ctx, name, graphOp, [x.node], x.shape.slice()), layout: x.layout, hwcFrom: x.hwcFrom }];
  };
}

/** Converters of the layer ops. */
export const LAYER_OPS: Readonly<Record<string, OpConverter>> = Object.freeze({
  Conv: convertConv,
  MaxPool: convertMaxPool,
  AveragePool: convertAveragePool,
  GlobalAveragePool: (node, ctx, name) => {
    const x = mapInput(ctx, node, 0);
    return [emitNode(ctx, name, { op: 'global-avgpool' }, [x.node], [x.shape[0]!, 1, 1])];
  },
  BatchNormalization: convertBatchNorm,
  LRN: convertLrn,
  Relu: convertUnary('relu'),
  LeakyRelu: convertUnary('leaky-relu'),
  Gemm: convertGemm,
  MatMul: convertMatMul,
});
