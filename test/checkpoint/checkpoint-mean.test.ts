import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../../src/backend/select-backend.js';
import { readCheckpointFile, saveCheckpoint } from '../../src/checkpoint/checkpoint-file.js';
import { MEAN_METADATA_KEY, MEAN_TENSOR_NAME } from '../../src/checkpoint/checkpoint-mean.js';
import { decodeSafetensors, encodeSafetensors, readFloat32 } from '../../src/checkpoint/safetensors.js';
import { computeSquareSizePx } from '../../src/data/crop-geometry.js';
import { hashMeanPixels } from '../../src/data/mean-image.js';
import { makeTestMean } from './mean-fixture.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, initParams } from '../../src/model/params.js';

const config = buildModelConfig('zfnet-tiny', { classIds: ['a', 'b', 'c'] });
const sizePx = computeSquareSizePx(config.inputSizePx);

describe('the mean image inside a checkpoint', () => {
  let dir = '';
  let withMean = '';
  let without = '';
  before(async () => {
    await initBackend('cpu', { log: () => {} });
    dir = mkdtempSync(join(tmpdir(), 'ckpt-mean-'));
    const params = initParams(config, 1);
    withMean = join(dir, 'with.safetensors');
    without = join(dir, 'without.safetensors');
    saveCheckpoint(withMean, { config, params, mean: makeTestMean() });
    saveCheckpoint(without, { config, params });
    disposeParams(params);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips pixels, sha256 and provenance (dataset, split, size, images, skipped) as a tensor plus metadata', () => {
    const mean = readCheckpointFile(withMean).mean!;
    const expected = makeTestMean();
    assert.deepEqual(mean, { ...expected, origin: 'checkpoint' });
    const { tensors, metadata } = decodeSafetensors(readFileSync(withMean), withMean);
    assert.deepEqual(tensors.get(MEAN_TENSOR_NAME)!.shape, [sizePx, sizePx, 3]);
    const meta = JSON.parse(metadata[MEAN_METADATA_KEY]!) as Record<string, unknown>;
    assert.deepEqual({ ...meta, layout: undefined }, { formatVersion: 1, sha256: expected.sha256, sizePx, layout: undefined, source: 'computed', dataset: '/data/imagenet', split: 'train', imageCount: 300, skipped: 3 });
  });

  it('a checkpoint written before means travelled with it reads with mean null', () => {
    assert.equal(readCheckpointFile(without).mean, null);
  });

  it('refuses a mean whose bytes do not match the recorded sha256, and one of the wrong size, naming the file', () => {
    const { tensors, metadata } = decodeSafetensors(readFileSync(withMean), withMean);
    const entries = new Map([...tensors].map(([name, t]) => [name, { shape: t.shape, data: readFloat32(t).slice() }]));
    entries.get(MEAN_TENSOR_NAME)!.data[0] = 200.5;
    const damaged = join(dir, 'damaged.safetensors');
    writeFileSync(damaged, Buffer.concat(encodeSafetensors(entries, metadata)));
    const actual = hashMeanPixels(entries.get(MEAN_TENSOR_NAME)!.data);
    assert.throws(() => readCheckpointFile(damaged), { message: `Checkpoint ${damaged}: ${MEAN_TENSOR_NAME} has sha256 ${actual} but ${MEAN_METADATA_KEY} records ${makeTestMean().sha256}: the file is damaged` });
    const params = initParams(config, 1);
    const wrong = join(dir, 'wrong-size.safetensors');
    saveCheckpoint(wrong, { config, params, mean: makeTestMean(sizePx + 2) });
    disposeParams(params);
    assert.throws(() => readCheckpointFile(wrong), { message: `Checkpoint ${wrong}: ${MEAN_TENSOR_NAME} is F32 [${sizePx + 2}, ${sizePx + 2}, 3] (metadata ${sizePx + 2} px) but zfnet-tiny at ${config.inputSizePx} px needs F32 [${sizePx}, ${sizePx}, 3]` });
  });
});
