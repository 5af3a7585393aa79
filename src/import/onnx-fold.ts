/**
 * Constant folding of the shape arithmetic exporters leave in a graph
 * (`x.view(x.size(0), -1)` becomes Shape -> Gather -> Unsqueeze -> Concat ->
 * Reshape; tf2onnx adds Cast and Slice): each fold op computes its outputs
 * from constant inputs at import time, so only the layers reach the graph.
 *
 * The batch size is not known at import time: Shape of a runtime tensor gives
 * BATCH_DIM in its first place, which Gather, Concat, Slice and Unsqueeze move
 * like any number and Reshape reads as "keep the batch". Arithmetic on it is refused.
 */
import { UsageError } from '../errors.js';
import type { OnnxNode } from '../onnx/onnx-format.js';
import { attrInt, attrInts, type ConstTensor } from './onnx-tensors.js';

/** Stands for the (unknown) batch size in folded shapes. */
export const BATCH_DIM = -1_000_000_007;

const count = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

function ints(values: readonly number[]): ConstTensor {
  return { dims: [values.length], values: values.slice(), isFloat: false };
}

function withValues(like: ConstTensor, dims: number[], values: ArrayLike<number>): ConstTensor {
  return { dims, values: like.isFloat ? Float32Array.from(values) : Array.from(values), isFloat: like.isFloat };
}

/** Strides of a row-major shape. */
function stridesOf(dims: readonly number[]): number[] {
  const strides = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) strides[i] = strides[i + 1]! * dims[i + 1]!;
  return strides;
}

/** Numpy broadcasting of two shapes. @throws UsageError when they do not broadcast. */
function broadcastDims(a: readonly number[], b: readonly number[], label: string): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new UsageError(`${label}: shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
    return Math.max(da, db);
  });
}

/** Index into `dims` (right-aligned, size-1 axes repeat) of flat output index `i` of `out`. */
function broadcastIndex(i: number, out: readonly number[], outStrides: readonly number[], dims: readonly number[], strides: readonly number[]): number {
  let index = 0;
  const shift = out.length - dims.length;
  for (let axis = 0; axis < out.length; axis++) {
    const coord = Math.floor(i / outStrides[axis]!) % out[axis]!;
    if (axis >= shift && dims[axis - shift]! > 1) index += coord * strides[axis - shift]!;
  }
  return index;
}

const ARITHMETIC: Readonly<Record<string, (x: number, y: number, isFloat: boolean) => number>> = Object.freeze({
  Add: (x, y) => x + y,
  Sub: (x, y) => x - y,
  Mul: (x, y) => x * y,
  Div: (x, y, isFloat) => (isFloat ? x / y : Math.trunc(x / y)),
});

function foldArithmetic(op: string, [a, b]: ConstTensor[], label: string): ConstTensor {
  if ([...a!.values, ...b!.values].includes(BATCH_DIM)) {
    throw new UsageError(`${label} computes with the batch size, which cannot be folded at import time`);
  }
  const dims = broadcastDims(a!.dims, b!.dims, label);
  const [outStrides, aStrides, bStrides] = [stridesOf(dims), stridesOf(a!.dims), stridesOf(b!.dims)];
  const isFloat = a!.isFloat || b!.isFloat;
  const apply = ARITHMETIC[op]!;
  const values = Array.from({ length: count(dims) }, (_, i) => apply(
    a!.values[broadcastIndex(i, dims, outStrides, a!.dims, aStrides)]!, b!.values[broadcastIndex(i, dims, outStrides, b!.dims, bStrides)]!, isFloat));
  return { dims, values: isFloat ? Float32Array.from(values) : values, isFloat };
}

function foldGather(node: OnnxNode, [data, indices]: ConstTensor[]): ConstTensor {
  const axis = normAxis(attrInt(node, 'axis', 0), data!.dims.length);
  const outer = count(data!.dims.slice(0, axis));
  const size = data!.dims[axis]!;
  const inner = count(data!.dims.slice(axis + 1));
  const picked = Array.from(indices!.values, (i) => (i < 0 ? i + size : i));
  const values: number[] = [];
  for (let o = 0; o < outer; o++) for (const p of picked) for (let k = 0; k < inner; k++) values.push(data!.values[(o * size + p) * inner + k]!);
  return withValues(data!, [...data!.dims.slice(0, axis), ...indices!.dims, ...data!.dims.slice(axis + 1)], values);
}

/** Axes from the attribute (opset < 13) or the second input (opset >= 13). */
function axesOf(node: OnnxNode, inputs: ConstTensor[]): number[] | undefined {
  return attrInts(node, 'axes') ?? (inputs[1] === undefined ? undefined : Array.from(inputs[1].values));
}

function foldUnsqueeze(node: OnnxNode, inputs: ConstTensor[]): ConstTensor {
  const data = inputs[0]!;
  const rank = data.dims.length + (axesOf(node, inputs)?.length ?? 0);
  const axes = new Set((axesOf(node, inputs) ?? []).map((a) => normAxis(a, rank)));
  const dims: number[] = [];
  let next = 0;
  for (let i = 0; i < rank; i++) dims.push(axes.has(i) ? 1 : data.dims[next++]!);
  return { ...data, dims };
}

function foldSqueeze(node: OnnxNode, inputs: ConstTensor[]): ConstTensor {
  const data = inputs[0]!;
  const given = axesOf(node, inputs);
  const axes = new Set(given === undefined ? data.dims.flatMap((d, i) => (d === 1 ? [i] : [])) : given.map((a) => normAxis(a, data.dims.length)));
  return { ...data, dims: data.dims.filter((_, i) => !axes.has(i)) };
}

function foldConcat(node: OnnxNode, inputs: ConstTensor[]): ConstTensor {
  const first = inputs[0]!;
  const axis = normAxis(attrInt(node, 'axis', 0), first.dims.length);
  const outer = count(first.dims.slice(0, axis));
  const values: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const input of inputs) {
      const block = count(input.dims.slice(axis));
      for (let k = 0; k < block; k++) values.push(input.values[o * block + k]!);
    }
  }
  const dims = first.dims.slice();
  dims[axis] = inputs.reduce((sum, t) => sum + t.dims[axis]!, 0);
  return withValues(first, dims, values);
}

/** Reshape target dims: 0 copies the input's dim, -1 takes what is left. */
export function resolveReshape(inputDims: readonly number[], target: readonly number[], label: string): number[] {
  const dims = target.map((d, i) => (d === 0 ? inputDims[i]! : d));
  const known = count(dims.filter((d) => d !== -1));
  const total = count(inputDims);
  const out = dims.map((d) => (d === -1 ? total / known : d));
  if (count(out) !== total || !out.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new UsageError(`${label}: cannot reshape [${inputDims.join(', ')}] to [${target.join(', ')}]`);
  }
  return out;
}

function foldSlice(node: OnnxNode, inputs: ConstTensor[]): ConstTensor {
  const data = inputs[0]!;
  if (data.dims.length !== 1) throw new UsageError(`Slice ${node.name ?? ''} of a constant of rank ${data.dims.length}: only 1-D constants are folded`);
  const starts = attrInts(node, 'starts') ?? Array.from(inputs[1]?.values ?? [0]);
  const ends = attrInts(node, 'ends') ?? Array.from(inputs[2]?.values ?? [data.dims[0]!]);
  const steps = inputs[4] === undefined ? [1] : Array.from(inputs[4].values);
  const size = data.dims[0]!;
  const clamp = (v: number, hi: number): number => Math.min(Math.max(v < 0 ? v + size : v, steps[0]! > 0 ? 0 : -1), hi);
  const values: number[] = [];
  for (let i = clamp(starts[0]!, size - (steps[0]! > 0 ? 0 : 1)); steps[0]! > 0 ? i < clamp(ends[0]!, size) : i > clamp(ends[0]!, size); i += steps[0]!) values.push(data.values[i]!);
  return withValues(data, [values.length], values);
}

function foldTranspose(node: OnnxNode, [data]: ConstTensor[]): ConstTensor {
  const rank = data!.dims.length;
  const perm = attrInts(node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const dims = perm.map((p) => data!.dims[p]!);
  const [inStrides, outStrides] = [stridesOf(data!.dims), stridesOf(dims)];
  const values = new Array<number>(count(dims));
  for (let i = 0; i < values.length; i++) {
    let source = 0;
    for (let axis = 0; axis < rank; axis++) source += (Math.floor(i / outStrides[axis]!) % dims[axis]!) * inStrides[perm[axis]!]!;
    values[i] = data!.values[source]!;
  }
  return withValues(data!, dims, values);
}

type Folder = (node: OnnxNode, inputs: ConstTensor[], label: string) => ConstTensor;

/** The ops folded when every input is constant. Shape is also folded on runtime tensors (see onnx-import.ts). */
export const FOLD_OPS: Readonly<Record<string, Folder>> = Object.freeze({
  Identity: (_n, [x]) => x!,
  Cast: (node, [x]) => {
    const to = attrInt(node, 'to', 1);
    const isFloat = to === 1 || to === 10 || to === 11 || to === 16;
    return isFloat ? { dims: x!.dims, values: Float32Array.from(x!.values), isFloat } : { dims: x!.dims, values: Array.from(x!.values, Math.trunc), isFloat };
  },
  Shape: (_n, [x]) => ints(x!.dims),
  Gather: (node, inputs) => foldGather(node, inputs),
  Unsqueeze: (node, inputs) => foldUnsqueeze(node, inputs),
  Squeeze: (node, inputs) => foldSqueeze(node, inputs),
  Concat: (node, inputs) => foldConcat(node, inputs),
  Reshape: (_n, [x, shape], label) => ({ ...x!, dims: resolveReshape(x!.dims, Array.from(shape!.values), label) }),
  Flatten: (node, [x]) => {
    const axis = normAxis(attrInt(node, 'axis', 1), x!.dims.length);
    return { ...x!, dims: [count(x!.dims.slice(0, axis)), count(x!.dims.slice(axis))] };
  },
  Slice: (node, inputs) => foldSlice(node, inputs),
  Transpose: (node, inputs) => foldTranspose(node, inputs),
  ConstantOfShape: (_n, [shape]) => ({ dims: Array.from(shape!.values), values: new Array<number>(count(Array.from(shape!.values))).fill(0), isFloat: true }),
  Add: (_n, inputs, label) => foldArithmetic('Add', inputs, label),
  Sub: (_n, inputs, label) => foldArithmetic('Sub', inputs, label),
  Mul: (_n, inputs, label) => foldArithmetic('Mul', inputs, label),
  Div: (_n, inputs, label) => foldArithmetic('Div', inputs, label),
});
