import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../src/backend/select-backend.js';
import { lowerModelConfig } from '../../src/graph/lower-model-config.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, type ModelParams } from '../../src/model/params.js';
import type { ModelConfig } from '../../src/model/spec.js';
import { buildDistancesGraph } from '../../src/onnx/build-distances-graph.js';
import { graphWeightsFromParams } from '../../src/onnx/graph-weights.js';
import { ONNX_DATA_TYPE } from '../../src/onnx/onnx-schema.js';
import { computeRowDistances, runForwardRequest, validateForwardRequest, type ForwardRequest } from '../../src/workers/batch-reducers.js';
import { createForwardExecutor, type ForwardExecutor } from '../../src/workers/forward-executor.js';
import { describeConfigForward } from '../../src/workers/forward-model.js';
import { makeBatch, makeParams, relativeError } from '../onnx/onnx-fixtures.js';

describe('the distances request', () => {
  let config: ModelConfig;
  let params: ModelParams;
  const executors: Record<string, ForwardExecutor> = {};

  before(async () => {
    await initBackend('wasm', { log: () => undefined });
    config = buildModelConfig('zfnet-tiny');
    params = makeParams(config, 5);
    const model = { kind: 'params' as const, config, params };
    executors['tfjs in-process'] = await createForwardExecutor({ workers: 1, backend: 'wasm', model });
    executors['onnx in-process'] = await createForwardExecutor({ workers: 1, backend: 'onnx', executionProvider: 'cpu', model, graphCacheDir: null });
    executors['onnx 2 workers'] = await createForwardExecutor({ workers: 2, backend: 'onnx', executionProvider: 'cpu', model, graphCacheDir: null });
  });
  after(async () => {
    for (const executor of Object.values(executors)) await executor.close();
    disposeParams(params);
  });

  it('computeRowDistances is the float64 Euclidean distance of each row to the reference', () => {
    const rows = Float32Array.from([3, 4, 0, 1, 1, 1, 0, 0, 0]);
    assert.deepEqual(Array.from(computeRowDistances('fc7', rows, 3, Float32Array.from([0, 0, 0]))), [5, Math.sqrt(3), 0]);
    assert.deepEqual(Array.from(computeRowDistances('fc7', rows, 3, Float32Array.from([3, 4, 0]))), [0, Math.sqrt(4 + 9 + 1), 5]);
    // float32 rounding of the squares would lose 1e8 + 1: float64 keeps it
    assert.equal(computeRowDistances('fc7', Float32Array.from([1e4, 1]), 1, Float32Array.from([0, 0]))[0], Math.sqrt(1e8 + 1));
  });

  it('every engine gives the same distances through the executor (in-process and across worker threads), the reference buffer left usable', async () => {
    const { taps } = await runForwardRequest(config, params, makeBatch(config, 1, 2), { reducer: 'taps', taps: ['conv1', 'fc7'] });
    const references = [{ tap: 'conv1' as const, values: taps.conv1!.data }, { tap: 'fc7' as const, values: taps.fc7!.data }];
    const request = { reducer: 'distances' as const, references, taps: ['probs' as const] };
    const results: Record<string, Float64Array[]> = {};
    for (const [name, executor] of Object.entries(executors)) {
      const result = await executor.run(makeBatch(config, 4, 9), request);
      results[name] = [result.distances.conv1!, result.distances.fc7!];
      assert.deepEqual(result.taps.probs!.shape, [4, config.numClasses], name);
    }
    const expected = results['tfjs in-process']!;
    for (const [name, got] of Object.entries(results)) {
      got.forEach((d, i) => assert.ok(relativeError(d, expected[i]!) < 1e-5, `${name} ${['conv1', 'fc7'][i]}: ${Array.from(d)} vs ${Array.from(expected[i]!)}`));
    }
    assert.deepEqual(Array.from(results['onnx 2 workers']![0]!), Array.from(results['onnx in-process']![0]!), 'worker threads run the same graph');
    assert.equal(references[0]!.values.length, taps.conv1!.data.length, 'the request is copied to workers, not transferred');
  });

  it('a reference of the wrong size is refused with the same message on both engines', async () => {
    const request: ForwardRequest = { reducer: 'distances', references: [{ tap: 'fc7', values: new Float32Array(10) }], taps: [] };
    const fc7 = (config.layers.find((l) => l.name === 'fc7') as { units: number }).units;
    for (const [name, executor] of Object.entries(executors)) {
      await assert.rejects(executor.run(makeBatch(config, 2, 1), request), (error: Error) => {
        assert.match(error.message, new RegExp(`Expected a reference of ${fc7} values for tap fc7 but received 10$`), name);
        return true;
      });
    }
  });

  it('bad requests are refused naming the value', () => {
    const values = new Float32Array(4);
    const refuse = (request: unknown, message: string): void => assert.throws(() => validateForwardRequest(describeConfigForward(config), request as ForwardRequest), { message });
    refuse({ reducer: 'distances', references: [], taps: [] }, 'Expected a non-empty list of taps with reference values for references but received "[]"');
    refuse({ reducer: 'distances', references: [{ tap: 'conv9', values }], taps: [] }, 'Expected tap names among conv1, conv2, conv3, conv4, conv5, pool1, pool2, pool5, norm1, norm2, fc6, fc7, logits, probs for references but received "conv9"');
    refuse({ reducer: 'distances', references: [{ tap: 'fc7', values }, { tap: 'fc7', values }], taps: [] }, 'Expected one reference per tap for references but received "fc7 twice"');
    refuse({ reducer: 'distances', references: [{ tap: 'fc7', values: [1, 2] }], taps: [] }, 'Expected a Float32Array of reference values for tap fc7');
    refuse({ reducer: 'distances', references: [{ tap: 'fc7', values }], taps: ['fc9'] }, 'Expected tap names among conv1, conv2, conv3, conv4, conv5, pool1, pool2, pool5, norm1, norm2, fc6, fc7, logits, probs for taps but received "fc9"');
  });

  it('the graph (no session): pixels and NHWC references in, float64 [N] distances and whole taps out', () => {
    const graph = lowerModelConfig(config);
    const model = buildDistancesGraph(graph, graphWeightsFromParams(config, params), { references: ['conv1', 'fc7'], taps: ['probs'], lrn: 'pool' });
    const describe = (info: { name?: string; type?: unknown }) => {
      const tensor = (info.type as { tensorType: { elemType: number; shape: { dim: Array<{ dimValue?: number; dimParam?: string }> } } }).tensorType;
      return `${info.name} ${tensor.elemType} [${tensor.shape.dim.map((d) => d.dimParam ?? d.dimValue).join(', ')}]`;
    };
    const conv1 = config.layers.find((l) => l.name === 'conv1') as { filters: number };
    const inputs = model.graph.input!.map(describe);
    assert.equal(inputs.length, 3);
    assert.equal(inputs[0], `pixels 1 [N, 64, 64, 3]`);
    assert.match(inputs[1]!, new RegExp(`^reference/conv1 1 \\[1, \\d+, \\d+, ${conv1.filters}\\]$`));
    assert.match(inputs[2]!, /^reference\/fc7 1 \[1, \d+\]$/);
    assert.deepEqual(model.graph.output!.map(describe), [`distance/conv1 ${ONNX_DATA_TYPE.DOUBLE} [N]`, `distance/fc7 ${ONNX_DATA_TYPE.DOUBLE} [N]`, `tap/probs 1 [N, ${config.numClasses}]`]);
    const ops = model.graph.node!.filter((n) => n.name!.startsWith('distance/conv1')).map((n) => n.opType);
    assert.deepEqual(ops, ['Transpose', 'Cast', 'Cast', 'Sub', 'ReduceSumSquare', 'Sqrt']);
    assert.throws(() => buildDistancesGraph(graph, graphWeightsFromParams(config, params), { references: [], taps: [], lrn: 'pool' }), { message: `Expected at least one reference layer for the distances graph of ${graph.name} but received none` });
  });
});
