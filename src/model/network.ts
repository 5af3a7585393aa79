/**
 * The forward pass of ZFNet/AlexNet (and their scaled variants) as plain
 * tfjs ops over a ModelConfig and ModelParams, returning any named taps.
 * Synchronous, so it can run inside tf.tidy and tf.variableGrads.
 */
import * as tf from '@tensorflow/tfjs-core';
import { computeGeometry, POOL_PAD_VALUE } from './geometry.js';
import { getParam, type ModelParams } from './params.js';
import type { LayerSpec, ModelConfig, Padding4, TapName } from './spec.js';

export interface ForwardOptions {
  /** Taps to return; the pass stops after the deepest one. */
  taps: readonly TapName[];
  /**
   * Dropout masks by dense layer name (src/train/dropout-masks.ts: 0 or
   * 1 / (1 - rate), [N, units]); each layer with a dropout rate is multiplied
   * by its mask. Absent: inference (no dropout).
   */
  dropoutMasks?: ReadonlyMap<string, tf.Tensor>;
}

export { POOL_PAD_VALUE } from './geometry.js';

/** The tap a layer produces: its own name, except the last dense layer, which gives `logits`. */
export function tapOfLayer(config: ModelConfig, layerIndex: number): TapName {
  const layer = config.layers[layerIndex]!;
  return layerIndex === config.layers.length - 1 && layer.kind === 'dense' ? 'logits' : (layer.name as TapName);
}

/** Index of the last layer a set of taps needs (probs needs the last layer). */
export function lastLayerNeeded(config: ModelConfig, taps: readonly TapName[]): number {
  let last = -1;
  config.layers.forEach((_, i) => {
    if (taps.includes(tapOfLayer(config, i))) last = i;
  });
  if (taps.includes('probs')) last = config.layers.length - 1;
  return last;
}

function explicitPadding(p: Padding4): [[number, number], [number, number], [number, number], [number, number]] {
  return [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]];
}

/** conv + bias + ReLU. x: [N, H, W, Cin] -> [N, Ho, Wo, Cout]. */
export function applyConv(x: tf.Tensor4D, weight: tf.Tensor, bias: tf.Tensor, stride: number, padding: Padding4): tf.Tensor4D {
  const pad = padding.every((v) => v === 0) ? 'valid' : explicitPadding(padding);
  const conv = tf.conv2d(x, weight as tf.Tensor4D, stride, pad);
  return tf.relu(tf.add(conv, bias)) as tf.Tensor4D;
}

/** Max pool with explicit (ceil-mode) padding filled with POOL_PAD_VALUE. */
export function applyMaxPool(x: tf.Tensor4D, windowPx: number, stride: number, padding: Padding4): tf.Tensor4D {
  const padded = padding.every((v) => v === 0) ? x : tf.pad(x, explicitPadding(padding), POOL_PAD_VALUE);
  return tf.maxPool(padded, windowPx, stride, 'valid');
}

function applyLayer(layer: LayerSpec, x: tf.Tensor, params: ModelParams, padding: Padding4): tf.Tensor {
  switch (layer.kind) {
    case 'conv':
      return applyConv(x as tf.Tensor4D, getParam(params, `${layer.name}.weight`), getParam(params, `${layer.name}.bias`), layer.stride, padding);
    case 'maxpool':
      return applyMaxPool(x as tf.Tensor4D, layer.windowPx, layer.stride, padding);
    case 'lrn':
      return tf.localResponseNormalization(x as tf.Tensor4D, (layer.size - 1) / 2, layer.k, layer.alpha, layer.beta);
    case 'dense': {
      const flat = x.rank === 2 ? x : tf.reshape(x, [x.shape[0]!, -1]); // NHWC flatten: (h, w, c)
      const y = tf.add(tf.matMul(flat as tf.Tensor2D, getParam(params, `${layer.name}.weight`) as tf.Tensor2D), getParam(params, `${layer.name}.bias`));
      return layer.relu ? tf.relu(y) : y;
    }
  }
}

function maskOf(masks: ReadonlyMap<string, tf.Tensor>, layer: string): tf.Tensor {
  const mask = masks.get(layer);
  if (mask === undefined) throw new RangeError(`Dropout masks have none for ${layer} (they have ${[...masks.keys()].join(', ') || 'none'})`);
  return mask;
}

/**
 * Runs the network on `input` ([N, S, S, 3], float32, mean-subtracted, 0..255 scale)
 * and returns the requested taps. Ownership: the caller disposes every returned tensor;
 * all intermediates are disposed here.
 * @throws RangeError when the input shape does not match the config.
 */
export function forward(config: ModelConfig, params: ModelParams, input: tf.Tensor4D, options: ForwardOptions): Partial<Record<TapName, tf.Tensor>> {
  const [, h, w, c] = input.shape;
  if (h !== config.inputSizePx || w !== config.inputSizePx || c !== config.inputChannels) {
    throw new RangeError(`Expected input [N, ${config.inputSizePx}, ${config.inputSizePx}, ${config.inputChannels}] for ${config.name} but received [${input.shape.join(', ')}]`);
  }
  const geometry = computeGeometry(config);
  const last = lastLayerNeeded(config, options.taps);
  const masks = options.dropoutMasks;
  return tf.tidy(() => {
    const out: Partial<Record<TapName, tf.Tensor>> = {};
    let x: tf.Tensor = input;
    for (let i = 0; i <= last; i++) {
      const layer = config.layers[i]!;
      x = applyLayer(layer, x, params, geometry[i]!.effectivePadding);
      const tap = tapOfLayer(config, i);
      if (options.taps.includes(tap)) out[tap] = x;
      if (masks !== undefined && layer.kind === 'dense' && layer.dropout > 0) x = tf.mul(x, maskOf(masks, layer.name));
    }
    if (options.taps.includes('probs')) out.probs = tf.softmax(x);
    return out as Record<string, tf.Tensor>;
  }) as Partial<Record<TapName, tf.Tensor>>;
}
