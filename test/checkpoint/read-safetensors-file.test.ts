import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isConvTensor, readCheckpointFile } from '../../src/checkpoint/checkpoint-file.js';
import { readSafetensorsFile } from '../../src/checkpoint/read-safetensors-file.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { saveCheckpoint } from '../../src/checkpoint/checkpoint-file.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, initParams } from '../../src/model/params.js';
import { useBackend } from '../deconv/backends.js';

const dir = mkdtempSync(join(tmpdir(), 'read-safetensors-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Tensors of odd sizes (1, 13, 100, 2049 floats) so chunks of 7 or 64 bytes split them anywhere. */
function writeFixture(): string {
  const tensors = new Map([1, 13, 100, 2049].map((n, i) => [`t${i}`, { shape: [n], data: Float32Array.from({ length: n }, (_, j) => Math.sin(i * 1000 + j)) }]));
  const path = join(dir, 'odd.safetensors');
  writeFileSync(path, Buffer.concat(encodeSafetensors(tensors, { note: 'fixture' })));
  return path;
}

test('a chunked read keeps exactly the chosen tensors byte for byte and hashes the whole file, whatever the chunk size', () => {
  const path = writeFixture();
  const file = readFileSync(path);
  const whole = decodeSafetensors(file, path);
  const sha256 = createHash('sha256').update(file).digest('hex');
  for (const chunkBytes of [7, 64, 4096, 1 << 23]) {
    const read = readSafetensorsFile(path, (name) => name !== 't2', chunkBytes);
    assert.equal(read.sha256, sha256, `chunk ${chunkBytes}`);
    assert.equal(read.sizeBytes, file.byteLength);
    assert.deepEqual([...read.kept.keys()].sort(), ['t0', 't1', 't3'], `chunk ${chunkBytes}`);
    for (const [name, tensor] of read.kept) assert.deepEqual(tensor.bytes, Uint8Array.from(whole.tensors.get(name)!.bytes), `${name}, chunk ${chunkBytes}`);
    assert.deepEqual(read.layout.metadata, { note: 'fixture' });
  }
});

test('a truncated or missing file is named as before', () => {
  const path = writeFixture();
  const size = readFileSync(path).byteLength;
  truncateSync(path, size - 4);
  assert.throws(() => readSafetensorsFile(path, () => true, 7), { name: 'UsageError', message: new RegExp(`^Checkpoint ${path} is truncated: tensor t3 ends at data byte`) });
  truncateSync(path, 5);
  assert.throws(() => readSafetensorsFile(path, () => true), { name: 'UsageError', message: `Checkpoint ${path} is truncated: 5 bytes, less than the 8-byte header length` });
  assert.throws(() => readSafetensorsFile(join(dir, 'none.safetensors'), () => true), { name: 'UsageError', message: `Checkpoint ${join(dir, 'none.safetensors')} does not exist` });
  assert.throws(() => readSafetensorsFile(dir, () => true), { name: 'UsageError', message: `Checkpoint ${dir} is not a file` });
});

test('readCheckpointFile with keepTensor: conv tensors only, same hash, config and values; every tensor still checked', async () => {
  await useBackend('cpu');
  const config = buildModelConfig('zfnet-tiny');
  const params = initParams(config, 3);
  const path = join(dir, 'tiny.safetensors');
  saveCheckpoint(path, { config, params });
  disposeParams(params);
  const all = readCheckpointFile(path);
  const conv = readCheckpointFile(path, { keepTensor: isConvTensor });
  assert.equal(conv.sha256, all.sha256);
  assert.deepEqual(conv.config, all.config);
  assert.deepEqual([...conv.tensors.keys()], [...all.tensors.keys()].filter((n) => n.startsWith('conv')));
  assert.ok([...all.tensors.keys()].some((n) => n.startsWith('fc')), 'the fixture has fc tensors that are left out');
  for (const [name, tensor] of conv.tensors) assert.deepEqual(tensor, all.tensors.get(name), name);
  // A tensor that is not kept is still checked: an extra one is refused.
  const tensors = new Map([...all.tensors].map(([n, t]) => [n, { shape: t.shape, data: t.data }]));
  tensors.set('fc9.weight', { shape: [2], data: new Float32Array(2) });
  const bad = join(dir, 'extra.safetensors');
  writeFileSync(bad, Buffer.concat(encodeSafetensors(tensors, decodeSafetensors(readFileSync(path), path).metadata)));
  assert.throws(() => readCheckpointFile(bad, { keepTensor: isConvTensor }), { name: 'UsageError', message: `Checkpoint ${bad} has tensor fc9.weight, which zfnet-tiny does not have` });
});
