import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select-backend.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { computeGeometry } from '../../src/model/geometry.js';
import { forward, tapOfLayer } from '../../src/model/network.js';
import { disposeParams, initParams, paramsFromTensors, tfjsParameterShapes } from '../../src/model/params.js';
import { TAP_NAMES, type ModelConfig, type TapName } from '../../src/model/spec.js';
import { computeCrossEntropy } from '../../src/train/train-step.js';
import { drawDropoutMasks, listDropoutLayers } from '../../src/train/dropout-masks.js';
import { relativeError } from '../kernels/compare-backends.js';

const quiet = { log: () => {} };

/** Expected per-image shape of every tap, from the geometry. */
function expectedTapShapes(config: ModelConfig): Map<TapName, number[]> {
  const shapes = new Map<TapName, number[]>();
  computeGeometry(config).forEach((g, i) => shapes.set(tapOfLayer(config, i), g.outputShape));
  shapes.set('probs', [config.numClasses]);
  return shapes;
}

function runAllTaps(config: ModelConfig, params: Map<string, tf.Variable>, input: tf.Tensor4D): Map<TapName, Float32Array> {
  const taps = forward(config, params, input, { taps: TAP_NAMES });
  const values = new Map<TapName, Float32Array>();
  for (const name of TAP_NAMES) values.set(name, taps[name]!.dataSync() as Float32Array);
  tf.dispose(Object.values(taps));
  return values;
}

/** Runs `work` on cpu, then on wasm; asserts each run releases its tensors. */
async function onCpuThenWasm<T>(work: () => T): Promise<T[]> {
  const results: T[] = [];
  for (const backend of ['cpu', 'wasm'] as const) {
    await initBackend(backend, quiet);
    const start = tf.memory().numTensors;
    results.push(work());
    assert.equal(tf.memory().numTensors, start, `${backend} leaked tensors`);
  }
  return results;
}

/** Every named array of `wasm` is within 1e-4 relative error of `cpu`, and `cpu`'s are not all zero. */
function assertClose(cpu: Map<string, Float32Array>, wasm: Map<string, Float32Array>): void {
  assert.deepEqual([...wasm.keys()], [...cpu.keys()]);
  for (const [name, expected] of cpu) {
    const actual = wasm.get(name)!;
    assert.ok(expected.some((v) => v !== 0), `${name} is all zeros on cpu: the comparison would be empty`);
    assert.equal(actual.length, expected.length, name);
    assert.ok(relativeError(actual, expected) < 1e-4, `${name}: relative error ${relativeError(actual, expected)}`);
  }
}

describe('network forward', () => {
  for (const model of ['zfnet', 'alexnet']) {
    it(`full-size ${model} at batch 1 on wasm gives every tap the shape geometry predicts`, async () => {
      await initBackend('wasm', quiet);
      const start = tf.memory().numTensors;
      const config = buildModelConfig(model);
      // Constant weights: this test is about shapes; the seeded init is tested on small models.
      const tensors = new Map([...tfjsParameterShapes(config)].map(([name, shape]) => [name, tf.fill(shape, 1e-3)]));
      const params = paramsFromTensors(tensors);
      tf.dispose([...tensors.values()]);
      const input = tf.zeros([1, 224, 224, 3]) as tf.Tensor4D;
      const taps = forward(config, params, input, { taps: TAP_NAMES });
      for (const [name, shape] of expectedTapShapes(config)) assert.deepEqual(taps[name]!.shape, [1, ...shape], name);
      tf.dispose([input, ...Object.values(taps)]);
      disposeParams(params);
      assert.equal(tf.memory().numTensors, start);
    });
  }

  for (const model of ['zfnet-tiny', 'alexnet-tiny']) {
    it(`${model}: wasm equals cpu on every tap within 1e-4 relative error`, async () => {
      const config = buildModelConfig(model, { inputSizePx: 96 });
      const [cpu, wasm] = await onCpuThenWasm(() => {
        const params = initParams(config, 11);
        const input = tf.randomNormal([3, 96, 96, 3], 0, 60, 'float32', 5) as tf.Tensor4D;
        const values = runAllTaps(config, params, input);
        input.dispose();
        disposeParams(params);
        return values;
      });
      assertClose(cpu!, wasm!);
    });
  }

  it('zfnet-tiny: gradients of the loss on wasm equal cpu within 1e-4 relative error, for every parameter', async () => {
    const config = buildModelConfig('zfnet-tiny', { inputSizePx: 96 });
    const [cpu, wasm] = await onCpuThenWasm(() => {
      const params = initParams(config, 13);
      const input = tf.randomNormal([4, 96, 96, 3], 0, 60, 'float32', 9) as tf.Tensor4D;
      // Unbalanced labels: with balanced ones and near-uniform probabilities the fc8.bias gradient cancels to rounding noise.
      const labels = tf.tensor1d([0, 0, 0, 1], 'int32');
      const masks = new Map([...drawDropoutMasks(listDropoutLayers(config), 4, 4)].map(([name, mask]) => [name, tf.tensor2d(mask, [4, mask.length / 4])]));
      const { value, grads } = tf.variableGrads(() => {
        const { logits } = forward(config, params, input, { taps: ['logits'], dropoutMasks: masks });
        return computeCrossEntropy(logits as tf.Tensor2D, labels);
      }, [...params.values()]);
      const values = new Map([...params].map(([name, v]) => [name, grads[v.name]!.dataSync() as Float32Array]));
      tf.dispose([value, input, labels, ...masks.values(), ...Object.values(grads)]);
      disposeParams(params);
      return values;
    });
    assertClose(cpu!, wasm!);
  });
});
