/**
 * The ONNX file format (ModelProto and the messages under it) as protobufjs
 * reflection types, defined here from the ONNX IR specification's field
 * numbers. Field names are camelCase (protobuf JSON style); only the numbers
 * and wire types matter on disk, so files written by `torch.onnx.export`,
 * tf2onnx or onnxruntime decode with these types and files encoded with them
 * load in onnxruntime.
 *
 * Covered: ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto
 * (with Segment), ValueInfoProto, TypeProto (Tensor, Sequence, Map, Optional,
 * SparseTensor), TensorShapeProto (Dimension), OperatorSetIdProto,
 * StringStringEntryProto and FunctionProto. Not covered (skipped when decoding,
 * as protobuf skips unknown fields): training_info, sparse tensors, quantization
 * annotations, device configurations.
 *
 * The repeated numeric data fields of TensorProto are packed, as in ONNX; the
 * other repeated scalars (dims, ints, floats) are written unpacked (proto2
 * default), and the decoder accepts either form for every field.
 */
import protobuf from 'protobufjs';

type Rule = 'repeated' | undefined;
/** [field name, field number, type, rule, packed] */
type FieldRow = readonly [string, number, string, Rule?, boolean?];

const R = 'repeated' as const;

/** Every message, by its ONNX name (nested messages as `Outer.Inner`). */
const MESSAGES: Readonly<Record<string, readonly FieldRow[]>> = Object.freeze({
  StringStringEntryProto: [['key', 1, 'string'], ['value', 2, 'string']],
  OperatorSetIdProto: [['domain', 1, 'string'], ['version', 2, 'int64']],
  'TensorShapeProto.Dimension': [['dimValue', 1, 'int64'], ['dimParam', 2, 'string'], ['denotation', 3, 'string']],
  TensorShapeProto: [['dim', 1, 'TensorShapeProto.Dimension', R]],
  'TypeProto.Tensor': [['elemType', 1, 'int32'], ['shape', 2, 'TensorShapeProto']],
  'TypeProto.Sequence': [['elemType', 1, 'TypeProto']],
  'TypeProto.Map': [['keyType', 1, 'int32'], ['valueType', 2, 'TypeProto']],
  'TypeProto.Optional': [['elemType', 1, 'TypeProto']],
  'TypeProto.SparseTensor': [['elemType', 1, 'int32'], ['shape', 2, 'TensorShapeProto']],
  TypeProto: [
    ['tensorType', 1, 'TypeProto.Tensor'], ['sequenceType', 4, 'TypeProto.Sequence'], ['mapType', 5, 'TypeProto.Map'],
    ['optionalType', 9, 'TypeProto.Optional'], ['sparseTensorType', 8, 'TypeProto.SparseTensor'], ['denotation', 6, 'string'],
  ],
  ValueInfoProto: [['name', 1, 'string'], ['type', 2, 'TypeProto'], ['docString', 3, 'string'], ['metadataProps', 4, 'StringStringEntryProto', R]],
  'TensorProto.Segment': [['begin', 1, 'int64'], ['end', 2, 'int64']],
  TensorProto: [
    ['dims', 1, 'int64', R, false], ['dataType', 2, 'int32'], ['segment', 3, 'TensorProto.Segment'],
    ['floatData', 4, 'float', R, true], ['int32Data', 5, 'int32', R, true], ['stringData', 6, 'bytes', R],
    ['int64Data', 7, 'int64', R, true], ['name', 8, 'string'], ['docString', 12, 'string'], ['rawData', 9, 'bytes'],
    ['externalData', 13, 'StringStringEntryProto', R], ['dataLocation', 14, 'int32'],
    ['doubleData', 10, 'double', R, true], ['uint64Data', 11, 'uint64', R, true], ['metadataProps', 16, 'StringStringEntryProto', R],
  ],
  AttributeProto: [
    ['name', 1, 'string'], ['refAttrName', 21, 'string'], ['docString', 13, 'string'], ['type', 20, 'int32'],
    ['f', 2, 'float'], ['i', 3, 'int64'], ['s', 4, 'bytes'], ['t', 5, 'TensorProto'], ['g', 6, 'GraphProto'], ['tp', 14, 'TypeProto'],
    ['floats', 7, 'float', R, false], ['ints', 8, 'int64', R, false], ['strings', 9, 'bytes', R],
    ['tensors', 10, 'TensorProto', R], ['graphs', 11, 'GraphProto', R], ['typeProtos', 15, 'TypeProto', R],
  ],
  NodeProto: [
    ['input', 1, 'string', R], ['output', 2, 'string', R], ['name', 3, 'string'], ['opType', 4, 'string'],
    ['domain', 7, 'string'], ['overload', 8, 'string'], ['attribute', 5, 'AttributeProto', R],
    ['docString', 6, 'string'], ['metadataProps', 9, 'StringStringEntryProto', R],
  ],
  GraphProto: [
    ['node', 1, 'NodeProto', R], ['name', 2, 'string'], ['initializer', 5, 'TensorProto', R], ['docString', 10, 'string'],
    ['input', 11, 'ValueInfoProto', R], ['output', 12, 'ValueInfoProto', R], ['valueInfo', 13, 'ValueInfoProto', R],
    ['metadataProps', 16, 'StringStringEntryProto', R],
  ],
  FunctionProto: [
    ['name', 1, 'string'], ['input', 4, 'string', R], ['output', 5, 'string', R], ['attribute', 6, 'string', R],
    ['attributeProto', 11, 'AttributeProto', R], ['node', 7, 'NodeProto', R], ['docString', 8, 'string'],
    ['opsetImport', 9, 'OperatorSetIdProto', R], ['domain', 10, 'string'], ['overload', 13, 'string'],
    ['valueInfo', 12, 'ValueInfoProto', R], ['metadataProps', 14, 'StringStringEntryProto', R],
  ],
  ModelProto: [
    ['irVersion', 1, 'int64'], ['opsetImport', 8, 'OperatorSetIdProto', R], ['producerName', 2, 'string'],
    ['producerVersion', 3, 'string'], ['domain', 4, 'string'], ['modelVersion', 5, 'int64'], ['docString', 6, 'string'],
    ['graph', 7, 'GraphProto'], ['metadataProps', 14, 'StringStringEntryProto', R], ['functions', 25, 'FunctionProto', R],
  ],
});

/** TensorProto.DataType values (element types of tensors and of TypeProto.Tensor). */
export const ONNX_DATA_TYPE = Object.freeze({
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
  FLOAT8E4M3FN: 17, FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19, FLOAT8E5M2FNUZ: 20, UINT4: 21, INT4: 22, FLOAT4E2M1: 23,
} as const);

/** AttributeProto.AttributeType values. */
export const ONNX_ATTRIBUTE_TYPE = Object.freeze({
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8,
  TENSORS: 9, GRAPHS: 10, SPARSE_TENSOR: 11, SPARSE_TENSORS: 12, TYPE_PROTO: 13, TYPE_PROTOS: 14,
} as const);

/** TensorProto.DataLocation values. */
export const ONNX_DATA_LOCATION = Object.freeze({ DEFAULT: 0, EXTERNAL: 1 } as const);

/** The `value` oneof of each message that has one (a decoder sets at most one member). */
const ONEOFS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  TypeProto: ['tensorType', 'sequenceType', 'mapType', 'optionalType', 'sparseTensorType'],
  'TensorShapeProto.Dimension': ['dimValue', 'dimParam'],
});

function buildRoot(): protobuf.Root {
  const root = new protobuf.Root();
  const onnx = root.define('onnx');
  const types = new Map<string, protobuf.Type>();
  const typeOf = (name: string): protobuf.Type => {
    let type = types.get(name);
    if (type === undefined) {
      const [outer, inner] = name.split('.') as [string, string | undefined];
      type = new protobuf.Type(inner ?? outer);
      (inner === undefined ? onnx : typeOf(outer)).add(type);
      types.set(name, type);
    }
    return type;
  };
  for (const [name, rows] of Object.entries(MESSAGES)) {
    const type = typeOf(name);
    for (const [field, id, fieldType, rule, packed] of rows) {
      const options = packed === undefined ? undefined : { packed };
      type.add(new protobuf.Field(field, id, fieldType, rule, undefined, options));
    }
    const oneof = ONEOFS[name];
    if (oneof !== undefined) type.add(new protobuf.OneOf('value', oneof.slice()));
  }
  root.resolveAll();
  return root;
}

const ROOT = buildRoot();

/** The names of the messages this schema defines. */
export const ONNX_MESSAGE_NAMES = Object.freeze(Object.keys(MESSAGES));

/**
 * The reflection type of one message (e.g. `ModelProto`, `TypeProto.Tensor`).
 * @throws RangeError naming the message when the schema does not define it.
 */
export function lookupOnnxType(name: string): protobuf.Type {
  if (!Object.hasOwn(MESSAGES, name)) throw new RangeError(`Expected one of ${ONNX_MESSAGE_NAMES.join(', ')} for ONNX message but received ${JSON.stringify(name)}`);
  return ROOT.lookupType(`onnx.${name}`);
}
