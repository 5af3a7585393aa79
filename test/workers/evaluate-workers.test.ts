import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select-backend.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, initParams, type ModelParams } from '../../src/model/params.js';
import type { ModelConfig } from '../../src/model/spec.js';
import type { ImageBatch } from '../../src/stages/stage-items.js';
import { evaluateBatches } from '../../src/train/run-epoch.js';
import type { ClassTally } from '../../src/train/topk-metrics.js';
import { createForwardExecutor } from '../../src/workers/forward-executor.js';

/** Labelled batches of seeded pixels; `crops` rows per image. */
function makeBatches(config: ModelConfig, images: number[], crops: number): ImageBatch[] {
  const s = config.inputSizePx;
  let id = 0;
  return images.map((n, b) => {
    const rows = n * crops;
    const pixels = Float32Array.from({ length: rows * s * s * 3 }, (_, i) => Math.sin(i * 0.013 + b) * 100);
    const imageIds = Array.from({ length: rows }, (_, r) => id + Math.floor(r / crops));
    id += n;
    return { imageIds, labels: imageIds.map((i) => i % config.numClasses), paths: imageIds.map((i) => `img${i}.png`), pixels, shape: [rows, s, s, 3], cropsPerImage: crops };
  });
}

async function* iterate(batches: ImageBatch[]): AsyncGenerator<ImageBatch> {
  yield* batches;
}

describe('evaluateBatches with worker threads', () => {
  let config: ModelConfig;
  let params: ModelParams;

  before(async () => {
    await initBackend('wasm', { log: () => undefined });
    config = buildModelConfig('zfnet-tiny');
    params = initParams(config, 5);
  });
  after(() => disposeParams(params));

  for (const crops of [1, 2]) {
    it(`gives exactly the main-thread sums and class tally with 2 workers (${crops} crop(s) per image)`, async () => {
      const startTensors = tf.memory().numTensors;
      const plainTally: ClassTally = new Map();
      const plain = await evaluateBatches(iterate(makeBatches(config, [3, 3, 2], crops)), { config, params, classTally: plainTally });
      const executor = await createForwardExecutor({ workers: 2, backend: 'wasm', model: { kind: 'params', config, params } });
      const pooledTally: ClassTally = new Map();
      try {
        const pooled = await evaluateBatches(iterate(makeBatches(config, [3, 3, 2], crops)), { config, params, classTally: pooledTally, executor });
        assert.deepStrictEqual(pooled, plain);
        assert.deepStrictEqual(pooledTally, plainTally);
        assert.equal(plain.sums.images, 8);
      } finally {
        await executor.close();
      }
      assert.equal(tf.memory().numTensors, startTensors);
    });
  }
});
