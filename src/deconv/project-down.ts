/**
 * The deconvnet's way down (zfnet-paper.md, "Deconvnet projection"): below
 * the examined conv layer, each layer is undone in reverse order:
 *   max pool -> unpool with the image's switches (shared winners add);
 *   LRN      -> identity (project choice);
 *   conv     -> rectify (ReLU), then transposed convolution with the same
 *               weights (biases are not used), cropping the conv's padding.
 * The examined layer itself is undone by placing its unit's filter, scaled by
 * the kept activation, at the activation's position: exactly the transposed
 * convolution of a map that is zero except for that one activation, without
 * materialising the (large) one-hot map. The pixel-space output is not rectified.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayerGeometry } from '../model/geometry.js';
import { getParam, type ModelParams } from '../model/params.js';
import type { ConvLayerSpec, ModelConfig, Padding4 } from '../model/spec.js';
import { unpoolWithSwitches } from './pool-switches.js';

/** One activation to keep: unit `unit` at cell (y, x) of the examined layer. */
export interface KeptActivation {
  unit: number;
  y: number;
  x: number;
}

/** [H, W] of layer `index`'s input. */
export function layerInputPx(config: ModelConfig, geometry: LayerGeometry[], index: number): [number, number] {
  if (index === 0) return [config.inputSizePx, config.inputSizePx];
  const [h, w] = geometry[index - 1]!.outputShape as [number, number, number];
  return [h, w];
}

/**
 * Transposed convolution undoing a padded conv: maps [N, ho, wo, Cout] back to
 * the conv's unpadded input grid [N, H, W, Cin] with the same weights
 * ([kh, kw, Cin, Cout], tfjs layout): transposed conv onto the padded grid,
 * then the padding is cropped. On wasm this is fast only with the project's
 * Conv2DBackpropInput kernel (src/kernels, registered by initBackend);
 * tfjs-backend-wasm's own is a scalar loop (figures in bench/project.ts).
 * Ownership: returns a new tensor; inputs are not disposed.
 */
export function transposeConv(y: tf.Tensor4D, weight: tf.Tensor4D, stride: number, padding: Padding4, inputPx: [number, number]): tf.Tensor4D {
  const [top, bottom, left, right] = padding;
  const cin = weight.shape[2];
  return tf.tidy(() => {
    const paddedShape: [number, number, number, number] = [y.shape[0], inputPx[0] + top + bottom, inputPx[1] + left + right, cin];
    const full = tf.conv2dTranspose(y, weight, paddedShape, stride, 'valid'); // [N, Hp, Wp, Cin]
    return tf.slice(full, [0, top, left, 0], [y.shape[0], inputPx[0], inputPx[1], cin]);
  });
}

/**
 * Undoes the examined conv layer for a batch of kept activations: entry e
 * becomes `values[e] * W[:, :, :, unit_e]` placed at its window on the
 * conv's (padded, then cropped) input grid.
 * Ownership: returns a new tensor; inputs are not disposed.
 * @param values [E] the kept activation values (already rectified)
 * @returns [E, H, W, Cin]
 */
export function placeUnitFilters(weight: tf.Tensor4D, kept: readonly KeptActivation[], values: tf.Tensor1D, stride: number, padding: Padding4, inputPx: [number, number]): tf.Tensor4D {
  const [kh, kw, cin] = weight.shape;
  const [top, bottom, left, right] = padding;
  const rowsPx = inputPx[0] + top + bottom;
  const colsPx = inputPx[1] + left + right;
  return tf.tidy(() => {
    const units = tf.tensor1d(kept.map((k) => k.unit), 'int32');
    const filters = tf.transpose(tf.gather(weight, units, 3), [3, 0, 1, 2]); // [E, kh, kw, Cin]
    const scaled = tf.mul(filters, tf.reshape(values, [-1, 1, 1, 1])) as tf.Tensor4D;
    const placed = kept.map((k, e) => {
      const rowPx = k.y * stride;
      const colPx = k.x * stride;
      const one = tf.slice(scaled, [e, 0, 0, 0], [1, kh, kw, cin]);
      return tf.pad(one, [[0, 0], [rowPx, rowsPx - rowPx - kh], [colPx, colsPx - colPx - kw], [0, 0]]);
    });
    const full = tf.concat(placed, 0); // [E, Hp, Wp, Cin]
    return tf.slice(full, [0, top, left, 0], [kept.length, inputPx[0], inputPx[1], cin]);
  });
}

/**
 * Runs the deconvnet from the input grid of layer `fromIndex` down to pixels
 * (layers fromIndex-1 .. 0 undone in turn).
 * Ownership: returns a new tensor; `map` and the switches are not disposed.
 * @param map [E, H, W, C] on layer fromIndex's input grid
 * @param switches per max-pool layer index below fromIndex: [E, Ho, Wo, C] int32
 * @returns [E, S, S, inputChannels] pixel-space projection (not rectified)
 * @throws RangeError when a pool's switches are missing or a dense layer is in the way
 */
export function descendToPixels(config: ModelConfig, params: ModelParams, geometry: LayerGeometry[], fromIndex: number, map: tf.Tensor4D, switches: ReadonlyMap<number, tf.Tensor4D>): tf.Tensor4D {
  return tf.tidy(() => {
    let current = map;
    for (let i = fromIndex - 1; i >= 0; i--) {
      const layer = config.layers[i]!;
      const inputPx = layerInputPx(config, geometry, i);
      if (layer.kind === 'maxpool') {
        const layerSwitches = switches.get(i);
        if (layerSwitches === undefined) throw new RangeError(`Deconvnet needs the switches of ${layer.name} but none were recorded`);
        current = unpoolWithSwitches(current, layerSwitches, { windowPx: layer.windowPx, stride: layer.stride, padding: geometry[i]!.effectivePadding }, inputPx);
      } else if (layer.kind === 'conv') {
        current = undoConv(layer, params, tf.relu(current), geometry[i]!.effectivePadding, inputPx);
      } else if (layer.kind === 'dense') {
        throw new RangeError(`Deconvnet cannot go down through dense layer ${layer.name}`);
      }
      // lrn: identity on the way down (project choice)
    }
    return current;
  });
}

function undoConv(layer: ConvLayerSpec, params: ModelParams, rectified: tf.Tensor4D, padding: Padding4, inputPx: [number, number]): tf.Tensor4D {
  return transposeConv(rectified, getParam(params, `${layer.name}.weight`) as tf.Tensor as tf.Tensor4D, layer.stride, padding, inputPx);
}
