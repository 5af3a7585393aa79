/**
 * Small constructors for the pieces of an ONNX graph (nodes, attributes,
 * initializers, value infos) and the reader of a decoded tensor's floats, so
 * builders and importers write graphs as data without protobuf details.
 */
import { ONNX_ATTRIBUTE_TYPE, ONNX_DATA_TYPE } from './onnx-schema.js';
import type { OnnxAttribute, OnnxNode, OnnxTensor, OnnxValueInfo } from './onnx-codec.js';

/** An attribute value: number (FLOAT unless `int`), number[] (INTS unless `floats`), string, or a tensor. */
export type AttributeValue =
  | { int: number } | { float: number } | { ints: number[] } | { floats: number[] } | { string: string } | { tensor: OnnxTensor };

/** One attribute from its typed value. */
export function makeAttribute(name: string, value: AttributeValue): OnnxAttribute {
  if ('int' in value) return { name, type: ONNX_ATTRIBUTE_TYPE.INT, i: value.int };
  if ('float' in value) return { name, type: ONNX_ATTRIBUTE_TYPE.FLOAT, f: value.float };
  if ('ints' in value) return { name, type: ONNX_ATTRIBUTE_TYPE.INTS, ints: value.ints.slice() };
  if ('floats' in value) return { name, type: ONNX_ATTRIBUTE_TYPE.FLOATS, floats: value.floats.slice() };
  if ('string' in value) return { name, type: ONNX_ATTRIBUTE_TYPE.STRING, s: new TextEncoder().encode(value.string) };
  return { name, type: ONNX_ATTRIBUTE_TYPE.TENSOR, t: value.tensor };
}

/** A node of the default (ai.onnx) domain. */
export function makeNode(opType: string, name: string, input: string[], output: string[], attributes: Record<string, AttributeValue> = {}): OnnxNode {
  const node: OnnxNode = { opType, name, input, output };
  const list = Object.entries(attributes).map(([key, value]) => makeAttribute(key, value));
  if (list.length > 0) node.attribute = list;
  return node;
}

/**
 * A float32 initializer. On a little-endian host rawData is a view of `data`
 * (no copy: building zfnet's graphs copied 15-250 MB of weights once more
 * before encoding), so `data` must not change until the model is encoded.
 */
export function float32Tensor(name: string, dims: readonly number[], data: Float32Array): OnnxTensor {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (data.length !== expected) throw new RangeError(`Tensor ${name} of shape [${dims.join(', ')}] needs ${expected} floats but received ${data.length}`);
  return { name, dims: dims.slice(), dataType: ONNX_DATA_TYPE.FLOAT, rawData: littleEndianBytes(data) };
}

/** An int64 initializer (shapes, axes, indices). */
export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): OnnxTensor {
  return { name, dims: dims.slice(), dataType: ONNX_DATA_TYPE.INT64, int64Data: values.slice() };
}

/** A tensor input or output with its element type and dims (a string dim is symbolic, e.g. "N"). */
export function tensorValueInfo(name: string, elemType: number, dims: ReadonlyArray<number | string>): OnnxValueInfo {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndianBytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const bytes = new Uint8Array(data.length * 4);
  const view = new DataView(bytes.buffer);
  data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return bytes;
}

/**
 * The values of a FLOAT tensor, from rawData or floatData.
 * @throws RangeError naming the tensor when it is not FLOAT, is stored
 *   externally, or its data does not match its dims.
 */
export function readFloat32Tensor(tensor: OnnxTensor): Float32Array {
  const label = tensor.name ?? '(unnamed)';
  if (tensor.dataType !== ONNX_DATA_TYPE.FLOAT) throw new RangeError(`Expected a FLOAT tensor for ${label} but received data type ${tensor.dataType}`);
  if (tensor.dataLocation === 1) throw new RangeError(`Tensor ${label} is stored in an external file, which is not supported`);
  const count = (tensor.dims ?? []).reduce((a, b) => a * b, 1);
  let out: Float32Array;
  if (tensor.rawData !== undefined && tensor.rawData.length > 0) {
    const raw = tensor.rawData;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    out = new Float32Array(raw.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  } else {
    out = Float32Array.from(tensor.floatData ?? []);
  }
  if (out.length !== count) throw new RangeError(`Tensor ${label} of shape [${(tensor.dims ?? []).join(', ')}] needs ${count} floats but holds ${out.length}`);
  return out;
}
