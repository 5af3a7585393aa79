import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../src/backend/select-backend.js';
import { convertToTorch, parameterLayouts } from '../../src/model/torch-layout.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, initParams, type ModelParams } from '../../src/model/params.js';
import { graphWeightsFromPacked, graphWeightsFromParams } from '../../src/onnx/graph-weights.js';
import { packParams } from '../../src/workers/worker-protocol.js';

const config = buildModelConfig('zfnet-tiny');
let params: ModelParams;
before(async () => {
  await initBackend('cpu', { log: () => undefined });
  params = initParams(config, 4);
});
after(() => disposeParams(params));

test('graph weights from params and from the packed buffer: PyTorch layout, read lazily, complete when iterated', () => {
  const expected = new Map(parameterLayouts(config).map((l) => [l.name, convertToTorch(l, params.get(l.name)!.dataSync() as Float32Array)]));
  for (const weights of [graphWeightsFromParams(config, params), graphWeightsFromPacked(config, packParams(params))]) {
    assert.equal(weights.size, expected.size);
    assert.ok(weights.has('fc6.weight'));
    assert.deepEqual(weights.get('conv2.weight'), expected.get('conv2.weight'));
    assert.deepEqual([...weights.keys()].sort(), [...expected.keys()].sort());
    assert.deepEqual(new Map(weights), expected);
    assert.equal(weights.get('nope'), undefined);
  }
});
