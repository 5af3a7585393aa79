/**
 * Encoding and decoding ONNX models with the reflection types of
 * onnx-schema.ts, and the plain-object shapes they read and write.
 *
 * Decoded objects use numbers for int64 fields (ONNX dims, attribute ints and
 * versions stay far below 2^53; a value past it throws rather than rounds),
 * Uint8Array views into the input for bytes fields (rawData is not copied),
 * and omit fields that were not set. Enums (dataType, attribute type) are the
 * numbers of ONNX_DATA_TYPE / ONNX_ATTRIBUTE_TYPE.
 */
import { lookupOnnxType } from './onnx-schema.js';

export interface OnnxStringEntry { key: string; value: string }
export interface OnnxOpsetId { domain?: string; version: number }

export interface OnnxDimension { dimValue?: number; dimParam?: string; denotation?: string }
export interface OnnxTensorShape { dim?: OnnxDimension[] }
export interface OnnxType {
  tensorType?: { elemType: number; shape?: OnnxTensorShape };
  sequenceType?: { elemType: OnnxType };
  mapType?: { keyType: number; valueType: OnnxType };
  optionalType?: { elemType: OnnxType };
  sparseTensorType?: { elemType: number; shape?: OnnxTensorShape };
  denotation?: string;
}
export interface OnnxValueInfo { name: string; type?: OnnxType; docString?: string; metadataProps?: OnnxStringEntry[] }

export interface OnnxTensor {
  name?: string;
  dims?: number[];
  dataType: number;
  segment?: { begin: number; end: number };
  floatData?: number[];
  int32Data?: number[];
  stringData?: Uint8Array[];
  int64Data?: number[];
  doubleData?: number[];
  uint64Data?: number[];
  /** Little-endian element bytes (what this project writes for every initializer). */
  rawData?: Uint8Array;
  externalData?: OnnxStringEntry[];
  dataLocation?: number;
  docString?: string;
  metadataProps?: OnnxStringEntry[];
}

export interface OnnxAttribute {
  name: string;
  type: number;
  refAttrName?: string;
  docString?: string;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: OnnxTensor;
  g?: OnnxGraph;
  tp?: OnnxType;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  tensors?: OnnxTensor[];
  graphs?: OnnxGraph[];
  typeProtos?: OnnxType[];
}

export interface OnnxNode {
  name?: string;
  opType: string;
  domain?: string;
  overload?: string;
  input?: string[];
  output?: string[];
  attribute?: OnnxAttribute[];
  docString?: string;
  metadataProps?: OnnxStringEntry[];
}

export interface OnnxGraph {
  name?: string;
  node?: OnnxNode[];
  initializer?: OnnxTensor[];
  input?: OnnxValueInfo[];
  output?: OnnxValueInfo[];
  valueInfo?: OnnxValueInfo[];
  docString?: string;
  metadataProps?: OnnxStringEntry[];
}

export interface OnnxFunction {
  name: string;
  domain?: string;
  overload?: string;
  input?: string[];
  output?: string[];
  attribute?: string[];
  attributeProto?: OnnxAttribute[];
  node?: OnnxNode[];
  opsetImport?: OnnxOpsetId[];
  valueInfo?: OnnxValueInfo[];
  docString?: string;
  metadataProps?: OnnxStringEntry[];
}

export interface OnnxModel {
  irVersion: number;
  opsetImport: OnnxOpsetId[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph: OnnxGraph;
  metadataProps?: OnnxStringEntry[];
  functions?: OnnxFunction[];
}

/** An int64 as decoded (decimal string) to a number, refusing the ones a double cannot hold. */
function toSafeNumber(value: string | number): number {
  const big = BigInt(value);
  const n = Number(big);
  if (!Number.isSafeInteger(n)) throw new RangeError(`ONNX int64 value ${big.toString()} is beyond 2^53 and cannot be read exactly`);
  return n;
}

/** int64 fields come out as decimal strings, so none is rounded before toSafeNumber sees it. */
const TO_OBJECT_OPTIONS = { longs: String, defaults: false, arrays: false } as const;

/**
 * Encodes a model to ONNX bytes (what `InferenceSession.create` and
 * `onnx.load` read).
 * @throws TypeError naming the field when the object does not fit the schema (protobufjs verify).
 */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const type = lookupOnnxType('ModelProto');
  const problem = type.verify(model);
  if (problem !== null) throw new TypeError(`Invalid ONNX model: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

/**
 * Decodes ONNX bytes (e.g. a file from `torch.onnx.export` or tf2onnx).
 * Bytes fields are views into `bytes`: keep it alive and unmodified while the
 * result is used.
 * @throws Error "Not an ONNX model: ..." when the bytes are not a ModelProto
 *   (protobuf wire error, or no graph); RangeError for an int64 beyond 2^53.
 */
export function decodeOnnxModel(bytes: Uint8Array): OnnxModel {
  const type = lookupOnnxType('ModelProto');
  let message: ReturnType<typeof type.decode>;
  try {
    message = type.decode(bytes);
  } catch (error) {
    throw new Error(`Not an ONNX model: ${(error as Error).message}`);
  }
  const model = type.toObject(message, TO_OBJECT_OPTIONS) as Record<string, unknown>;
  const converted = convertLongStrings(model) as OnnxModel;
  if (converted.graph === undefined) throw new Error('Not an ONNX model: it has no graph (field 7 of ModelProto)');
  return converted;
}

/** Names of the int64 fields (decoded as decimal strings so none is rounded silently). */
const INT64_FIELDS: ReadonlySet<string> = new Set(['irVersion', 'version', 'modelVersion', 'dimValue', 'dims', 'int64Data', 'uint64Data', 'i', 'ints', 'begin', 'end']);

function convertLongStrings(value: unknown, key = ''): unknown {
  if (ArrayBuffer.isView(value)) return value;
  if (INT64_FIELDS.has(key)) {
    if (Array.isArray(value)) return value.map((v: string | number) => toSafeNumber(v));
    if (typeof value === 'string' || typeof value === 'number') return toSafeNumber(value);
  }
  if (Array.isArray(value)) return value.map((item) => convertLongStrings(item, key));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = convertLongStrings(v, k);
    return out;
  }
  return value;
}
