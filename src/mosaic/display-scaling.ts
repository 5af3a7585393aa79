/**
 * Display scaling of projections and filters, and pixel-buffer helpers. Pure.
 *
 * Project choice: a symmetric contrast stretch per projection. The largest
 * absolute value of the projection (over its three channels) maps to 0 or
 * 255, zero maps to mid-grey 128, and the sign is kept: 128 + 127 * v / max|v|.
 * Each projection is stretched on its own, so brightness says nothing about
 * the activation's size (the pages print the values); an all-zero projection
 * (a dead unit) stays uniform grey. The saved `.npy` files hold the values
 * before this scaling.
 */
import type { PixelBox } from '../model/geometry.js';

/** An RGB image: `pixels` is [heightPx, widthPx, 3] uint8. */
export interface RgbImage {
  widthPx: number;
  heightPx: number;
  pixels: Uint8Array;
}

/**
 * Symmetric contrast stretch of float values to uint8 (see the module doc).
 * @returns uint8 values of the same length
 */
export function stretchSymmetric(values: ArrayLike<number>): Uint8Array {
  let maxAbs = 0;
  for (let i = 0; i < values.length; i++) maxAbs = Math.max(maxAbs, Math.abs(values[i]!));
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    out[i] = maxAbs === 0 ? 128 : Math.round(128 + (127 * values[i]!) / maxAbs);
  }
  return out;
}

/**
 * The box of an [S, S, C] buffer, row-major, as a new buffer of the same type.
 * @throws RangeError when the box leaves the image
 */
export function cropBox<T extends Uint8Array | Float32Array>(pixels: T, sizePx: number, channels: number, box: PixelBox): T {
  if (box.top < 0 || box.left < 0 || box.top + box.heightPx > sizePx || box.left + box.widthPx > sizePx) {
    throw new RangeError(`Box ${box.heightPx}x${box.widthPx} at (${box.top}, ${box.left}) leaves the ${sizePx}x${sizePx} image`);
  }
  return cropBoxWithin(pixels, { top: 0, left: 0, heightPx: sizePx, widthPx: sizePx }, channels, box);
}

/**
 * The box of a buffer that covers `frame` of the image ([frame.heightPx, frame.widthPx, C]
 * row-major; both boxes in image coordinates), as a new buffer of the same type.
 * @throws RangeError when the box leaves the frame
 */
export function cropBoxWithin<T extends Uint8Array | Float32Array>(pixels: T, frame: PixelBox, channels: number, box: PixelBox): T {
  const [top, left] = [box.top - frame.top, box.left - frame.left];
  if (top < 0 || left < 0 || top + box.heightPx > frame.heightPx || left + box.widthPx > frame.widthPx) {
    throw new RangeError(`Box ${box.heightPx}x${box.widthPx} at (${box.top}, ${box.left}) leaves the ${frame.heightPx}x${frame.widthPx} frame at (${frame.top}, ${frame.left})`);
  }
  const out = new (pixels.constructor as new (n: number) => T)(box.heightPx * box.widthPx * channels);
  for (let r = 0; r < box.heightPx; r++) {
    const from = ((top + r) * frame.widthPx + left) * channels;
    out.set(pixels.subarray(from, from + box.widthPx * channels), r * box.widthPx * channels);
  }
  return out;
}

/**
 * Converts mean-subtracted model input back to display pixels (adds the mean,
 * clamps to 0..255).
 */
export function restoreDisplayPixels(input: Float32Array, meanCrop: Float32Array): Uint8Array {
  const out = new Uint8Array(input.length);
  for (let i = 0; i < input.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(input[i]! + meanCrop[i]!)));
  return out;
}
