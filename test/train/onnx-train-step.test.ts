import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { parameterLayouts } from '../../src/model/torch-layout.js';
import { buildModelConfig, type ModelOverrides } from '../../src/model/architectures.js';
import { disposeParams, initParams } from '../../src/model/params.js';
import type { ModelConfig } from '../../src/model/spec.js';
import { drawDropoutMasks, listDropoutLayers } from '../../src/train/dropout-masks.js';
import { createOnnxTrainSession } from '../../src/train/onnx-train-session.js';
import { createTfjsTrainer, torchTensorsOf } from '../../src/train/tfjs-trainer.js';
import type { TrainStepSettings, TrainTensors } from '../../src/train/trainer.js';
import type { StepInput } from '../../src/train/train-step.js';
import { registerWasmKernels } from '../../src/kernels/register-wasm-kernels.js';
import { useBackend } from '../deconv/backends.js';
import { relativeError, seededFloats } from '../import/graph-reference.js';

/** A starting point: seeded weights (the paper's init), nonzero momentum, a batch on the 0..255 scale and masks. */
function startingPoint(config: ModelConfig, rows: number, seed: number): { tensors: TrainTensors; batch: StepInput; settings: TrainStepSettings } {
  const params = initParams(config, seed);
  const weights = torchTensorsOf(config, params);
  disposeParams(params);
  const velocities = new Map(parameterLayouts(config).map((layout, i) => [layout.name, seededFloats(weights.get(layout.name)!.length, seed + i, 1e-3)]));
  const s = config.inputSizePx;
  const batch: StepInput = { pixels: seededFloats(rows * s * s * 3, seed + 99, 120), shape: [rows, s, s, 3], labels: Array.from({ length: rows }, (_, i) => (i * 7 + seed) % config.numClasses) };
  const settings = { learningRate: 0.02, momentum: 0.9, weightDecay: 5e-4, dropoutMasks: drawDropoutMasks(listDropoutLayers(config), seed, rows) };
  return { tensors: { weights, velocities }, batch, settings };
}

const copy = (t: TrainTensors): TrainTensors => ({ weights: new Map([...t.weights].map(([k, v]) => [k, v.slice()])), velocities: new Map([...t.velocities].map(([k, v]) => [k, v.slice()])) });

/**
 * `steps` steps on each engine from the same start; every tensor within
 * `tolerance` (normwise relative) of tfjs. One step on the full-size models:
 * from the second on, float32 rounding can flip a ReLU sign or a max-pool
 * near-tie between the engines (the two then take different, equally right
 * decisions), which no per-tensor tolerance describes.
 */
async function compareEngines(name: string, overrides: ModelOverrides, rows: number, micro: { tfjs: number; onnx: number }, backend: 'cpu' | 'wasm' = 'cpu', steps = 2, tolerance = 1e-4): Promise<void> {
  await useBackend(backend);
  if (backend === 'wasm') registerWasmKernels();
  const config = buildModelConfig(name, overrides);
  const start = startingPoint(config, rows, 3);
  const options = { config, filterRadius: 0.1 };
  const tfjs = createTfjsTrainer({ ...options, microBatchSize: micro.tfjs }, copy(start.tensors));
  const onnx = await createOnnxTrainSession({ ...options, weightDecay: true, microBatchSize: micro.onnx, executionProvider: 'cpu', intraOpThreads: 1 }, copy(start.tensors));
  try {
    for (let step = 0; step < steps; step++) {
      const batch = { ...start.batch, pixels: start.batch.pixels.slice() };
      const settings = { ...start.settings, dropoutMasks: drawDropoutMasks(listDropoutLayers(config), 3 + step, rows) };
      const expected = await tfjs.step(batch, settings);
      const actual = await onnx.step(batch, settings);
      assert.ok(Math.abs(actual.loss - expected.loss) <= 1e-5 * Math.max(1, expected.loss), `${name} step ${step}: loss ${actual.loss} vs ${expected.loss}`);
      assert.deepEqual(actual.ranks, expected.ranks, `${name} step ${step}: ranks`);
    }
    const reference = await tfjs.readTensors();
    for (const [kind, map] of [['weight', 'weights'], ['velocity', 'velocities']] as const) {
      for (const [tensor, values] of reference[map]) {
        const got = onnx.tensors[map].get(tensor)!;
        const moved = relativeError(values, start.tensors[map].get(tensor)!);
        assert.ok(moved > 0, `${name} ${kind} ${tensor} did not change`);
        const error = relativeError(got, values);
        assert.ok(error < tolerance, `${name} ${kind} ${tensor}: relative error ${error} (moved ${moved})`);
      }
    }
  } finally {
    await tfjs.close();
    await onnx.release();
  }
}

describe('the onnx training step equals the tfjs step (same weights, batch, masks)', () => {
  before(() => useBackend('cpu'));

  it('zfnet-tiny, whole batch', () => compareEngines('zfnet-tiny', {}, 6, { tfjs: 6, onnx: 6 }));
  it('alexnet-tiny, whole batch', () => compareEngines('alexnet-tiny', {}, 4, { tfjs: 4, onnx: 4 }));
  it('zfnet-tiny split into micro-batches of 2 on onnx and 4 on tfjs wasm (gradients summed, one update)', () => compareEngines('zfnet-tiny', {}, 6, { tfjs: 4, onnx: 2 }, 'wasm'));
  // Full-size alexnet differs from full-size zfnet only in the geometry alexnet-small at 224 px checks below; its step is kept out for time.
  it('full-size zfnet (58M parameters at 10 classes, batch 2, one step), against tfjs wasm', () => compareEngines('zfnet', { numClasses: 10 }, 2, { tfjs: 2, onnx: 2 }, 'wasm', 1));
  it('zfnet-small (every layer), against tfjs wasm', () => compareEngines('zfnet-small', {}, 3, { tfjs: 3, onnx: 3 }, 'wasm'));
  it('full-size geometry: zfnet-small and alexnet-small at 224 px (the paper sizes 110/55/26/13/6, ceil pools, 11x11/4), against tfjs wasm', async () => {
    await compareEngines('zfnet-small', { inputSizePx: 224 }, 2, { tfjs: 2, onnx: 2 }, 'wasm');
    await compareEngines('alexnet-small', { inputSizePx: 224 }, 2, { tfjs: 2, onnx: 2 }, 'wasm');
  });
});
