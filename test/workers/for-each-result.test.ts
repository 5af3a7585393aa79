import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BatchPixels, ForwardRequest, ForwardResultOf } from '../../src/workers/batch-reducers.js';
import { forEachForwardResult, type ForwardExecutor } from '../../src/workers/forward-executor.js';

interface FakeBatch extends BatchPixels { id: number }

/**
 * An executor whose batches finish in a scrambled order (later ids first),
 * recording how many are in flight; batch id `failOn` fails.
 */
function createFakeExecutor(capacity: number, failOn = -1): ForwardExecutor & { maxInFlight: number; settled: number[] } {
  let inFlight = 0;
  const fake = {
    workerCount: capacity,
    capacity,
    maxInFlight: 0,
    settled: [] as number[],
    async run<R extends ForwardRequest>(batch: BatchPixels): Promise<ForwardResultOf<R>> {
      const id = (batch as FakeBatch).id;
      inFlight += 1;
      fake.maxInFlight = Math.max(fake.maxInFlight, inFlight);
      // later batches often finish first: delays 11, 8, 5, 2 ms, repeating
      await new Promise((resolve) => setTimeout(resolve, 2 + (3 - (id % 4)) * 3));
      inFlight -= 1;
      fake.settled.push(id);
      if (id === failOn) throw new Error(`batch ${id} failed`);
      return { logits: { shape: [1, 1], data: new Float32Array([id]) } } as ForwardResultOf<R>;
    },
    async close() {},
  };
  return fake;
}

async function* generateBatches(count: number, pulled: number[]): AsyncGenerator<FakeBatch> {
  for (let id = 0; id < count; id++) {
    pulled.push(id);
    yield { id, pixels: new Float32Array(1), shape: [1, 1, 1, 1] };
  }
}

describe('forEachForwardResult', () => {
  it('delivers results in input order with at most `capacity` batches in flight', async () => {
    const executor = createFakeExecutor(3);
    const pulled: number[] = [];
    const delivered: number[] = [];
    await forEachForwardResult(generateBatches(10, pulled), executor, { reducer: 'logits' }, (batch, result, index) => {
      assert.equal(result.logits.data[0], batch.id);
      assert.equal(index, batch.id);
      // Backpressure: the source is never more than `capacity` batches ahead of what was delivered.
      assert.ok(pulled.length <= index + 3, `pulled ${pulled.length} while delivering ${index}`);
      delivered.push(batch.id);
    });
    assert.deepStrictEqual(delivered, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(executor.maxInFlight, 3);
  });

  it('waits for the batches in flight, then throws the failed batch error; earlier results were delivered', async () => {
    const executor = createFakeExecutor(3, 4);
    const delivered: number[] = [];
    await assert.rejects(
      forEachForwardResult(generateBatches(10, []), executor, { reducer: 'logits' }, (batch) => { delivered.push(batch.id); }),
      { message: 'batch 4 failed' },
    );
    assert.deepStrictEqual(delivered, [0, 1, 2, 3]);
    assert.deepStrictEqual([...executor.settled].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6]);
  });

  it('stops when onResult throws, after the batches in flight settle', async () => {
    const executor = createFakeExecutor(2);
    await assert.rejects(
      forEachForwardResult(generateBatches(10, []), executor, { reducer: 'logits' }, (batch) => {
        if (batch.id === 2) throw new Error('merge failed at 2');
      }),
      { message: 'merge failed at 2' },
    );
    assert.ok(executor.settled.length <= 4);
  });

  it('stopWhen stops pulling but still delivers the batches in flight', async () => {
    const executor = createFakeExecutor(3);
    const pulled: number[] = [];
    const delivered: number[] = [];
    const summary = await forEachForwardResult(generateBatches(20, pulled), executor, { reducer: 'logits' }, (batch) => { delivered.push(batch.id); }, {
      stopWhen: () => delivered.length >= 5,
    });
    assert.equal(summary.stopped, true);
    assert.equal(summary.batches, delivered.length);
    assert.deepStrictEqual(delivered, pulled); // every batch pulled was delivered, in order
    assert.ok(delivered.length >= 5 && delivered.length <= 7, `delivered ${delivered.length}`);
  });
});
