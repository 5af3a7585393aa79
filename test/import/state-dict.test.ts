import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeSafetensors, encodeSafetensors, type Float32Entry } from '../../src/checkpoint/safetensors.js';
import { readFloatTensor, readStateDict } from '../../src/import/state-dict.js';

function join(chunks: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))));
}

function fileOf(tensors: Record<string, Float32Entry>): Uint8Array {
  return join(encodeSafetensors(new Map(Object.entries(tensors))));
}

/** A one-tensor file of any dtype, written from the format's description. */
function rawFile(name: string, dtype: string, shape: number[], data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify({ [name]: { dtype, shape, data_offsets: [0, data.byteLength] } }));
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  return join([prefix, json, data]);
}

const entry = (shape: number[], fill = 1): Float32Entry => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill) });
const EXPECTED = new Map<string, number[]>([['conv.weight', [2, 1, 3, 3]], ['bn.weight', [2]]]);

describe('readStateDict', () => {
  it('returns the expected tensors in expected order and skips num_batches_tracked', () => {
    const file = fileOf({ 'bn.weight': entry([2], 3), 'bn.num_batches_tracked': entry([1]), 'conv.weight': entry([2, 1, 3, 3], 2) });
    const weights = readStateDict(decodeSafetensors(file, 'sd.safetensors'), 'sd.safetensors', EXPECTED, 'net');
    assert.deepEqual([...weights.keys()], ['conv.weight', 'bn.weight']);
    assert.deepEqual([...weights.get('bn.weight')!.data], [3, 3]);
    assert.equal(weights.get('conv.weight')!.data.length, 18);
  });

  it('removes a DataParallel module. prefix when every name has it', () => {
    const file = fileOf({ 'module.conv.weight': entry([2, 1, 3, 3]), 'module.bn.weight': entry([2]) });
    const weights = readStateDict(decodeSafetensors(file, 'x'), 'x', EXPECTED, 'net');
    assert.deepEqual([...weights.keys()], ['conv.weight', 'bn.weight']);
  });

  it('names the tensor, expected and found shape on a mismatch', () => {
    const file = fileOf({ 'conv.weight': entry([2, 1, 5, 5]), 'bn.weight': entry([2]) });
    assert.throws(() => readStateDict(decodeSafetensors(file, 'sd.safetensors'), 'sd.safetensors', EXPECTED, 'resnet18'), {
      name: 'UsageError',
      message: 'State dict sd.safetensors: tensor conv.weight has shape [2, 1, 5, 5] but resnet18 expects [2, 1, 3, 3]',
    });
  });

  it('names a missing tensor and tensors of another architecture', () => {
    const missing = fileOf({ 'conv.weight': entry([2, 1, 3, 3]) });
    assert.throws(() => readStateDict(decodeSafetensors(missing, 'a'), 'a', EXPECTED, 'vgg11'), {
      message: 'State dict a has no tensor bn.weight, which vgg11 needs with shape [2]',
    });
    const extra = fileOf({ 'conv.weight': entry([2, 1, 3, 3]), 'bn.weight': entry([2]), 'fc.weight': entry([1]) });
    assert.throws(() => readStateDict(decodeSafetensors(extra, 'b'), 'b', EXPECTED, 'vgg11'), {
      message: 'State dict b has tensors that vgg11 does not: fc.weight; is it a vgg11 state_dict?',
    });
  });

  it('converts F16, BF16 and F64 to float32 and refuses integer weights', () => {
    const values = [1, -2.5, 0.099975586, 65504];
    const f16 = new Uint8Array([0x00, 0x3c, 0x00, 0xc1, 0x66, 0x2e, 0xff, 0x7b]); // 1, -2.5, ~0.1, max half
    const read = (dtype: string, bytes: Uint8Array): number[] => {
      const decoded = decodeSafetensors(rawFile('t', dtype, [4], bytes), 'f');
      return [...readFloatTensor(decoded.tensors.get('t')!, 't', 'f')];
    };
    assert.deepEqual(read('F16', f16).map((v) => Number(v.toPrecision(8))), values);
    const bf16 = new Uint8Array(8);
    const f32 = new Float32Array([1, -2.5, 0.5, 256]);
    const f32Bytes = new Uint8Array(f32.buffer);
    for (let i = 0; i < 4; i++) bf16.set([f32Bytes[i * 4 + 2]!, f32Bytes[i * 4 + 3]!], i * 2);
    assert.deepEqual(read('BF16', bf16), [1, -2.5, 0.5, 256]);
    assert.deepEqual(read('F64', new Uint8Array(new Float64Array([1, -2.5, 0.25, 3]).buffer)), [1, -2.5, 0.25, 3]);
    assert.throws(() => read('I64', new Uint8Array(32)), {
      message: 'State dict f: tensor t has dtype I64; expected a floating-point weight (F32, F16, BF16 or F64)',
    });
  });
});
