/**
 * torchvision's resize and centre crop, bit for bit, for models trained on
 * them: `Resize(R)` on a PIL image (Pillow's bilinear resampling with its
 * antialiasing support, fixed-point 8-bit arithmetic, horizontal pass then
 * vertical) and `CenterCrop(S)` (Python's round-half-to-even offsets). Written
 * from Pillow's documented algorithm (Resample.c: a triangle filter widened by
 * the downscale factor, coefficients normalised per output pixel, rounded to
 * 22 fractional bits) and torchvision's size rule (the shorter side to R, the
 * longer to int(R * long / short)). Pure.
 */

/** Fractional bits of Pillow's 8-bit coefficients (32 - 8 - 2). */
const PRECISION_BITS = 22;

/** Triangle filter of support 1 (Pillow's BILINEAR). */
function triangle(x: number): number {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
}

interface Coefficients {
  /** Per output pixel: first input pixel and count. */
  bounds: Int32Array;
  /** Per output pixel, `ksize` fixed-point weights. */
  weights: Int32Array;
  ksize: number;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for one axis (the whole input span). */
function computeCoefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // BILINEAR support 1.0 times the scale
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      k[x] = triangle((x + xmin - center + 0.5) / filterScale);
      total += k[x]!;
    }
    for (let x = 0; x < xmax; x++) {
      const w = total === 0 ? k[x]! : k[x]! / total;
      weights[xx * ksize + x] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, weights, ksize };
}

/** Pillow's clip8: the fixed-point sum to 0..255. */
function clip8(sum: number): number {
  if (sum >= 2 ** (PRECISION_BITS + 8)) return 255;
  if (sum <= 0) return 0;
  return Math.floor(sum / 2 ** PRECISION_BITS);
}

/** One pass along x (rows stay) of an RGB image [height, inWidth, 3] -> [height, outWidth, 3]. */
function resampleRows(input: Uint8Array, inWidth: number, height: number, c: Coefficients, outWidth: number): Uint8Array {
  const out = new Uint8Array(height * outWidth * 3);
  const half = 2 ** (PRECISION_BITS - 1);
  for (let y = 0; y < height; y++) {
    const row = y * inWidth * 3;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = c.bounds[xx * 2]!;
      const count = c.bounds[xx * 2 + 1]!;
      let s0 = half;
      let s1 = half;
      let s2 = half;
      for (let x = 0; x < count; x++) {
        const w = c.weights[xx * c.ksize + x]!;
        const p = row + (xmin + x) * 3;
        s0 += input[p]! * w;
        s1 += input[p + 1]! * w;
        s2 += input[p + 2]! * w;
      }
      const o = (y * outWidth + xx) * 3;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return out;
}

/** One pass along y of an RGB image [inHeight, width, 3] -> [outHeight, width, 3]. */
function resampleColumns(input: Uint8Array, width: number, c: Coefficients, outHeight: number): Uint8Array {
  const out = new Uint8Array(outHeight * width * 3);
  const stride = width * 3;
  const sums = new Float64Array(stride); // exact: integers far below 2^53
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = c.bounds[yy * 2]!;
    const count = c.bounds[yy * 2 + 1]!;
    sums.fill(2 ** (PRECISION_BITS - 1));
    // Row by row, so the input is read in memory order.
    for (let y = 0; y < count; y++) {
      const w = c.weights[yy * c.ksize + y]!;
      const row = (ymin + y) * stride;
      for (let i = 0; i < stride; i++) sums[i]! += input[row + i]! * w;
    }
    for (let i = 0; i < stride; i++) out[yy * stride + i] = clip8(sums[i]!);
  }
  return out;
}

/**
 * Pillow's `Image.resize((outWidth, outHeight), BILINEAR)` of an RGB image
 * [height, width, 3] (0..255). The same size returns a copy, as Pillow does.
 * @throws RangeError for sizes below 1 or a pixel count that does not match.
 */
export function resizeBilinearLikePil(pixels: Uint8Array, width: number, height: number, outWidth: number, outHeight: number): Uint8Array {
  if (![width, height, outWidth, outHeight].every((n) => Number.isInteger(n) && n >= 1)) throw new RangeError(`Expected sizes of at least 1 px but received ${width}x${height} -> ${outWidth}x${outHeight}`);
  if (pixels.length !== width * height * 3) throw new RangeError(`Expected ${width * height * 3} values for a ${width}x${height} RGB image but received ${pixels.length}`);
  let image = pixels;
  if (outWidth !== width) image = resampleRows(image, width, height, computeCoefficients(width, outWidth), outWidth);
  if (outHeight !== height) image = resampleColumns(image, outWidth, computeCoefficients(height, outHeight), outHeight);
  return image === pixels ? pixels.slice() : image;
}

/** Python's round(): halves to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision's Resize(shorterPx) output size [width, height] of a width x height image. */
export function computeTorchvisionResize(width: number, height: number, shorterPx: number): [number, number] {
  if (width <= height) return [shorterPx, Math.trunc((shorterPx * height) / width)];
  return [Math.trunc((shorterPx * width) / height), shorterPx];
}

/** torchvision's CenterCrop(cropPx) offset along an axis of `sizePx`. */
export function computeTorchvisionCropOffset(sizePx: number, cropPx: number): number {
  return roundHalfEven((sizePx - cropPx) / 2);
}

/**
 * The squarePx x squarePx square of a resized image whose centre cropPx crop
 * (the project's centre box, computePaperCropBox) is torchvision's
 * CenterCrop(cropPx), so the batch stream's crop step gives torchvision's input.
 * Returns the square's [left, top] in the resized image.
 */
export function computeTorchvisionSquare(resizedWidth: number, resizedHeight: number, squarePx: number, cropPx: number): [number, number] {
  const inner = Math.floor((squarePx - cropPx) / 2);
  const place = (size: number): number => Math.min(Math.max(computeTorchvisionCropOffset(size, cropPx) - inner, 0), size - squarePx);
  return [place(resizedWidth), place(resizedHeight)];
}

/** The square of computeTorchvisionSquare cut out of a resized [height, width, 3] image. */
export function extractTorchvisionSquare(resized: Uint8Array, width: number, height: number, squarePx: number, cropPx: number): Uint8Array {
  const [left, top] = computeTorchvisionSquare(width, height, squarePx, cropPx);
  const square = new Uint8Array(squarePx * squarePx * 3);
  for (let y = 0; y < squarePx; y++) square.set(resized.subarray(((top + y) * width + left) * 3, ((top + y) * width + left + squarePx) * 3), y * squarePx * 3);
  return square;
}
