import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { createProjector, createTfjsProjector, type HwcImage, type Projector, type WindowEntry } from '../../src/deconv/projector.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { computeGeometry, receptiveFieldBox } from '../../src/model/geometry.js';
import { disposeParams, paramsFromTensors, type ModelParams } from '../../src/model/params.js';
import type { ModelConfig } from '../../src/model/spec.js';
import { useBackend } from './backends.js';
import { initLiveParams, strongestUnitEntries } from './live-params.js';

/** conv1 1x1 (weight 1: identity + ReLU), pool1 3x3/2 (overlapping windows), conv2 2x2 of ones, bias 1. */
const HAND: ModelConfig = {
  name: 'hand', inputSizePx: 5, inputChannels: 1, numClasses: 1, classIds: null,
  layers: [
    { kind: 'conv', name: 'conv1', filters: 1, kernelPx: 1, stride: 1, padding: [0, 0, 0, 0], relu: true },
    { kind: 'maxpool', name: 'pool1', windowPx: 3, stride: 2, padding: [0, 0, 0, 0], ceilMode: false },
    { kind: 'conv', name: 'conv2', filters: 1, kernelPx: 2, stride: 1, padding: [0, 0, 0, 0], relu: true },
  ],
};

function handParams(): ModelParams {
  const tensors = new Map<string, tf.Tensor>([
    ['conv1.weight', tf.ones([1, 1, 1, 1])], ['conv1.bias', tf.zeros([1])],
    ['conv2.weight', tf.ones([2, 2, 1, 1])], ['conv2.bias', tf.ones([1])],
  ]);
  const params = paramsFromTensors(tensors);
  tf.dispose([...tensors.values()]);
  return params;
}

const image = (data: number[], sizePx: number, channels = 1): HwcImage => ({ data: Float32Array.from(data), heightPx: sizePx, widthPx: sizePx, channels });

function projectorsOf(config: ModelConfig, params: ModelParams): [string, Projector][] {
  return [
    ['tfjs', createTfjsProjector(config, params)],
    ['onnx in-process', createProjector({ backend: 'onnx', config, params, workers: 0, threads: 1 })],
    ['onnx 2 workers', createProjector({ backend: 'onnx', config, params, workers: 2 })],
  ];
}

test('ties go to the first maximum in row-major window order and shared winners add (onnx and tfjs)', async () => {
  await useBackend('cpu');
  const params = handParams();
  // Window (0,0) holds a positive tie, 2 at (0,1) and (1,0): the switch is (0,1). Windows (0,1) and (1,0)
  // are all zero: switches (0,2) and (2,0). Window (1,1) has its maximum 3 at (4,4).
  const ties = image([0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3], 5);
  // One 5 at (2,2) wins all four overlapping windows: the four pooled values sum there.
  const shared = image([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 5);
  const entries: WindowEntry[] = [{ imageIndex: 0, unit: 0, y: 0, x: 0 }, { imageIndex: 1, unit: 0, y: 0, x: 0 }];
  const want = [new Array(25).fill(0), new Array(25).fill(0)];
  // conv2 = 2 + 0 + 0 + 3 + 1 = 6: each pooled cell gets 6 back at its switch.
  [1, 2, 10, 24].forEach((i) => { want[0]![i] = 6; });
  want[1]![12] = 4 * 21; // conv2 = 4 * 5 + 1 = 21, four windows share (2,2); MaxUnpool would give 21
  for (const [name, projector] of projectorsOf(HAND, params)) {
    const result = await projector.project('conv2', [ties, shared], entries);
    assert.deepEqual(Array.from(result.activations), [6, 21], name);
    result.projections.forEach((p, e) => assert.deepEqual(Array.from(p), want[e], `${name} entry ${e}`));
    await projector.close();
  }
  disposeParams(params);
});

/** ||got - want|| / ||want||: zero only when the projections agree in shape and in scale. */
function relativeError(got: Float32Array, want: Float32Array): { error: number; wantNorm: number } {
  let [dd, ww] = [0, 0];
  for (let i = 0; i < want.length; i++) {
    dd += (got[i]! - want[i]!) ** 2;
    ww += want[i]! * want[i]!;
  }
  return { error: Math.sqrt(dd / ww), wantNorm: Math.sqrt(ww) };
}

/** Corner, edge and centre cells of each layer, each with the unit that fires most there. */
function liveEntries(config: ModelConfig, params: ModelParams, images: tf.Tensor4D, layer: string): WindowEntry[] {
  const [h, w] = computeGeometry(config).find((g) => g.name === layer)!.outputShape as [number, number, number];
  return strongestUnitEntries(config, params, images, layer, [[0, 0, 0], [1, h - 1, w - 1], [0, Math.floor(h / 2), w - 1], [1, Math.floor(h / 2), Math.floor(w / 2)]]);
}

async function compareWithTfjs(model: string, layers: string[], windows: 'reach' | 'full' = 'reach'): Promise<void> {
  const config = buildModelConfig(model);
  const params = initLiveParams(config, 3);
  const s = config.inputSizePx;
  const batch = tf.randomUniform([2, s, s, 3], -110, 110, 'float32', 5) as tf.Tensor4D;
  const pixels = await batch.data() as Float32Array;
  const images = [0, 1].map((i) => image(Array.from(pixels.subarray(i * s * s * 3, (i + 1) * s * s * 3)), s, 3));
  const reference = createTfjsProjector(config, params);
  const onnx = createProjector({ backend: 'onnx', config, params, workers: 1, windows });
  const geometry = computeGeometry(config);
  try {
  for (const layer of layers) {
    const entries = liveEntries(config, params, batch, layer);
    const [want, got] = [await reference.project(layer, images, entries), await onnx.project(layer, images, entries)];
    const g = geometry.find((x) => x.name === layer)!;
    entries.forEach((entry, e) => {
      const label = `${model} ${layer} entry ${e} (unit ${entry.unit} at ${entry.y},${entry.x})`;
      assert.ok(want.activations[e]! > 0, `${label}: the fixture must fire`);
      assert.ok(Math.abs(got.activations[e]! - want.activations[e]!) <= 1e-4 * want.activations[e]!, `${label}: activation ${got.activations[e]} vs ${want.activations[e]}`);
      // The reference must not be all zero (two zero images agree in everything), and the onnx projection must match
      // it in scale as well as in shape (a correlation alone passes any positive multiple).
      const { error, wantNorm } = relativeError(got.projections[e]!, want.projections[e]!);
      assert.ok(wantNorm > 0, `${label}: the reference projection is all zero`);
      assert.ok(error <= 1e-4, `${label}: relative difference ${error} from the tfjs projection`);
      const box = receptiveFieldBox(g, entry.y, entry.x, s);
      // The window the onnx engine hands back is exactly the receptive field clipped to the image (the whole image in full mode).
      assert.deepEqual(got.windows[e]!.box, windows === 'reach' ? box : { top: 0, left: 0, heightPx: s, widthPx: s }, `${label}: window`);
      assert.equal(got.windows[e]!.values.length, got.windows[e]!.box.heightPx * got.windows[e]!.box.widthPx * 3);
      const peak = want.projections[e]!.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      for (let i = 0; i < s * s * 3; i++) {
        const [y, x] = [Math.floor(i / 3 / s), Math.floor(i / 3) % s];
        if (y >= box.top && y < box.top + box.heightPx && x >= box.left && x < box.left + box.widthPx) continue;
        if (windows === 'reach') assert.equal(got.projections[e]![i], 0, `${label}: pixel ${y},${x} outside the receptive field`);
        assert.ok(Math.abs(want.projections[e]![i]!) <= 1e-6 * peak, `${label}: the full-frame reference is not zero outside the field at ${y},${x}`);
      }
    });
  }
  } finally {
    await onnx.close();
    batch.dispose();
    disposeParams(params);
  }
}

for (const model of ['zfnet-tiny', 'alexnet-tiny', 'zfnet-small', 'alexnet-small']) {
  test(`${model}: the onnx deconvnet over receptive-field windows equals the tfjs deconvnet, zero outside the field`, async () => {
    await useBackend('wasm');
    await compareWithTfjs(model, ['conv1', 'conv2', 'conv3', 'conv4', 'conv5']);
  });
}

test('zfnet-tiny: the onnx full-frame graph equals the tfjs deconvnet too', async () => {
  await useBackend('wasm');
  await compareWithTfjs('zfnet-tiny', ['conv2', 'conv5'], 'full');
});

test('full-size zfnet geometry (224 px): conv2 and conv5 windows equal the tfjs deconvnet', async () => {
  await useBackend('wasm');
  await compareWithTfjs('zfnet', ['conv2', 'conv5']);
});

test('full-size alexnet geometry (224 px, 11x11/4 conv1, no ceil-mode pools): conv2 and conv5 windows equal the tfjs deconvnet', async () => {
  await useBackend('wasm');
  await compareWithTfjs('alexnet', ['conv2', 'conv5']);
});

test('worker threads and one in-process session give the same projections', async () => {
  await useBackend('cpu');
  const config = buildModelConfig('zfnet-tiny');
  const params = initLiveParams(config, 4);
  const pixels = Array.from({ length: 2 * 64 * 64 * 3 }, (_, j) => ((j % (64 * 64 * 3)) * 7919 + Math.floor(j / (64 * 64 * 3)) * 31) % 211 - 105);
  const images = [0, 1].map((i) => image(pixels.slice(i * 64 * 64 * 3, (i + 1) * 64 * 64 * 3), 64, 3));
  // The unit that fires most at each cell: equal all-zero projections would prove nothing.
  const entries = tf.tidy(() => strongestUnitEntries(config, params, tf.tensor4d(pixels, [2, 64, 64, 3]), 'conv2', [0, 1, 2, 3, 4, 5].map((k) => [k % 2, k, 5 - k])));
  const inProcess = createProjector({ backend: 'onnx', config, params, workers: 0, threads: 1 });
  const workers = createProjector({ backend: 'onnx', config, params, workers: 2 });
  try {
    const halves = await Promise.all([workers.project('conv2', images, entries.slice(0, 3)), workers.project('conv2', images, entries.slice(3))]);
    const whole = await inProcess.project('conv2', images, entries);
    entries.forEach((_, e) => {
      assert.ok(whole.activations[e]! > 0 && whole.projections[e]!.some((v) => v !== 0), `entry ${e}: activation ${whole.activations[e]}, an all-zero projection`);
      assert.deepEqual(halves[Math.floor(e / 3)]!.projections[e % 3], whole.projections[e]);
    });
  } finally {
    await Promise.all([workers.close(), inProcess.close()]);
    disposeParams(params);
  }
});

test('bad projection requests are named', async () => {
  await useBackend('cpu');
  const params = handParams();
  const onnx = createProjector({ backend: 'onnx', config: HAND, params, workers: 0, threads: 1 });
  const img = image(new Array(25).fill(1), 5);
  await assert.rejects(onnx.project('conv2', [img], []), { message: 'Expected at least one projection entry for conv2 but received none' });
  await assert.rejects(onnx.project('conv2', [img], [{ imageIndex: 1, unit: 0, y: 0, x: 0 }]), { message: 'Projection entry 0 (image 1, unit 0) is outside conv2.relu: 1 images, 1 units' });
  await assert.rejects(onnx.project('conv2', [img], [{ imageIndex: 0, unit: 0, y: 1, x: 0 }]), { message: 'Expected a cell inside the 1x1 grid of conv2.relu but received 1,0' });
  await assert.rejects(onnx.project('conv9', [img], [{ imageIndex: 0, unit: 0, y: 0, x: 0 }]), { message: 'Expected one of the layers conv1, pool1, conv2, probs of hand but received conv9' });
  await onnx.close();
  disposeParams(params);
});
