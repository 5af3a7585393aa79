import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { listProjectWasmKernels, registerWasmKernels, unregisterWasmKernels } from '../../src/kernels/register-wasm-kernels.js';
import { useBackend } from '../deconv/backends.js';
import { computeOn, makeValues, relativeError } from './compare-backends.js';

type Pad = 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];

interface ConvCase {
  name: string;
  input: [number, number, number, number];
  filter: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
}

const CASES: ConvCase[] = [
  { name: 'k3 s1 same', input: [2, 9, 9, 4], filter: [3, 3, 4, 5], strides: [1, 1], pad: 'same' },
  { name: 'k7 s2 explicit 1 (zfnet conv1)', input: [2, 23, 23, 3], filter: [7, 7, 3, 6], strides: [2, 2], pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { name: 'k5 s2 valid (zfnet conv2)', input: [3, 15, 15, 4], filter: [5, 5, 4, 3], strides: [2, 2], pad: 'valid' },
  { name: 'k11 s4 valid (alexnet conv1)', input: [2, 27, 27, 3], filter: [11, 11, 3, 4], strides: [4, 4], pad: 'valid' },
  { name: 'k5 s2 same, even input', input: [2, 12, 12, 3], filter: [5, 5, 3, 2], strides: [2, 2], pad: 'same' },
  { name: 'k3 s4 valid, leftover rows', input: [2, 14, 13, 2], filter: [3, 3, 2, 3], strides: [4, 4], pad: 'valid' },
  { name: 'k3x5 s(2,3) asymmetric explicit', input: [2, 11, 14, 3], filter: [3, 5, 3, 4], strides: [2, 3], pad: [[0, 0], [0, 2], [1, 0], [0, 0]] },
];

/** dx and dW of sum(conv2d(x, w) * g) on one backend (g fixes dy). */
function computeConvGrads(c: ConvCase): tf.Tensor[] {
  const x = tf.tensor4d(makeValues(c.input.reduce((a, b) => a * b), 1), c.input);
  const w = tf.tensor4d(makeValues(c.filter.reduce((a, b) => a * b), 2), c.filter);
  const outShape = tf.tidy(() => tf.conv2d(x, w, c.strides, c.pad).shape);
  const g = tf.tensor(makeValues(outShape.reduce((a, b) => a * b), 3), outShape);
  const grads = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.strides, c.pad), g)))([x, w]);
  tf.dispose([x, w, g]);
  return grads;
}

/** Shape or explicit padding reordered from NHWC to `dataFormat`. */
function toFormat<T>(nhwc: readonly T[], dataFormat: 'NHWC' | 'NCHW'): T[] {
  return dataFormat === 'NCHW' ? [nhwc[0]!, nhwc[3]!, nhwc[1]!, nhwc[2]!] : [...nhwc];
}

/** Both backprop kernels called directly in `dataFormat` (wasm's forward conv is NHWC only). */
function computeBackpropKernels(c: ConvCase, dataFormat: 'NHWC' | 'NCHW'): tf.Tensor[] {
  const outShape = tf.backend_util.computeConv2DInfo(c.input, c.filter, c.strides, 1, c.pad).outShape;
  const dy = tf.tensor(makeValues(outShape.reduce((a, b) => a * b), 4), toFormat(outShape, dataFormat));
  const x = tf.tensor(makeValues(c.input.reduce((a, b) => a * b), 6), toFormat(c.input, dataFormat));
  const w = tf.tensor4d(makeValues(c.filter.reduce((a, b) => a * b), 5), c.filter);
  const pad = Array.isArray(c.pad) ? toFormat(c.pad, dataFormat) : c.pad;
  const common = { strides: c.strides, pad, dataFormat };
  const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...common, inputShape: toFormat(c.input, dataFormat) } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...common, filterShape: c.filter } as unknown as tf.NamedAttrMap) as tf.Tensor;
  tf.dispose([dy, x, w]);
  return [dx, dw];
}

describe('wasm Conv2DBackpropInput / Conv2DBackpropFilter equal the cpu backend', () => {
  for (const c of CASES) {
    it(`tf.grads of conv2d, ${c.name}`, async () => {
      const [cpuDx, cpuDw] = await computeOn('cpu', () => computeConvGrads(c));
      const [wasmDx, wasmDw] = await computeOn('wasm', () => computeConvGrads(c));
      assert.ok(relativeError(wasmDx!, cpuDx!) < 1e-4, `dx relative error ${relativeError(wasmDx!, cpuDx!)}`);
      assert.ok(relativeError(wasmDw!, cpuDw!) < 1e-4, `dW relative error ${relativeError(wasmDw!, cpuDw!)}`);
    });
  }

  for (const c of CASES.slice(1, 5)) {
    for (const format of ['NHWC', 'NCHW'] as const) {
      it(`Conv2DBackpropInput and Conv2DBackpropFilter kernels ${format}, ${c.name}`, async () => {
        const [cpuDx, cpuDw] = await computeOn('cpu', () => computeBackpropKernels(c, format));
        const [wasmDx, wasmDw] = await computeOn('wasm', () => computeBackpropKernels(c, format));
        assert.ok(relativeError(wasmDx!, cpuDx!) < 1e-4, `dx relative error ${relativeError(wasmDx!, cpuDx!)}`);
        assert.ok(relativeError(wasmDw!, cpuDw!) < 1e-4, `dW relative error ${relativeError(wasmDw!, cpuDw!)}`);
      });
    }
  }

  it('tf.conv2dTranspose with explicit output shape equals cpu', async () => {
    const run = (): tf.Tensor[] => {
      const dy = tf.tensor4d(makeValues(2 * 6 * 6 * 4, 7), [2, 6, 6, 4]);
      const w = tf.tensor4d(makeValues(5 * 5 * 3 * 4, 8), [5, 5, 3, 4]);
      const out = tf.conv2dTranspose(dy, w, [2, 16, 16, 3], 2, 'valid'); // bottom row and right column unused by the conv
      tf.dispose([dy, w]);
      return [out];
    };
    const [cpu] = await computeOn('cpu', run);
    const [wasm] = await computeOn('wasm', run);
    assert.ok(relativeError(wasm!, cpu!) < 1e-4);
  });
});

describe('registerWasmKernels', () => {
  it('is idempotent, and unregisterWasmKernels restores tfjs-backend-wasm\'s own kernels', async () => {
    await useBackend('wasm');
    unregisterWasmKernels();
    const original = tf.getKernel('Conv2DBackpropInput', 'wasm');
    assert.ok(original !== undefined);
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined);
    registerWasmKernels();
    const ours = tf.getKernel('Conv2DBackpropInput', 'wasm');
    registerWasmKernels();
    assert.equal(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc, ours?.kernelFunc);
    assert.notEqual(ours?.kernelFunc, original.kernelFunc);
    assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm') !== undefined);
    assert.deepEqual(listProjectWasmKernels(), ['Conv2DBackpropInput', 'Conv2DBackpropFilter', 'MaxPoolGrad']);
    unregisterWasmKernels();
    unregisterWasmKernels();
    assert.equal(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc, original.kernelFunc);
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined);
    registerWasmKernels();
  });

  it('a bad shape fails with tfjs\'s message and leaks nothing', async () => {
    await useBackend('wasm');
    registerWasmKernels();
    const before = tf.memory().numTensors;
    const dy = tf.zeros([1, 4, 4, 2]);
    const w = tf.zeros([3, 3, 5, 3]);
    assert.throws(() => tf.conv2dTranspose(dy as tf.Tensor4D, w as tf.Tensor4D, [1, 9, 9, 5], 2, 'valid'), /Error in conv2dDerInput: depth of output \(2\) must match output depth for filter 3\./);
    const dy2 = tf.zeros([1, 5, 5, 3]);
    assert.throws(() => tf.conv2dTranspose(dy2 as tf.Tensor4D, w as tf.Tensor4D, [1, 9, 9, 5], 2, 'valid'), {
      name: 'RangeError',
      message: 'Expected dy of shape [1, 4, 4, 3] (NHWC) for a conv of input [1, 9, 9, 5] and filter [3, 3, 5, 3] but received [1, 5, 5, 3]',
    });
    tf.dispose([dy, dy2, w]);
    assert.equal(tf.memory().numTensors, before);
  });
});
