/**
 * An optional fan-in-scaled initialisation for the scaled-down models.
 *
 * The paper's N(0, 0.01^2) suits full-size ZFNet, whose wide layers
 * (fan-in 2304 to 9216) keep the signal's size from layer to layer. In the
 * small and tiny variants every layer shrinks it (fan-in 256 to 864 with
 * std 0.01 gives a gain of about 0.2 per layer), so the logits start near
 * 1e-5, gradients vanish, and the loss stays at log(C) for epochs (measured
 * on zfnet-small: flat for the whole first epoch at lr 0.03).
 * `scaled` draws every ReLU layer from N(0, 2 / fan_in) (He et al. 2015),
 * which keeps the activations' size, with conv1's std further divided by
 * INPUT_RMS (its input is on the 0..255 scale minus the mean, RMS about 64),
 * so activations start near unit size; the classifier fc8 is drawn from
 * N(0, 0.001^2) (logits start near 0); biases stay 0. (Without the input
 * division, or with the paper's 0.01 for conv1, activations of several units
 * made the first steps at lr 0.01 diverge.)
 * It rescales the paper's draw, so it is as deterministic as initParams
 * (the same numbers in either layout: applyScaledInit, scaleInitWeights).
 */
import * as tf from '@tensorflow/tfjs-core';
import { INIT_WEIGHT_STD, type ModelParams } from '../model/params.js';
import { parameterShapes } from '../model/geometry.js';
import type { ModelConfig } from '../model/spec.js';

export const INIT_SCHEMES = ['paper', 'scaled'] as const;
export type InitScheme = (typeof INIT_SCHEMES)[number];

/** Std of the classifier layer under `scaled`. */
export const SCALED_CLASSIFIER_STD = 0.001;
/** Typical RMS of mean-subtracted 0..255 pixels. */
export const INPUT_RMS = 64;

/** Target std of each weight under `scaled`, by parameter name (PyTorch shapes: fan-in = product of all but the first axis). */
export function computeScaledInitStd(config: ModelConfig): Map<string, number> {
  const last = config.layers[config.layers.length - 1]!;
  const first = config.layers[0]!;
  const stds = new Map<string, number>();
  for (const [name, shape] of parameterShapes(config)) {
    if (!name.endsWith('.weight')) continue;
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    const he = Math.sqrt(2 / fanIn) / (name === `${first.name}.weight` ? INPUT_RMS : 1);
    stds.set(name, name === `${last.name}.weight` ? SCALED_CLASSIFIER_STD : he);
  }
  return stds;
}

/** Rescales freshly initialised (paper) tfjs parameters in place to the `scaled` scheme. Creates no lasting tensors. */
export function applyScaledInit(config: ModelConfig, params: ModelParams): void {
  for (const [name, std] of computeScaledInitStd(config)) {
    const weight = params.get(name)!;
    tf.tidy(() => weight.assign(tf.mul(weight, std / INIT_WEIGHT_STD)));
  }
}

/** The same rescaling of freshly drawn weights in PyTorch layout (drawInitWeights), in place. */
export function scaleInitWeights(config: ModelConfig, weights: Map<string, Float32Array>): void {
  for (const [name, std] of computeScaledInitStd(config)) {
    const values = weights.get(name)!;
    const factor = std / INIT_WEIGHT_STD;
    for (let i = 0; i < values.length; i++) values[i] = values[i]! * factor;
  }
}
