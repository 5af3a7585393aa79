/**
 * The two update rules that climb a unit's objective (gradient ascent).
 * Pure state machines over one Float32Array of values.
 * - Adam (Kingma & Ba 2015; Lucid's default optimiser, lr 0.05):
 *   m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
 *   x += lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
 * - normalised ascent (the DeepVis toolbox's x += lr * g, with g divided by
 *   its root mean square over the image: see preferred-settings.ts).
 */
import type { OptimiserKind } from './preferred-settings.js';

export interface Ascent {
  /** Moves `values` up the gradient `grad` (same length). */
  step(values: Float32Array, grad: Float32Array): void;
}

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-8;

function createAdam(size: number, learningRate: number): Ascent {
  const m = new Float64Array(size);
  const v = new Float64Array(size);
  let t = 0;
  return {
    step(values, grad) {
      t += 1;
      const c1 = 1 - BETA1 ** t, c2 = 1 - BETA2 ** t;
      for (let i = 0; i < size; i++) {
        const g = grad[i]!;
        m[i] = BETA1 * m[i]! + (1 - BETA1) * g;
        v[i] = BETA2 * v[i]! + (1 - BETA2) * g * g;
        values[i] += (learningRate * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + EPSILON);
      }
    },
  };
}

function createNormalisedAscent(size: number, learningRate: number): Ascent {
  return {
    step(values, grad) {
      let sum = 0;
      for (let i = 0; i < size; i++) sum += grad[i]! * grad[i]!;
      const rms = Math.sqrt(sum / size);
      if (rms === 0) return;
      const k = learningRate / rms;
      for (let i = 0; i < size; i++) values[i] += k * grad[i]!;
    },
  };
}

/** An update rule of `kind` for `size` values. */
export function createAscent(kind: OptimiserKind, size: number, learningRate: number): Ascent {
  return kind === 'adam' ? createAdam(size, learningRate) : createNormalisedAscent(size, learningRate);
}
