/**
 * One image made ready for an imported model, as the batch stream makes it
 * for a pass (pipelines/shared/input-stream.ts): shorter side resized to the model's
 * square (with its resize method), centre crop, then the model's value steps (describeModelInput).
 * The raw crop comes along for pictures. IO: reads and decodes the file.
 */
import { readFileSync } from 'node:fs';
import { computePaperCropBox, extractCrop } from '../data/crop-geometry.js';
import { decodeSquare, describeDecodeError } from '../data/decode-image.js';
import { UsageError } from '../errors.js';
import type { ModelInputSteps } from './open-imported-model.js';

export interface ModelInput {
  /** [S, S, 3] the model input (after its normalisation). */
  input: Float32Array;
  /** [S, S, 3] the crop the model saw, 0..255 RGB. */
  display: Uint8Array;
  sizePx: number;
}

/**
 * Decodes, crops and normalises one image.
 * @throws UsageError naming the path when it cannot be read or decoded.
 */
export async function prepareModelInput(path: string, steps: ModelInputSteps): Promise<ModelInput> {
  const crop = await readCentreCrop(path, steps);
  return { input: steps.normalize(crop), display: Uint8Array.from(crop), sizePx: steps.inputSizePx };
}

/**
 * The centre crop of one image file before any value step: [S, S, 3] RGB 0..255.
 * @throws UsageError naming the path when it cannot be read or decoded.
 */
export async function readCentreCrop(path: string, steps: Pick<ModelInputSteps, 'inputSizePx' | 'squarePx' | 'resample'>): Promise<Float32Array> {
  let square: Uint8Array;
  try {
    square = (await decodeSquare(readFileSync(path), { squarePx: steps.squarePx, resample: steps.resample, cropPx: steps.inputSizePx })).pixels;
  } catch (error) {
    throw new UsageError(`Cannot use image ${path}: ${describeDecodeError(error)}`);
  }
  const s = steps.inputSizePx;
  const crop = new Float32Array(s * s * 3);
  extractCrop(square, steps.squarePx, computePaperCropBox('centre', steps.squarePx, s, false), null, crop);
  return crop;
}
