import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeSafetensors, encodeSafetensors, readFloat32, type Float32Entry } from '../../src/checkpoint/safetensors.js';

function join(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** A file built by hand from the format's description, independent of the encoder. */
function handMadeFile(header: object, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  return join([prefix, json, data]);
}

const SAMPLE = new Map<string, Float32Entry>([
  ['a.weight', { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-30, -0, Number.MAX_VALUE]) }],
  ['a.bias', { shape: [3], data: Float32Array.from([0.1, 0.2, 0.3]) }],
  ['empty', { shape: [0, 4], data: new Float32Array(0) }],
]);

describe('safetensors', () => {
  it('round-trips float32 tensors bit for bit, with metadata, in insertion order', () => {
    const file = join(encodeSafetensors(SAMPLE, { format: 'pt', note: 'x' }));
    const decoded = decodeSafetensors(file, 'mem');
    assert.deepEqual(decoded.metadata, { format: 'pt', note: 'x' });
    assert.deepEqual([...decoded.tensors.keys()], ['a.weight', 'a.bias', 'empty']);
    for (const [name, entry] of SAMPLE) {
      const tensor = decoded.tensors.get(name)!;
      assert.equal(tensor.dtype, 'F32');
      assert.deepEqual(tensor.shape, entry.shape);
      const values = readFloat32(tensor);
      assert.deepEqual(Buffer.from(values.buffer, values.byteOffset, values.byteLength), Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength));
    }
  });

  it('writes the layout the format specifies: u64 LE header length, space-padded JSON, 8-byte aligned data', () => {
    const file = join(encodeSafetensors(new Map([['x', { shape: [1], data: Float32Array.from([1]) }]])));
    const headerBytes = Number(new DataView(file.buffer).getBigUint64(0, true));
    assert.equal(headerBytes % 8, 0);
    const text = new TextDecoder().decode(file.subarray(8, 8 + headerBytes));
    assert.deepEqual(JSON.parse(text), { x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } });
    assert.match(text, /^\{.*\} *$/);
    assert.deepEqual([...file.subarray(8 + headerBytes)], [0, 0, 0x80, 0x3f]);
  });

  it('reads a file written by another writer (unpadded header, unaligned data, other dtypes)', () => {
    const data = new Uint8Array([9, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
    const file = handMadeFile({ u: { dtype: 'U8', shape: [1], data_offsets: [0, 1] }, f: { dtype: 'F32', shape: [2], data_offsets: [1, 9] } }, data);
    const decoded = decodeSafetensors(file, 'mem');
    assert.deepEqual(decoded.metadata, {});
    assert.deepEqual([...readFloat32(decoded.tensors.get('f')!)], [1, -2]);
    assert.deepEqual([...decoded.tensors.get('u')!.bytes], [9]);
  });

  it('refuses truncated files and malformed headers with messages naming the file and tensor', () => {
    const file = join(encodeSafetensors(SAMPLE));
    assert.throws(() => decodeSafetensors(file.subarray(0, 5), 'f.st'), { message: 'Checkpoint f.st is truncated: 5 bytes, less than the 8-byte header length' });
    const headerBytes = Number(new DataView(file.buffer).getBigUint64(0, true));
    assert.throws(() => decodeSafetensors(file.subarray(0, 40), 'f.st'), { message: `Checkpoint f.st is truncated: its header claims ${headerBytes} bytes but the file has 32 after the length` });
    assert.throws(() => decodeSafetensors(file.subarray(0, file.byteLength - 1), 'f.st'), { message: 'Checkpoint f.st is truncated: tensor a.bias ends at data byte 36 but the file holds 35 data bytes' });
    const badShape = handMadeFile({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8));
    assert.throws(() => decodeSafetensors(badShape, 'g.st'), { message: 'Checkpoint g.st: tensor t has a malformed header entry: data_offsets span 8 bytes but F32 [3] needs 12' });
    const badDtype = handMadeFile({ t: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4));
    assert.throws(() => decodeSafetensors(badDtype, 'g.st'), { message: 'Checkpoint g.st: tensor t has a malformed header entry: unknown dtype "F33"' });
    const notJson = handMadeFile({}, new Uint8Array(0));
    notJson[8] = 0x21;
    assert.throws(() => decodeSafetensors(notJson, 'h.st'), { message: /^Checkpoint h\.st is not a safetensors file: its header is not JSON/ });
    const badMeta = handMadeFile({ __metadata__: { n: 1 } }, new Uint8Array(0));
    assert.throws(() => decodeSafetensors(badMeta, 'h.st'), { message: 'Checkpoint h.st has a malformed __metadata__: expected a map of strings' });
  });

  it('refuses to encode data that does not match its shape', () => {
    assert.throws(() => encodeSafetensors(new Map([['t', { shape: [2, 2], data: new Float32Array(3) }]])), { message: 'Tensor t has 3 values but shape [2, 2]' });
  });
});
