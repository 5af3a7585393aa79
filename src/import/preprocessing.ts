/**
 * The preprocessing an imported model was trained with, which travels with
 * the model record and is applied by every command that feeds it:
 *
 *   shorter side resized to `resizePx` (with `resample`: libvips' lanczos3, or
 *   torchvision's PIL bilinear bit for bit), centre `inputSizePx` crop (RGB, 0..255)
 *   -> minus the per-pixel mean image (when the model has one, 0..255 RGB)
 *   -> divided by 255 when `valueScale` is 1
 *   -> channels reordered to `channelOrder`
 *   -> minus `mean`, divided by `std`, per channel (in the model's order and scale).
 *
 * torchvision's models: 256 -> 224, RGB, 0..1, mean (0.485, 0.456, 0.406),
 * std (0.229, 0.224, 0.225). Caffe-style models: BGR, 0..255, mean
 * (103.939, 116.779, 123.68), std 1. Pure.
 */
import { RESAMPLE_METHODS, type ResampleMethod } from '../data/decode-image.js';
import { invalidParameterError } from '../errors.js';

export type ChannelOrder = 'rgb' | 'bgr';

export interface Preprocessing {
  inputSizePx: number;
  /** Shorter side before the centre crop. */
  resizePx: number;
  /** How the image is resized (src/data/decode-image.ts); files from before it was recorded mean sharp-lanczos3. */
  resample: ResampleMethod;
  channelOrder: ChannelOrder;
  /** 1: values 0..1 (divided by 255); 255: values 0..255. */
  valueScale: 1 | 255;
  /** Per channel, in the model's channel order and value scale. */
  mean: [number, number, number];
  std: [number, number, number];
  /** A per-pixel mean image subtracted first (0..255 RGB, resizePx square), by file and SHA-256. */
  meanImage: { path: string; sha256: string } | null;
}

export const TORCHVISION_PREPROCESSING: Readonly<Preprocessing> = Object.freeze<Preprocessing>({
  inputSizePx: 224, resizePx: 256, resample: 'pil-bilinear', channelOrder: 'rgb', valueScale: 1,
  mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], meanImage: null,
});

/** What a file without torchvision's name gets: the pixels as they are, 0..255 RGB. */
export const PLAIN_PREPROCESSING: Readonly<Preprocessing> = Object.freeze<Preprocessing>({
  inputSizePx: 224, resizePx: 256, resample: 'sharp-lanczos3', channelOrder: 'rgb', valueScale: 255, mean: [0, 0, 0], std: [1, 1, 1], meanImage: null,
});

/** Options as the command line gives them (strings), all optional. */
export interface PreprocessingOptions {
  inputSize?: unknown;
  resize?: unknown;
  resample?: unknown;
  channels?: unknown;
  scale?: unknown;
  mean?: unknown;
  std?: unknown;
}

function parseTriple(name: string, value: unknown, positive: boolean): [number, number, number] {
  const parts = typeof value === 'string' ? value.split(',').map((p) => Number(p.trim())) : [];
  const ok = parts.length === 3 && parts.every((v) => Number.isFinite(v) && (!positive || v > 0));
  if (!ok) throw invalidParameterError(name, `three ${positive ? 'positive ' : ''}numbers like 0.485,0.456,0.406`, value);
  return parts as [number, number, number];
}

function parseSide(name: string, value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 8 || n > 4096) throw invalidParameterError(name, 'integer between 8 and 4096', value);
  return n;
}

/**
 * The preprocessing from command-line options over `defaults`.
 * @throws RangeError naming the option and value (a usage error); the resize must be at least the input size.
 */
export function resolvePreprocessing(options: PreprocessingOptions, defaults: Readonly<Preprocessing>): Preprocessing {
  const inputSizePx = options.inputSize === undefined ? defaults.inputSizePx : parseSide('--input-size', options.inputSize);
  const defaultResize = options.inputSize === undefined ? defaults.resizePx : Math.round((inputSizePx * defaults.resizePx) / defaults.inputSizePx);
  const resizePx = options.resize === undefined ? defaultResize : parseSide('--resize', options.resize);
  if (resizePx < inputSizePx) throw invalidParameterError('--resize', `a side of at least the input size ${inputSizePx}`, options.resize ?? resizePx);
  const resample = options.resample === undefined ? defaults.resample : options.resample;
  if (!(RESAMPLE_METHODS as readonly unknown[]).includes(resample)) throw invalidParameterError('--resample', `one of ${RESAMPLE_METHODS.join(', ')}`, resample);
  const channelOrder = options.channels === undefined ? defaults.channelOrder : options.channels;
  if (channelOrder !== 'rgb' && channelOrder !== 'bgr') throw invalidParameterError('--channels', 'one of rgb, bgr', channelOrder);
  const scale = options.scale === undefined ? defaults.valueScale : Number(options.scale);
  if (scale !== 1 && scale !== 255) throw invalidParameterError('--scale', 'one of 1, 255', options.scale);
  return {
    inputSizePx, resizePx, resample: resample as ResampleMethod, channelOrder, valueScale: scale,
    mean: options.mean === undefined ? [...defaults.mean] : parseTriple('--mean', options.mean, false),
    std: options.std === undefined ? [...defaults.std] : parseTriple('--std', options.std, true),
    meanImage: defaults.meanImage,
  };
}

/**
 * Applies the value steps to crops: `pixels` [N, S, S, 3] RGB 0..255 (HWC), already
 * cropped, minus `meanImage` [S, S, 3] when given. Returns a new array in the model's
 * channel order, still NHWC (the graph builders transpose).
 * @throws RangeError when the pixel count is not a multiple of the mean image's.
 */
export function normalizePixels(pixels: Float32Array, spec: Preprocessing, meanImage: Float32Array | null = null): Float32Array {
  if (meanImage !== null && pixels.length % meanImage.length !== 0) {
    throw new RangeError(`Mean image of ${meanImage.length} values does not fit crops of ${pixels.length} values`);
  }
  const out = new Float32Array(pixels.length);
  const k = spec.valueScale === 1 ? 1 / 255 : 1;
  const source = spec.channelOrder === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  for (let i = 0; i < pixels.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      const from = i + source[c]!;
      const centred = meanImage === null ? pixels[from]! : pixels[from]! - meanImage[from % meanImage.length]!;
      out[i + c] = (centred * k - spec.mean[c]!) / spec.std[c]!;
    }
  }
  return out;
}
