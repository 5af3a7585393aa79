/**
 * Decoding one image file's bytes into the paper's square with sharp: EXIF
 * orientation applied, any colour space (greyscale, CMYK, 16-bit, alpha)
 * brought to 8-bit sRGB RGB with alpha dropped, shorter side resized to
 * `squarePx` and the centre `squarePx` square kept (sharp's `cover` fit).
 * JPEG shrink-on-load makes very large JPEGs cheap to reduce.
 */
import sharp from 'sharp';
import { computeTorchvisionResize, extractTorchvisionSquare, resizeBilinearLikePil } from './pil-bilinear.js';

/** sharp's default pixel limit (0x3FFF squared, about 268 megapixels); larger images are skipped. */
export const DEFAULT_MAX_INPUT_PIXELS = 0x3fff * 0x3fff;

/**
 * How the image is reduced to the square: `sharp-lanczos3` (libvips, the
 * project's own preprocessing) or `pil-bilinear` (torchvision's Resize on a PIL
 * image, bit for bit, for models trained with it; see pil-bilinear.ts).
 */
export type ResampleMethod = 'sharp-lanczos3' | 'pil-bilinear';
export const RESAMPLE_METHODS: readonly ResampleMethod[] = ['sharp-lanczos3', 'pil-bilinear'];

export interface DecodeSquareOptions {
  squarePx: number;
  /** Default sharp-lanczos3. */
  resample?: ResampleMethod;
  /** pil-bilinear: the model's centre crop, which the square is placed around as torchvision's CenterCrop places it. */
  cropPx?: number;
  /** Images with more pixels than this are refused (and skipped by the stage); default DEFAULT_MAX_INPUT_PIXELS. */
  maxInputPixels?: number;
}

export interface DecodedSquare {
  /** [squarePx, squarePx, 3] RGB, 0..255. */
  pixels: Uint8Array;
  squarePx: number;
}

/**
 * Decodes encoded image bytes (JPEG, PNG, WebP, whatever the extension says)
 * into the centre square.
 * @throws Error with a one-line reason (sharp's, or "empty file") when the bytes
 *   are not a decodable image, are truncated, or exceed the pixel limit.
 */
export async function decodeSquare(bytes: Buffer, options: DecodeSquareOptions): Promise<DecodedSquare> {
  if (bytes.length === 0) throw new Error('empty file (0 bytes)');
  const { squarePx } = options;
  if (options.resample === 'pil-bilinear') return decodeSquareLikeTorchvision(bytes, options);
  const image = sharp(bytes, {
    failOn: 'truncated',
    limitInputPixels: options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS,
    sequentialRead: true,
    autoOrient: true,
  });
  const { data, info } = await image
    .removeAlpha()
    .toColourspace('srgb')
    .resize(squarePx, squarePx, { fit: 'cover', position: 'centre' })
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== squarePx || info.height !== squarePx || data.length !== squarePx * squarePx * 3) {
    throw new Error(`decoded to ${info.width}x${info.height}x${info.channels} instead of ${squarePx}x${squarePx}x3`);
  }
  return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.length), squarePx };
}

/**
 * torchvision's Resize(squarePx) of the fully decoded image, then the square
 * whose centre `cropPx` crop is torchvision's CenterCrop(cropPx).
 */
async function decodeSquareLikeTorchvision(bytes: Buffer, options: DecodeSquareOptions): Promise<DecodedSquare> {
  const { squarePx } = options;
  const cropPx = options.cropPx ?? squarePx;
  const { data, info } = await sharp(bytes, { failOn: 'truncated', limitInputPixels: options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS, autoOrient: true })
    .removeAlpha()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels instead of 3`);
  const [width, height] = computeTorchvisionResize(info.width, info.height, squarePx);
  const resized = resizeBilinearLikePil(new Uint8Array(data.buffer, data.byteOffset, data.length), info.width, info.height, width, height);
  return { pixels: extractTorchvisionSquare(resized, width, height, squarePx, cropPx), squarePx };
}

/** Makes an error message one line: libvips repeats its warnings on several lines, keep each once. */
export function describeDecodeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message.split(/\r?\n/).map((l) => l.replace(/\s+/g, ' ').trim()).filter((l) => l !== '');
  return lines.reduce((kept: string[], line) => (kept.some((k) => k.includes(line)) ? kept : [...kept, line]), []).join('; ');
}
