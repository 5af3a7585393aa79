/**
 * SGD with momentum, written out so that its state (one momentum buffer per
 * parameter) is explicit, saveable and restorable bit for bit; tfjs's own
 * optimizers keep that state private.
 *
 * The update is Krizhevsky et al.'s form, which the paper cites:
 *
 *   v <- momentum * v - learningRate * (g + weightDecay * w)
 *   w <- w + v
 *
 * The learning rate is folded into v, so after a rate change the old velocity
 * still carries the old rate for a few steps (PyTorch's `SGD` keeps v without
 * the rate instead; the two agree while the rate is constant).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelParams } from '../model/params.js';

/** Momentum buffers keyed like the parameters (`conv1.weight`, ...), tfjs layout, float32. */
export type MomentumBuffers = Map<string, tf.Variable>;

/** The update written out, recorded with the optimizer state. */
export const SGD_UPDATE_FORM = 'v = momentum * v - lr * (g + weightDecay * w); w = w + v';

export interface SgdHyperParams {
  learningRate: number;
  momentum: number;
  weightDecay: number;
}

/** The paper's recipe: lr 0.01, momentum 0.9, no weight decay (the paper gives none). */
export const PAPER_SGD: Readonly<SgdHyperParams> = Object.freeze({ learningRate: 0.01, momentum: 0.9, weightDecay: 0 });

/**
 * Zero momentum buffers shaped like `params`.
 * Ownership: the caller disposes them (disposeMomentumBuffers).
 */
export function createMomentumBuffers(params: ModelParams): MomentumBuffers {
  const buffers: MomentumBuffers = new Map();
  for (const [name, param] of params) {
    const zeros = tf.zerosLike(param);
    buffers.set(name, tf.variable(zeros, false));
    zeros.dispose();
  }
  return buffers;
}

/** Wraps tensors (copied) as momentum buffers; the caller still owns the inputs. */
export function momentumBuffersFromTensors(tensors: ReadonlyMap<string, tf.Tensor>): MomentumBuffers {
  const buffers: MomentumBuffers = new Map();
  for (const [name, tensor] of tensors) buffers.set(name, tf.variable(tensor, false));
  return buffers;
}

/** Disposes every buffer. */
export function disposeMomentumBuffers(buffers: MomentumBuffers): void {
  for (const buffer of buffers.values()) buffer.dispose();
}

/**
 * Applies one SGD-momentum update in place to `params` and `buffers`.
 * `grads` maps parameter names to gradients (a parameter without a gradient
 * still decays its velocity). Creates no lasting tensors; the caller keeps
 * owning `grads`.
 * @throws RangeError naming a parameter that has no momentum buffer.
 */
export function applySgdUpdate(params: ModelParams, buffers: MomentumBuffers, grads: ReadonlyMap<string, tf.Tensor>, hyper: SgdHyperParams): void {
  for (const [name, weight] of params) {
    const velocity = buffers.get(name);
    if (velocity === undefined) throw new RangeError(`Momentum buffers have no tensor ${name}`);
    // One tidy per parameter: full-size fc6 is 151 MB, so temporaries must not pile up across parameters.
    tf.tidy(() => {
      const grad = grads.get(name);
      let step: tf.Tensor = grad ?? tf.zerosLike(weight);
      if (hyper.weightDecay !== 0) step = tf.add(step, tf.mul(weight, hyper.weightDecay));
      const next = tf.sub(tf.mul(velocity, hyper.momentum), tf.mul(step, hyper.learningRate));
      velocity.assign(next);
      weight.assign(tf.add(weight, next));
    });
  }
}
