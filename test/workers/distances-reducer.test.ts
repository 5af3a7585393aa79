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
import { computeRowDistances, validateForwardRequest, type ForwardRequest } from '../../src/workers/batch-reducers.js';
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
    executors['tfjs 2 workers'] = await createForwardExecutor({ workers: 2, backend: 'wasm', model });
    executors['onnx in-process'] = await createForwardExecutor({ workers: 1, backend: 'onnx', executionProvider: 'cpu', model, graphCacheDir: null });
    executors['onnx 2 workers'] = await createForwardExecutor({ workers: 2, backend: 'onnx', executionProvider: 'cpu', model, graphCacheDir: null });
  });
  after(async () => {
    for (const executor of Object.values(executors)) await executor.close();
    disposeParams(params);
  });

  it('computeRowDistances: float64 Euclidean distance of each row to row 0, and row 0\'s norm', () => {
    const rows = Float32Array.from([3, 4, 0, 1, 1, 1, 0, 0, 0]);
    const { distances, norm } = computeRowDistances(rows, 3);
    assert.deepEqual(Array.from(distances), [0, Math.sqrt(4 + 9 + 1), 5]);
    assert.equal(norm, 5);
    // float32 sums of squares would lose the 1 in 1e8 + 1: float64 keeps it
    assert.equal(computeRowDistances(Float32Array.from([0, 0, 1e4, 1]), 2).distances[1], Math.sqrt(1e8 + 1));
    assert.throws(() => computeRowDistances(new Float32Array(0), 0), { message: 'Expected at least one image for distances but received none' });
  });

  it('every engine gives the same distances and norm, in-process and across worker threads', async () => {
    const request = { reducer: 'distances' as const, features: ['conv1', 'fc7'], taps: ['probs'] };
    const results: Record<string, Float64Array[]> = {};
    for (const [name, executor] of Object.entries(executors)) {
      const result = await executor.run(makeBatch(config, 4, 9), request);
      results[name] = [result.distances['conv1']!, result.distances['fc7']!, Float64Array.of(result.norms['conv1']!, result.norms['fc7']!)];
      assert.deepEqual(result.taps['probs']!.shape, [4, config.numClasses], name);
      assert.equal(result.distances['conv1']![0], 0, `${name}: the first image is at distance 0 from itself`);
    }
    const expected = results['tfjs in-process']!;
    for (const [name, got] of Object.entries(results)) {
      got.forEach((values, i) => assert.ok(relativeError(values, expected[i]!) < 1e-5, `${name} output ${i}: ${Array.from(values)} vs ${Array.from(expected[i]!)}`));
    }
    assert.deepEqual(results['onnx 2 workers'], results['onnx in-process'], 'worker threads run the same graph');
    assert.deepEqual(results['tfjs 2 workers'], results['tfjs in-process'], 'worker threads run the same reducer');
  });

  it('bad requests are refused naming the value', () => {
    const tapNames = describeConfigForward(config).tapNames.join(', ');
    const refuse = (request: unknown, message: string): void => assert.throws(() => validateForwardRequest(describeConfigForward(config), request as ForwardRequest), { message });
    refuse({ reducer: 'distances', features: [], taps: [] }, 'Expected a non-empty list of taps to measure for features but received "[]"');
    refuse({ reducer: 'distances', features: ['conv9'], taps: [] }, `Expected tap names among ${tapNames} for features but received "conv9"`);
    refuse({ reducer: 'distances', features: ['fc7'], taps: ['fc9'] }, `Expected tap names among ${tapNames} for taps but received "fc9"`);
  });

  it('the graph (no session): pixels in; float64 [N] distances, the first image\'s norm and whole taps out', () => {
    const graph = lowerModelConfig(config);
    const weights = graphWeightsFromParams(config, params);
    const model = buildDistancesGraph(graph, weights, { features: ['conv1', 'fc7', 'conv1'], taps: ['probs'], lrn: 'pool' });
    const describe = (info: { name?: string; type?: unknown }): string => {
      const tensor = (info.type as { tensorType: { elemType: number; shape: { dim: Array<{ dimValue?: number; dimParam?: string }> } } }).tensorType;
      return `${info.name} ${tensor.elemType} [${tensor.shape.dim.map((d) => d.dimParam ?? d.dimValue).join(', ')}]`;
    };
    assert.deepEqual(model.graph.input!.map(describe), [`pixels ${ONNX_DATA_TYPE.FLOAT} [N, 64, 64, 3]`]);
    const f64 = ONNX_DATA_TYPE.DOUBLE;
    assert.deepEqual(model.graph.output!.map(describe), [
      `distance/conv1 ${f64} [N]`, `norm/conv1 ${f64} [1]`, `distance/fc7 ${f64} [N]`, `norm/fc7 ${f64} [1]`, `tap/probs ${ONNX_DATA_TYPE.FLOAT} [N, ${config.numClasses}]`,
    ]);
    const ops = model.graph.node!.filter((n) => n.name!.startsWith('distance/conv1') || n.name === 'norm/conv1').map((n) => n.opType);
    assert.deepEqual(ops, ['Slice', 'Sub', 'Cast', 'ReduceSumSquare', 'Sqrt', 'Cast', 'ReduceSumSquare', 'Sqrt']);
    assert.throws(() => buildDistancesGraph(graph, weights, { features: [], taps: [], lrn: 'pool' }), { message: `Expected at least one layer to measure for the distances graph of ${graph.name} but received none` });
  });
});
