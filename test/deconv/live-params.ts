/**
 * Test helper: parameters of a project architecture whose units fire on
 * random images (the paper's N(0, 0.01^2) init leaves most of them dead in
 * deep layers): each conv weight rescaled to He's std, conv1 also divided by
 * the input's scale (about 70), small positive biases. Seeded, deterministic.
 */
import * as tf from '@tensorflow/tfjs-core';
import { forward } from '../../src/model/network.js';
import { INIT_WEIGHT_STD, initParams, type ModelParams } from '../../src/model/params.js';
import type { ModelConfig, TapName } from '../../src/model/spec.js';

export function initLiveParams(config: ModelConfig, seed: number): ModelParams {
  const params = initParams(config, seed);
  for (const [name, variable] of params) {
    if (!name.startsWith('conv')) continue;
    if (name.endsWith('.bias')) {
      tf.tidy(() => variable.assign(tf.fill(variable.shape, 0.05)));
      continue;
    }
    const [kh, kw, cin] = variable.shape as [number, number, number, number];
    const factor = Math.sqrt(2 / (kh * kw * cin)) / INIT_WEIGHT_STD / (name === 'conv1.weight' ? 70 : 1);
    tf.tidy(() => variable.assign(tf.mul(variable, factor)));
  }
  return params;
}

/**
 * One projection entry per cell ([image, y, x] of `layer`'s map), each with
 * the unit that fires most there: entries whose projections are not zero.
 */
export function strongestUnitEntries(config: ModelConfig, params: ModelParams, images: tf.Tensor4D, layer: string, cells: readonly (readonly [number, number, number])[]): { imageIndex: number; unit: number; y: number; x: number }[] {
  const tap = forward(config, params, images, { taps: [layer as TapName] })[layer as TapName]!;
  const values = tap.arraySync() as number[][][][];
  tap.dispose();
  return cells.map(([imageIndex, y, x]) => {
    const units = values[imageIndex]![y]![x]!;
    return { imageIndex, y, x, unit: units.indexOf(Math.max(...units)) };
  });
}
