import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select-backend.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, initParams, type ModelParams } from '../../src/model/params.js';
import type { ModelConfig } from '../../src/model/spec.js';
import type { BatchPixels, ForwardRequest } from '../../src/workers/batch-reducers.js';
import { createForwardExecutor, createInProcessExecutor, forEachForwardResult, resolveWorkerCount, type ForwardExecutor } from '../../src/workers/forward-executor.js';

/** Seeded batches of random mean-subtracted pixels (uneven last batch). */
function makeBatches(config: ModelConfig, sizes: number[], seed: number): BatchPixels[] {
  let state = seed >>> 0;
  const next = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const s = config.inputSizePx;
  return sizes.map((n) => {
    const pixels = new Float32Array(n * s * s * 3);
    for (let i = 0; i < pixels.length; i++) pixels[i] = Math.round(next() * 255) - 128;
    return { pixels, shape: [n, s, s, 3] };
  });
}

function copyBatches(batches: BatchPixels[]): BatchPixels[] {
  return batches.map((b) => ({ pixels: b.pixels.slice(), shape: b.shape }));
}

async function collect(executor: ForwardExecutor, batches: BatchPixels[], request: ForwardRequest): Promise<unknown[]> {
  const results: unknown[] = [];
  await forEachForwardResult(batches, executor, request, (_batch, result, index) => {
    assert.equal(index, results.length);
    results.push(result);
  });
  return results;
}

const REQUESTS: ForwardRequest[] = [
  { reducer: 'top-activations', layers: [1, 2, 3, 4, 5] },
  { reducer: 'logits' },
  { reducer: 'taps', taps: ['conv1', 'pool5', 'fc7', 'probs'] },
];

describe('forward executors', () => {
  let config: ModelConfig;
  let params: ModelParams;
  /** One pool shared by the tests below (starting a worker compiles the wasm module: seconds). */
  let pool: ForwardExecutor;

  before(async () => {
    await initBackend('wasm', { log: () => undefined });
    config = buildModelConfig('zfnet-tiny');
    params = initParams(config, 7);
    pool = await createForwardExecutor({ workers: 2, backend: 'wasm', model: { kind: 'params', config, params } });
  });
  after(async () => {
    await pool.close();
    disposeParams(params);
  });

  it('gives exactly the in-process results with 2 workers, for every reducer', async () => {
    const batches = makeBatches(config, [3, 3, 3, 3, 2], 11);
    const startTensors = tf.memory().numTensors;
    const inProcess = await createForwardExecutor({ workers: 1, backend: 'wasm', model: { kind: 'params', config, params } });
    try {
      assert.equal(pool.workerCount, 2);
      for (const request of REQUESTS) {
        const expected = await collect(inProcess, copyBatches(batches), request);
        const actual = await collect(pool, copyBatches(batches), request);
        assert.deepStrictEqual(actual, expected, `reducer ${request.reducer}`);
      }
    } finally {
      await inProcess.close();
    }
    assert.equal(tf.memory().numTensors, startTensors);
  });

  it('top-activations gives one [N, C] reduction per layer', async () => {
    const [batch] = makeBatches(config, [2], 3);
    const executor = await createInProcessExecutor('wasm', { kind: 'params', config, params });
    const result = await executor.run(batch!, { reducer: 'top-activations', layers: [2, 5] });
    assert.deepStrictEqual(result.layers.map((l) => [l.layer, l.numImages, l.numUnits, l.maxValues.length]), [[2, 2, 16, 32], [5, 2, 16, 32]]);
    await executor.close();
  });

  it('transfers the pixels to the worker and keeps results in input order', async () => {
    const batches = makeBatches(config, [1, 4, 2, 3, 1, 2], 5);
    const sizes = batches.map((b) => b.shape[0]);
    const seen: number[] = [];
    await forEachForwardResult(batches, pool, { reducer: 'logits' }, (batch, result) => {
      assert.equal(batch.pixels.length, 0); // detached: transferred, not copied
      seen.push(result.logits.shape[0]!);
    });
    assert.deepStrictEqual(seen, sizes);
  });

  it('names the worker and the batch when a worker fails on a batch', async () => {
    const good = makeBatches(config, [2], 1)[0]!;
    const bad: BatchPixels = { pixels: new Float32Array(2 * 32 * 32 * 3), shape: [2, 32, 32, 3] };
    await assert.rejects(
      forEachForwardResult([good, bad], pool, { reducer: 'logits' }, () => undefined),
      { message: /^forward worker [12] failed on batch \d+: Expected input \[N, 64, 64, 3\] for zfnet-tiny but received \[2, 32, 32, 3\]$/ },
    );
  });

  it('rejects a bad request with the exact message, in-process and in a worker', async () => {
    const batch = makeBatches(config, [1], 2)[0]!;
    const request: ForwardRequest = { reducer: 'top-activations', layers: [6] };
    const inProcess = await createInProcessExecutor('wasm', { kind: 'params', config, params });
    await assert.rejects(inProcess.run(batch, request), { name: 'RangeError', message: 'Expected layers among 1, 2, 3, 4, 5 of zfnet-tiny for layers but received 6' });
    await inProcess.close();
    await assert.rejects(pool.run(batch, request), { message: /^forward worker [12] failed on batch \d+: Expected layers among 1, 2, 3, 4, 5 of zfnet-tiny for layers but received 6$/ });
  });

  it('names the worker when one cannot start, and refuses batches once closed', async () => {
    await assert.rejects(
      createForwardExecutor({ workers: 2, backend: 'cpu', model: { kind: 'checkpoint', path: '/nonexistent/model.safetensors' } }),
      { name: 'UsageError', message: /^forward worker [12] failed to start: Checkpoint \/nonexistent\/model.safetensors does not exist$/ },
    );
    const closed = await createForwardExecutor({ workers: 2, backend: 'cpu', model: { kind: 'params', config, params } });
    await closed.close();
    await assert.rejects(closed.run(makeBatches(config, [1], 4)[0]!, { reducer: 'logits' }), { message: /^forward worker 1 cannot take batch 0: the pool was closed$/ });
  });
});

describe('resolveWorkerCount', () => {
  it('defaults to one per core on wasm and 1 on tensorflow', () => {
    assert.ok(resolveWorkerCount(undefined, { name: 'wasm' }) >= 1);
    assert.equal(resolveWorkerCount(undefined, { name: 'tensorflow' }), 1);
    assert.equal(resolveWorkerCount('3', { name: 'wasm' }), 3);
  });

  it('rejects a bad value with the exact message', () => {
    assert.throws(() => resolveWorkerCount('0', { name: 'wasm' }), { name: 'RangeError', message: 'Expected integer between 1 and 256 for workers but received "0"' });
  });
});
