/**
 * Reading the values an ONNX file carries: initializers and Constant nodes of
 * any numeric element type (raw_data or the typed repeated fields), and node
 * attributes with their ONNX defaults. Pure functions over decoded objects.
 */
import { UsageError } from '../errors.js';
import { ONNX_DATA_LOCATION, ONNX_DATA_TYPE, type OnnxAttribute, type OnnxNode, type OnnxTensor } from '../onnx/onnx-format.js';

/** A tensor known at import time: weights, shapes, axes. N is part of `dims` here (unlike graph shapes). */
export interface ConstTensor {
  dims: number[];
  /** Row-major values; float32 for floating tensors, integers as plain numbers. */
  values: Float32Array | number[];
  isFloat: boolean;
}

const elementCount = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** Element readers for raw_data, by data type: [bytes per element, reader]. */
const RAW_READERS: Readonly<Record<number, [number, (view: DataView, offset: number) => number]>> = Object.freeze({
  [ONNX_DATA_TYPE.FLOAT]: [4, (v, o) => v.getFloat32(o, true)],
  [ONNX_DATA_TYPE.DOUBLE]: [8, (v, o) => v.getFloat64(o, true)],
  [ONNX_DATA_TYPE.INT64]: [8, (v, o) => Number(v.getBigInt64(o, true))],
  [ONNX_DATA_TYPE.INT32]: [4, (v, o) => v.getInt32(o, true)],
  [ONNX_DATA_TYPE.INT16]: [2, (v, o) => v.getInt16(o, true)],
  [ONNX_DATA_TYPE.INT8]: [1, (v, o) => v.getInt8(o)],
  [ONNX_DATA_TYPE.UINT8]: [1, (v, o) => v.getUint8(o)],
  [ONNX_DATA_TYPE.BOOL]: [1, (v, o) => v.getUint8(o)],
});

const FLOAT_TYPES: ReadonlySet<number> = new Set([ONNX_DATA_TYPE.FLOAT, ONNX_DATA_TYPE.DOUBLE]);

function typedField(tensor: OnnxTensor): number[] {
  switch (tensor.dataType) {
    case ONNX_DATA_TYPE.FLOAT: return tensor.floatData ?? [];
    case ONNX_DATA_TYPE.DOUBLE: return tensor.doubleData ?? [];
    case ONNX_DATA_TYPE.INT64: return tensor.int64Data ?? [];
    default: return tensor.int32Data ?? [];
  }
}

/**
 * The values of an initializer or Constant tensor.
 * @param label names the tensor in errors (file and tensor name)
 * @throws UsageError for external data, an element type this importer does not read, or data that does not fill the dims.
 */
export function readConstTensor(tensor: OnnxTensor, label: string): ConstTensor {
  if (tensor.dataLocation === ONNX_DATA_LOCATION.EXTERNAL || (tensor.externalData?.length ?? 0) > 0) {
    const location = tensor.externalData?.find((e) => e.key === 'location')?.value ?? 'another file';
    throw new UsageError(`${label} keeps its data outside the model (external data in ${location}), which is not supported: save the model with its weights inside (onnx.save_model(model, path, save_as_external_data=False))`);
  }
  const reader = RAW_READERS[tensor.dataType];
  if (reader === undefined) throw new UsageError(`${label} has element type ${tensor.dataType}, which is not supported (float, double and integer tensors are)`);
  const dims = tensor.dims ?? [];
  const isFloat = FLOAT_TYPES.has(tensor.dataType);
  let values: number[] | Float32Array;
  const raw = tensor.rawData;
  if (raw !== undefined && raw.byteLength > 0) {
    const [bytes, read] = reader;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const count = Math.floor(raw.byteLength / bytes);
    values = isFloat ? new Float32Array(count) : new Array<number>(count);
    for (let i = 0; i < count; i++) values[i] = read(view, i * bytes);
  } else {
    const field = typedField(tensor);
    values = isFloat ? Float32Array.from(field) : field.slice();
  }
  if (values.length !== elementCount(dims)) {
    throw new UsageError(`${label} has dims [${dims.join(', ')}] but holds ${values.length} values`);
  }
  return { dims: dims.slice(), values, isFloat };
}

/** The attribute of that name, if the node has it. */
export function findAttribute(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attribute?.find((a) => a.name === name);
}

export const attrInt = (node: OnnxNode, name: string, fallback: number): number => findAttribute(node, name)?.i ?? fallback;
export const attrFloat = (node: OnnxNode, name: string, fallback: number): number => findAttribute(node, name)?.f ?? fallback;
export const attrInts = (node: OnnxNode, name: string): number[] | undefined => findAttribute(node, name)?.ints;

export function attrString(node: OnnxNode, name: string, fallback: string): string {
  const bytes = findAttribute(node, name)?.s;
  return bytes === undefined ? fallback : new TextDecoder().decode(bytes);
}

/**
 * The tensor a Constant node defines (value, value_float(s), value_int(s)).
 * @throws UsageError naming the node when it has none of them (sparse and string constants).
 */
export function readConstantNode(node: OnnxNode, label: string): ConstTensor {
  const value = findAttribute(node, 'value');
  if (value?.t !== undefined) return readConstTensor(value.t, label);
  const single = findAttribute(node, 'value_float') ?? findAttribute(node, 'value_int');
  if (single !== undefined) return { dims: [], values: single.name === 'value_float' ? Float32Array.of(single.f ?? 0) : [single.i ?? 0], isFloat: single.name === 'value_float' };
  const floats = findAttribute(node, 'value_floats');
  if (floats !== undefined) return { dims: [floats.floats?.length ?? 0], values: Float32Array.from(floats.floats ?? []), isFloat: true };
  const ints = findAttribute(node, 'value_ints');
  if (ints !== undefined) return { dims: [ints.ints?.length ?? 0], values: (ints.ints ?? []).slice(), isFloat: false };
  throw new UsageError(`${label} defines no numeric value (value, value_float(s) or value_int(s)); sparse and string constants are not supported`);
}

/** The values as float32 (weights). */
export function toFloat32(tensor: ConstTensor): Float32Array {
  return tensor.values instanceof Float32Array ? tensor.values : Float32Array.from(tensor.values);
}
