import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { decodeOnnxModel, encodeOnnxModel, type OnnxModel } from '../../src/onnx/onnx-codec.js';
import { lookupOnnxType, ONNX_DATA_TYPE } from '../../src/onnx/onnx-schema.js';
import { float32Tensor, int64Tensor, makeNode, readFloat32Tensor, tensorValueInfo } from '../../src/onnx/onnx-values.js';

/** y = Relu(Conv(x, w, b)) reshaped to [N, 4]: exercises initializers, ints attributes, int64 tensors and symbolic dims. */
function smallModel(): OnnxModel {
  const w = Float32Array.from({ length: 1 * 1 * 2 * 2 }, (_, i) => i - 1.5); // [1, 1, 2, 2]
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'codec-test',
    graph: {
      name: 'g',
      node: [
        makeNode('Conv', 'conv', ['x', 'w', 'b'], ['c'], { kernel_shape: { ints: [2, 2] }, pads: { ints: [0, 0, 1, 1] } }),
        makeNode('Relu', 'relu', ['c'], ['r']),
        makeNode('Reshape', 'flat', ['r', 'shape'], ['y']),
      ],
      initializer: [float32Tensor('w', [1, 1, 2, 2], w), float32Tensor('b', [1], new Float32Array([0.25])), int64Tensor('shape', [2], [-1, 4])],
      input: [tensorValueInfo('x', ONNX_DATA_TYPE.FLOAT, ['N', 1, 2, 2])],
      output: [tensorValueInfo('y', ONNX_DATA_TYPE.FLOAT, ['N', 4])],
    },
    metadataProps: [{ key: 'zfnet.graph', value: 'test' }],
  };
}

/** The same convolution computed directly (pads bottom/right by one). */
function directConv(x: number[]): number[] {
  const w = [-1.5, -0.5, 0.5, 1.5];
  const at = (r: number, c: number): number => (r < 2 && c < 2 ? x[r * 2 + c]! : 0);
  const out: number[] = [];
  for (let r = 0; r < 2; r++) {
    for (let c = 0; c < 2; c++) {
      const v = w[0]! * at(r, c) + w[1]! * at(r, c + 1) + w[2]! * at(r + 1, c) + w[3]! * at(r + 1, c + 1) + 0.25;
      out.push(Math.max(0, v));
    }
  }
  return out;
}

describe('ONNX codec', () => {
  it('encodes a model onnxruntime loads and runs to the direct computation', async () => {
    const session = await ort.InferenceSession.create(encodeOnnxModel(smallModel()));
    try {
      const x = [1, -2, 3, 4];
      const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x), [1, 1, 2, 2]) });
      const y = out['y']!;
      assert.deepEqual(y.dims, [1, 4]);
      const expected = directConv(x);
      Array.from(y.data as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `y[${i}] = ${v}, expected ${expected[i]}`));
    } finally {
      await session.release();
    }
  });

  it('decodes what it encodes, with int64 fields as numbers and tensors readable', () => {
    const model = smallModel();
    const decoded = decodeOnnxModel(encodeOnnxModel(model));
    assert.equal(decoded.irVersion, 8);
    assert.deepEqual(decoded.opsetImport, [{ domain: '', version: 17 }]); // set fields survive, empty ones too
    assert.deepEqual(decoded.graph.node!.map((n) => n.opType), ['Conv', 'Relu', 'Reshape']);
    assert.deepEqual(decoded.graph.node![0]!.attribute!.map((a) => [a.name, a.ints]), [['kernel_shape', [2, 2]], ['pads', [0, 0, 1, 1]]]);
    assert.deepEqual(decoded.graph.initializer![2]!.int64Data, [-1, 4]);
    assert.deepEqual(Array.from(readFloat32Tensor(decoded.graph.initializer![0]!)), [-1.5, -0.5, 0.5, 1.5]);
    assert.deepEqual(decoded.graph.input![0]!.type!.tensorType!.shape!.dim, [{ dimParam: 'N' }, { dimValue: 1 }, { dimValue: 2 }, { dimValue: 2 }]);
    assert.deepEqual(decoded.metadataProps, [{ key: 'zfnet.graph', value: 'test' }]);
  });

  it('writes the field numbers of the ONNX specification', () => {
    // OperatorSetIdProto{domain: "", version: 17}: field 2 varint -> 0x10 0x11 (domain empty is omitted).
    const opset = lookupOnnxType('OperatorSetIdProto');
    assert.deepEqual(Array.from(opset.encode(opset.fromObject({ version: 17 })).finish()), [0x10, 0x11]);
    // TensorProto float_data is packed (field 4, wire type 2): 0x22, length 4, then the float.
    const tensor = lookupOnnxType('TensorProto');
    assert.deepEqual(Array.from(tensor.encode(tensor.fromObject({ floatData: [1] })).finish()), [0x22, 0x04, 0x00, 0x00, 0x80, 0x3f]);
    // NodeProto op_type is field 4 (0x22), AttributeProto type is field 20 (0xa0 0x01).
    const node = lookupOnnxType('NodeProto');
    assert.deepEqual(Array.from(node.encode(node.fromObject({ opType: 'Relu', attribute: [{ name: 'a', type: 2, i: 3 }] })).finish()),
      [0x22, 4, 0x52, 0x65, 0x6c, 0x75, 0x2a, 8, 0x0a, 1, 0x61, 0x18, 3, 0xa0, 0x01, 2]);
  });

  it('refuses bytes that are not a model, and int64 values beyond 2^53', () => {
    assert.throws(() => decodeOnnxModel(new Uint8Array([0x0a, 0xff, 0xff])), /^Error: Not an ONNX model: /);
    assert.throws(() => decodeOnnxModel(new Uint8Array([0x08, 0x07])), { message: 'Not an ONNX model: it has no graph (field 7 of ModelProto)' });
    const big = encodeOnnxModel({ irVersion: 8, opsetImport: [{ version: 17 }], graph: { name: 'g' }, modelVersion: 2 ** 53 + 2 });
    assert.throws(() => decodeOnnxModel(big), { message: 'ONNX int64 value 9007199254740994 is beyond 2^53 and cannot be read exactly' });
  });

  it('refuses a model object that does not fit the schema, naming the field', () => {
    const bad = { ...smallModel(), irVersion: 'eight' } as unknown as OnnxModel;
    assert.throws(() => encodeOnnxModel(bad), { name: 'TypeError', message: 'Invalid ONNX model: irVersion: integer|Long expected' });
    assert.throws(() => lookupOnnxType('Nope'), /^RangeError: Expected one of StringStringEntryProto, .* for ONNX message but received "Nope"$/);
  });
});
