import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select-backend.js';
import { loadCheckpoint, readCheckpointFile, saveCheckpoint } from '../../src/checkpoint/checkpoint-file.js';
import { decodeSafetensors, encodeSafetensors, readFloat32, type Float32Entry } from '../../src/checkpoint/safetensors.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { forward } from '../../src/model/network.js';
import { disposeParams, initParams } from '../../src/model/params.js';

let dir = '';

/** Re-encodes a checkpoint after `edit` changes its tensors or metadata. */
function rewrite(source: string, target: string, edit: (tensors: Map<string, Float32Entry>, metadata: Record<string, string>) => void): void {
  const { tensors, metadata } = decodeSafetensors(readFileSync(source), source);
  const entries = new Map([...tensors].map(([name, t]) => [name, { shape: t.shape, data: readFloat32(t).slice() }]));
  edit(entries, metadata);
  writeFileSync(target, Buffer.concat(encodeSafetensors(entries, metadata)));
}

describe('checkpoint file', () => {
  const config = buildModelConfig('zfnet-tiny', { classIds: ['n01', 'n02', 'n03'] });
  let saved = '';

  before(async () => {
    await initBackend('cpu', { log: () => {} });
    dir = mkdtempSync(join(tmpdir(), 'zfnet-ckpt-'));
    saved = join(dir, 'sub', 'tiny.safetensors');
    const params = initParams(config, 7);
    saveCheckpoint(saved, { config, params, trainingState: { epoch: 2, step: 40, metrics: { top1: 0.25 } } });
    disposeParams(params);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips weights bit for bit and gives identical outputs, releasing every tensor', () => {
    const start = tf.memory().numTensors;
    const params = initParams(config, 7);
    const loaded = loadCheckpoint(saved);
    assert.deepEqual(loaded.config, config);
    assert.deepEqual(loaded.trainingState, { epoch: 2, step: 40, metrics: { top1: 0.25 } });
    assert.equal(loaded.sha256, createHash('sha256').update(readFileSync(saved)).digest('hex'));
    for (const [name, variable] of params) {
      const restored = loaded.params.get(name)!;
      assert.deepEqual(restored.shape, variable.shape, name);
      assert.deepEqual(Buffer.from((restored.dataSync() as Float32Array).buffer), Buffer.from((variable.dataSync() as Float32Array).buffer), name);
    }
    const input = tf.randomNormal([2, 64, 64, 3], 0, 50, 'float32', 3) as tf.Tensor4D;
    const before = forward(config, params, input, { taps: ['fc6', 'probs'] });
    const afterLoad = forward(loaded.config, loaded.params, input, { taps: ['fc6', 'probs'] });
    assert.deepEqual(afterLoad.probs!.dataSync(), before.probs!.dataSync());
    assert.deepEqual(afterLoad.fc6!.dataSync(), before.fc6!.dataSync());
    tf.dispose([input, before.fc6!, before.probs!, afterLoad.fc6!, afterLoad.probs!]);
    disposeParams(params);
    disposeParams(loaded.params);
    assert.equal(tf.memory().numTensors, start);
  });

  it('writes atomically (no temp file left) and records the architecture in __metadata__', () => {
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['tiny.safetensors']);
    const { metadata } = decodeSafetensors(readFileSync(saved), saved);
    assert.equal(metadata['format'], 'pt');
    const described = JSON.parse(metadata['zfnet.config']!) as { layers: Record<string, unknown>[]; classIds: string[]; numClasses: number };
    assert.deepEqual(described.classIds, ['n01', 'n02', 'n03']);
    assert.equal(described.numClasses, 3);
    const pool1 = described.layers.find((l) => l['name'] === 'pool1')!;
    assert.deepEqual([pool1['ceilMode'], pool1['padding'], pool1['windowPx'], pool1['stride']], [true, [0, 0, 0, 0], 3, 2]);
    const norm1 = described.layers.find((l) => l['name'] === 'norm1')!;
    assert.deepEqual([norm1['size'], norm1['k'], norm1['alpha'], norm1['beta']], [5, 2, 1e-4, 0.75]);
    assert.match(String(norm1['formula']), /alpha not divided by size/);
    assert.equal(described.layers.find((l) => l['name'] === 'fc6')!['dropout'], 0.5);
  });

  it('reads without a backend what info needs: config, PyTorch shapes, training state', () => {
    const contents = readCheckpointFile(saved);
    assert.deepEqual(contents.tensors.get('conv1.weight')!.shape, [8, 3, 7, 7]);
    assert.deepEqual(contents.tensors.get('fc8.weight')!.shape, [3, 32]);
    assert.equal(contents.trainingState!.step, 40);
  });

  it('refuses a missing or truncated file, naming it', () => {
    const missing = join(dir, 'nope.safetensors');
    assert.throws(() => loadCheckpoint(missing), { name: 'UsageError', message: `Checkpoint ${missing} does not exist` });
    const truncated = join(dir, 'truncated.safetensors');
    writeFileSync(truncated, readFileSync(saved));
    const size = readFileSync(saved).byteLength;
    truncateSync(truncated, size - 4);
    assert.throws(() => loadCheckpoint(truncated), { name: 'UsageError', message: `Checkpoint ${truncated} is truncated: tensor fc8.bias ends at data byte ${size - 8 - headerLength(saved)} but the file holds ${size - 4 - 8 - headerLength(saved)} data bytes` });
  });

  it('refuses a tensor that is missing, extra, of the wrong shape or dtype, naming file and tensor', () => {
    const file = join(dir, 'edited.safetensors');
    rewrite(saved, file, (t) => t.delete('conv3.bias'));
    assert.throws(() => loadCheckpoint(file), { message: `Checkpoint ${file} has no tensor conv3.bias, which zfnet-tiny needs` });
    rewrite(saved, file, (t) => t.set('fc9.weight', { shape: [1], data: new Float32Array(1) }));
    assert.throws(() => loadCheckpoint(file), { message: `Checkpoint ${file} has tensor fc9.weight, which zfnet-tiny does not have` });
    rewrite(saved, file, (t) => t.set('fc8.weight', { shape: [4, 32], data: new Float32Array(128) }));
    assert.throws(() => loadCheckpoint(file), { message: `Checkpoint ${file}: tensor fc8.weight has shape [4, 32] but its config (zfnet-tiny, 3 classes) needs [3, 32]` });
    rewrite(saved, file, () => {});
    const bytes = readFileSync(file);
    const patched = Buffer.from(bytes.toString('latin1').replace('"conv2.bias":{"dtype":"F32"', '"conv2.bias":{"dtype":"I32"'), 'latin1');
    writeFileSync(file, patched);
    assert.throws(() => loadCheckpoint(file), { message: `Checkpoint ${file}: tensor conv2.bias has dtype I32, expected F32` });
  });

  it('refuses metadata that is missing, of an unknown architecture or not matching it', () => {
    const file = join(dir, 'meta.safetensors');
    rewrite(saved, file, (_, m) => delete m['zfnet.config']);
    assert.throws(() => loadCheckpoint(file), { message: `Checkpoint ${file} has no zfnet.config metadata: it was not written by run-pipeline` });
    const editConfig = (change: (c: Record<string, unknown>) => void) => rewrite(saved, file, (_, m) => {
      const c = JSON.parse(m['zfnet.config']!) as Record<string, unknown>;
      change(c);
      m['zfnet.config'] = JSON.stringify(c);
    });
    editConfig((c) => (c['name'] = 'vgg16'));
    assert.throws(() => loadCheckpoint(file), { message: `Checkpoint ${file} has unknown architecture "vgg16"; known: zfnet, alexnet, zfnet-small, alexnet-small, zfnet-tiny, alexnet-tiny` });
    editConfig((c) => ((c['layers'] as Record<string, unknown>[])[0]!['stride'] = 4));
    assert.throws(() => loadCheckpoint(file), { message: `Checkpoint ${file}: layer conv1 has stride 4 in zfnet.config but the stride of this code's architecture is 2` });
    const fc6 = (c: Record<string, unknown>): Record<string, unknown> => (c['layers'] as Record<string, unknown>[]).find((l) => l['name'] === 'fc6')!;
    editConfig((c) => (fc6(c)['dropout'] = 1.5));
    assert.throws(() => readCheckpointFile(file), { message: `Checkpoint ${file}: layer fc6 has dropout 1.5 in zfnet.config; expected a rate in [0, 1)` });
  });

  it("keeps the dropout rate a checkpoint was trained with (a training choice, not the architecture's)", () => {
    const file = join(dir, 'dropout.safetensors');
    rewrite(saved, file, (_, m) => {
      const c = JSON.parse(m['zfnet.config']!) as Record<string, unknown>;
      for (const layer of c['layers'] as Record<string, unknown>[]) if (layer['name'] === 'fc6' || layer['name'] === 'fc7') layer['dropout'] = layer['name'] === 'fc6' ? 0 : 0.3;
      m['zfnet.config'] = JSON.stringify(c);
    });
    const { config: read } = readCheckpointFile(file);
    assert.deepEqual(read.layers.filter((l) => l.kind === 'dense').map((l) => [l.name, (l as { dropout: number }).dropout]), [['fc6', 0], ['fc7', 0.3], ['fc8', 0]]);
  });
});

function headerLength(path: string): number {
  return Number(readFileSync(path).readBigUInt64LE(0));
}
