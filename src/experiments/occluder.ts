/**
 * Occluders and masks on a model input (occlusion sensitivity, Fig. 7, and
 * the correspondence masks, Table 1). Pure: the pixel buffers are the model's
 * input, [S, S, 3] row-major, mean-subtracted on the 0..255 scale.
 *
 * Project choices (the paper only says "a grey square"):
 * - The occluder positions tile the image: cell (row, col) covers the
 *   `stridePx` square at (row * stride, col * stride), and the occluder is
 *   centred on that cell, clipped at the image edge. So the sensitivity map
 *   has ceil(S / stride) cells a side and lies exactly over the image.
 * - Fill `mean` sets the occluded pixels to the dataset mean image (input 0,
 *   no signal: the default), `grey` to 128 on the 0..255 scale, `zero` to black.
 */
import type { Rng } from '../data/seeded-rng.js';
import { invalidParameterError } from '../errors.js';

/** A rectangle of input pixels; the right/bottom edges are exclusive. */
export interface PixelRect {
  xPx: number;
  yPx: number;
  widthPx: number;
  heightPx: number;
}

/** One occluder position: its cell in the sensitivity map and the pixels it covers. */
export interface OccluderPlacement {
  row: number;
  col: number;
  rect: PixelRect;
}

export type OccluderFill = 'mean' | 'grey' | 'zero';
export const OCCLUDER_FILLS: readonly OccluderFill[] = ['mean', 'grey', 'zero'];

/** Default occluder side: 48 px at 224 (3/14 of the input), scaled with the input. */
export function defaultOccluderSizePx(inputSizePx: number): number {
  return Math.max(1, Math.round((inputSizePx * 3) / 14));
}

/** Default stride: 16 px at 224 (a 14 x 14 map), scaled with the input. */
export function defaultOccluderStridePx(inputSizePx: number): number {
  return Math.max(1, Math.round(inputSizePx / 14));
}

/**
 * Every occluder position for an image of `imageSizePx`, row-major.
 * @throws RangeError naming the value when size or stride is not an integer in 1..imageSizePx.
 */
export function computeOccluderPlacements(imageSizePx: number, sizePx: number, stridePx: number): OccluderPlacement[] {
  for (const [name, v] of [['size', sizePx], ['stride', stridePx]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > imageSizePx) throw invalidParameterError(name, `integer between 1 and ${imageSizePx}`, v);
  }
  const cells = Math.ceil(imageSizePx / stridePx);
  const placements: OccluderPlacement[] = [];
  for (let row = 0; row < cells; row++) {
    for (let col = 0; col < cells; col++) {
      placements.push({ row, col, rect: centredRect(imageSizePx, stridePx, sizePx, row, col) });
    }
  }
  return placements;
}

/** The `sizePx` square centred on cell (row, col) of a `stridePx` grid, clipped to the image. */
function centredRect(imageSizePx: number, stridePx: number, sizePx: number, row: number, col: number): PixelRect {
  const clip = (cell: number): [number, number] => {
    const cellStart = cell * stridePx;
    const cellSize = Math.min(stridePx, imageSizePx - cellStart);
    const start = cellStart + Math.floor((cellSize - sizePx) / 2);
    const lo = Math.max(0, start);
    const hi = Math.min(imageSizePx, start + sizePx);
    return [lo, hi - lo];
  };
  const [yPx, heightPx] = clip(row);
  const [xPx, widthPx] = clip(col);
  return { xPx, yPx, widthPx, heightPx };
}

/**
 * The input-space values an occluder writes, per pixel: [S, S, 3].
 * `meanCrop` is the mean image under the crop (0..255 scale), needed for
 * `grey` and `zero` because the input is mean-subtracted.
 */
export function computeFillImage(fill: OccluderFill, sizePx: number, meanCrop: ArrayLike<number> | null): Float32Array {
  const out = new Float32Array(sizePx * sizePx * 3);
  if (fill === 'mean') return out;
  const level = fill === 'grey' ? 128 : 0;
  for (let i = 0; i < out.length; i++) out[i] = level - (meanCrop === null ? 0 : meanCrop[i]!);
  return out;
}

/**
 * Writes a copy of `input` with `rect` replaced by `fill` into `out` at `outOffset`.
 * @param input [S, S, 3]
 * @param fill [S, S, 3] input-space fill values (computeFillImage)
 * @throws RangeError when `out` is too small or the rect leaves the image.
 */
export function applyOccluder(input: ArrayLike<number>, sizePx: number, rect: PixelRect, fill: ArrayLike<number>, out: Float32Array, outOffset = 0): void {
  const n = sizePx * sizePx * 3;
  if (outOffset + n > out.length) throw new RangeError(`Output of ${out.length} floats is too small for an image at ${outOffset}`);
  if (rect.xPx < 0 || rect.yPx < 0 || rect.xPx + rect.widthPx > sizePx || rect.yPx + rect.heightPx > sizePx) {
    throw new RangeError(`Rectangle ${rect.widthPx}x${rect.heightPx} at (${rect.xPx}, ${rect.yPx}) leaves the ${sizePx} px image`);
  }
  for (let i = 0; i < n; i++) out[outOffset + i] = input[i]!;
  for (let y = rect.yPx; y < rect.yPx + rect.heightPx; y++) {
    const rowStart = (y * sizePx + rect.xPx) * 3;
    for (let i = rowStart; i < rowStart + rect.widthPx * 3; i++) out[outOffset + i] = fill[i]!;
  }
}

/**
 * A rectangle of the given size at a uniformly random position inside the
 * image (the correspondence experiment's random control). The position is
 * drawn from `rng`; `rng` is the only source of randomness.
 * @throws RangeError when the rectangle does not fit.
 */
export function drawRandomRect(rng: Rng, imageSizePx: number, widthPx: number, heightPx: number): PixelRect {
  if (widthPx < 1 || heightPx < 1 || widthPx > imageSizePx || heightPx > imageSizePx) {
    throw new RangeError(`A ${widthPx}x${heightPx} rectangle does not fit in a ${imageSizePx} px image`);
  }
  const xPx = rng.nextInt(imageSizePx - widthPx + 1);
  const yPx = rng.nextInt(imageSizePx - heightPx + 1);
  return { xPx, yPx, widthPx, heightPx };
}
