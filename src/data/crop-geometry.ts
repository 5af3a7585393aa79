/**
 * The paper's preprocessing maths, generalised to any model input size S
 * (zfnet-paper.md, Sec. 3): the image is resized so its shorter side is
 * R = round(S * 256 / 224), the centre R x R square is kept ("the 256
 * square"), the per-pixel mean image of that square is subtracted, and S x S
 * crops are taken from it. Crop parameters are drawn from a seeded RNG
 * (`drawCropBoxes`) and applied by a pure function (`extractCrop`), so other
 * stages (occlusion, invariance) can reuse the same maths.
 * All pixel buffers are row-major RGB, [H, W, 3].
 */
import type { Rng } from './seeded-rng.js';

/** Where an S x S crop sits inside the R x R square. */
export type CropPosition = 'centre' | 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right';

/** One crop: top-left corner inside the square, side, and whether to mirror left-right. */
export interface CropBox {
  xPx: number;
  yPx: number;
  sizePx: number;
  flip: boolean;
}

/**
 * How crops are chosen: `paper` one of the paper's 10 crops drawn at random
 * (training), `random` a uniformly placed crop with a random flip (training),
 * `centre` the centre crop (evaluation), `ten` all 10 crops (evaluation,
 * averaged by the consumer).
 */
export type CropMode = 'paper' | 'random' | 'centre' | 'ten';
export const CROP_MODES: readonly CropMode[] = ['paper', 'random', 'centre', 'ten'];

/** The five positions in the order used by `ten` mode (crops 0-4 unflipped, 5-9 the same flipped). */
export const CROP_POSITIONS: readonly CropPosition[] = ['centre', 'top-left', 'top-right', 'bottom-left', 'bottom-right'];

/** The side R of the square the image is reduced to before cropping: 256 for S = 224, 128 for 112. */
export function computeSquareSizePx(inputSizePx: number): number {
  return Math.round((inputSizePx * 256) / 224);
}

/**
 * The crop box at one of the five paper positions.
 * @throws RangeError when the crop is larger than the square.
 */
export function computePaperCropBox(position: CropPosition, squarePx: number, cropPx: number, flip: boolean): CropBox {
  if (cropPx > squarePx) throw new RangeError(`Crop of ${cropPx} px does not fit in a ${squarePx} px square`);
  const far = squarePx - cropPx;
  const centre = Math.floor(far / 2);
  switch (position) {
    case 'centre': return { xPx: centre, yPx: centre, sizePx: cropPx, flip };
    case 'top-left': return { xPx: 0, yPx: 0, sizePx: cropPx, flip };
    case 'top-right': return { xPx: far, yPx: 0, sizePx: cropPx, flip };
    case 'bottom-left': return { xPx: 0, yPx: far, sizePx: cropPx, flip };
    case 'bottom-right': return { xPx: far, yPx: far, sizePx: cropPx, flip };
  }
}

/** The 10 paper crops in `ten` order: the 5 positions unflipped, then the 5 flipped. */
export function computeTenCropBoxes(squarePx: number, cropPx: number): CropBox[] {
  return [false, true].flatMap((flip) => CROP_POSITIONS.map((p) => computePaperCropBox(p, squarePx, cropPx, flip)));
}

/**
 * Draws the crops of one image for `mode`. Only `paper` and `random` consume
 * the RNG; `centre` and `ten` are fixed.
 */
export function drawCropBoxes(mode: CropMode, rng: Rng, squarePx: number, cropPx: number): CropBox[] {
  switch (mode) {
    case 'centre':
      return [computePaperCropBox('centre', squarePx, cropPx, false)];
    case 'ten':
      return computeTenCropBoxes(squarePx, cropPx);
    case 'paper': {
      const position = CROP_POSITIONS[rng.nextInt(CROP_POSITIONS.length)]!;
      return [computePaperCropBox(position, squarePx, cropPx, rng.next() < 0.5)];
    }
    case 'random': {
      const far = squarePx - cropPx;
      if (far < 0) throw new RangeError(`Crop of ${cropPx} px does not fit in a ${squarePx} px square`);
      const xPx = rng.nextInt(far + 1);
      const yPx = rng.nextInt(far + 1);
      return [{ xPx, yPx, sizePx: cropPx, flip: rng.next() < 0.5 }];
    }
  }
}

/**
 * Copies one crop out of an RGB square into `out` at `outOffset` (floats),
 * subtracting the mean square first when given, and mirroring left-right when
 * `box.flip`. Output pixel (y, x) = square(yPx + y, xPx + x') - mean(same),
 * with x' = size - 1 - x when flipped, else x.
 * @param square [squarePx, squarePx, 3], 0..255
 * @param mean [squarePx, squarePx, 3] or null (no subtraction)
 * @param out receives [box.sizePx, box.sizePx, 3] floats starting at outOffset
 * @throws RangeError when the box leaves the square or `out` is too small.
 */
export function extractCrop(
  square: ArrayLike<number>, squarePx: number, box: CropBox, mean: ArrayLike<number> | null,
  out: Float32Array, outOffset = 0,
): void {
  const { xPx, yPx, sizePx, flip } = box;
  if (xPx < 0 || yPx < 0 || xPx + sizePx > squarePx || yPx + sizePx > squarePx) {
    throw new RangeError(`Crop box ${sizePx} px at (${xPx}, ${yPx}) leaves the ${squarePx} px square`);
  }
  if (outOffset + sizePx * sizePx * 3 > out.length) throw new RangeError(`Output of ${out.length} floats is too small for the crop at ${outOffset}`);
  // One specialised loop per case: this runs for every pixel of every training image.
  const step = flip ? -3 : 3;
  let o = outOffset;
  for (let y = 0; y < sizePx; y++) {
    let s = ((yPx + y) * squarePx + xPx) * 3 + (flip ? (sizePx - 1) * 3 : 0);
    if (mean === null) {
      for (let x = 0; x < sizePx; x++, s += step, o += 3) {
        out[o] = square[s]!; out[o + 1] = square[s + 1]!; out[o + 2] = square[s + 2]!;
      }
    } else {
      for (let x = 0; x < sizePx; x++, s += step, o += 3) {
        out[o] = square[s]! - mean[s]!; out[o + 1] = square[s + 1]! - mean[s + 1]!; out[o + 2] = square[s + 2]! - mean[s + 2]!;
      }
    }
  }
}
