import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeNpyFloat32, formatNpyHeader } from '../../src/topk/encode-npy.js';

/** Parses what the encoder wrote, the way numpy's format.read_array_header_1_0 does. */
function parseNpy(bytes: Buffer): { header: string; data: Float32Array; dataOffset: number } {
  assert.deepEqual([...bytes.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const headerLength = bytes.readUInt16LE(8);
  const dataOffset = 10 + headerLength;
  const header = bytes.subarray(10, dataOffset).toString('latin1');
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + dataOffset, bytes.byteOffset + bytes.length));
  return { header, data, dataOffset };
}

test('npy header is numpy\'s dict, padded so data starts on a 64-byte boundary', () => {
  for (const shape of [[2, 3], [1, 64, 64, 3], [5], [0, 4], [1, 13, 13, 256]]) {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = Float32Array.from({ length: size }, (_, i) => i * 0.5 - 3);
    const { header, data, dataOffset } = parseNpy(encodeNpyFloat32(values, shape));
    assert.equal(dataOffset % 64, 0);
    assert.ok(header.endsWith('\n'));
    assert.equal(header.trimEnd(), formatNpyHeader(shape));
    assert.deepEqual(data, values);
  }
  const whole = Float32Array.from({ length: 12 }, (_, i) => i - 5.25);
  assert.deepEqual(parseNpy(encodeNpyFloat32(whole.subarray(3, 9), [2, 3])).data, whole.slice(3, 9), 'a view into a larger buffer writes only its own values');
  assert.equal(formatNpyHeader([5]), "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }");
  assert.equal(formatNpyHeader([1, 2]), "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }");
});

test('shape mismatches are refused with exact messages', () => {
  assert.throws(() => encodeNpyFloat32(new Float32Array(5), [2, 3]), { name: 'RangeError', message: 'Expected 6 values for shape [2, 3] but received 5' });
  assert.throws(() => encodeNpyFloat32(new Float32Array(2), [2, -1]), { message: 'Expected non-negative integer dimensions for shape but received [2, -1]' });
});
