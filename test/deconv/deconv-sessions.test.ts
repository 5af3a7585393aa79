/**
 * Where deconv batches run: worker threads (started by the first batch,
 * ended by asking them to release their sessions) give the in-process
 * session's results, and a closed pool refuses new batches with a message.
 * The graph is a stand-in with the deconv graphs' inputs and outputs:
 * activation = the sum of each entry's pixels, projection = twice the pixels.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDeconvSessions, type DeconvSessions } from '../../src/deconv/deconv-sessions.js';
import type { DeconvFeeds } from '../../src/deconv/deconv-feeds.js';
import { encodeOnnxModel } from '../../src/onnx/onnx-codec.js';
import { ONNX_DATA_TYPE } from '../../src/onnx/onnx-schema.js';
import { int64Tensor, makeNode, tensorValueInfo } from '../../src/onnx/onnx-values.js';

function standInGraph(): { bytes: Uint8Array; description: string } {
  const bytes = encodeOnnxModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'stand-in',
      initializer: [int64Tensor('axes', [3], [1, 2, 3]), { name: 'two', dims: [], dataType: ONNX_DATA_TYPE.FLOAT, floatData: [2] }],
      node: [
        makeNode('ReduceSum', 'sum', ['pixels', 'axes'], ['activation'], { keepdims: { int: 0 } }),
        makeNode('Mul', 'twice', ['pixels', 'two'], ['projection']),
      ],
      input: [tensorValueInfo('pixels', ONNX_DATA_TYPE.FLOAT, ['E', 1, 2, 2]), tensorValueInfo('select', ONNX_DATA_TYPE.INT64, ['E', 1])],
      output: [tensorValueInfo('activation', ONNX_DATA_TYPE.FLOAT, ['E']), tensorValueInfo('projection', ONNX_DATA_TYPE.FLOAT, ['E', 1, 2, 2])],
    },
  });
  return { bytes, description: 'the stand-in graph' };
}

function feedsOf(batch: number): DeconvFeeds {
  const pixels = Float32Array.from({ length: 2 * 4 }, (_, i) => batch * 10 + i);
  return { count: 2, pixels, pixelsDims: [2, 1, 2, 2], select: new BigInt64Array(2), valid: [] };
}

async function runBatches(sessions: DeconvSessions): Promise<Array<{ activation: number[]; projection: number[] }>> {
  const outs = await Promise.all([0, 1, 2, 3, 4].map((b) => sessions.run('k', standInGraph, feedsOf(b))));
  return outs.map((o) => ({ activation: [...o.activation], projection: [...o.projection] }));
}

test('worker threads give the in-process results; closed pools refuse batches; a pool that ran nothing closes at once', async () => {
  const expected = [0, 1, 2, 3, 4].map((b) => {
    const pixels = [...feedsOf(b).pixels];
    return { activation: [0, 1].map((e) => pixels.slice(e * 4, e * 4 + 4).reduce((a, v) => a + v, 0)), projection: pixels.map((v) => 2 * v) };
  });
  for (const workers of [0, 2]) {
    const sessions = createDeconvSessions({ executionProvider: 'cpu', workers, threads: 1 });
    assert.deepEqual(await runBatches(sessions), expected, `${workers} workers`);
    await sessions.close();
    await assert.rejects(sessions.run('k', standInGraph, feedsOf(0)), { message: 'the deconv sessions were closed' });
  }
  const idle = createDeconvSessions({ executionProvider: 'cpu', workers: 2, threads: 1 });
  assert.equal(idle.parallelism, 2);
  await idle.close();
});
