/**
 * Decoding one image file's bytes into the paper's square with sharp: EXIF
 * orientation applied, any colour space (greyscale, CMYK, 16-bit, alpha)
 * brought to 8-bit sRGB RGB with alpha dropped, shorter side resized to
 * `squarePx` and the centre `squarePx` square kept (sharp's `cover` fit).
 * JPEG shrink-on-load makes very large JPEGs cheap to reduce.
 */
import sharp from 'sharp';

/** sharp's default pixel limit (0x3FFF squared, about 268 megapixels); larger images are skipped. */
export const DEFAULT_MAX_INPUT_PIXELS = 0x3fff * 0x3fff;

export interface DecodeSquareOptions {
  squarePx: number;
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

/** Makes an error message one line: libvips repeats its warnings on several lines, keep each once. */
export function describeDecodeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message.split(/\r?\n/).map((l) => l.replace(/\s+/g, ' ').trim()).filter((l) => l !== '');
  return lines.reduce((kept: string[], line) => (kept.some((k) => k.includes(line)) ? kept : [...kept, line]), []).join('; ');
}
