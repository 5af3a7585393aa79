/**
 * The mask-box file of the correspondence experiment (Table 1) and its
 * geometry. Pure: the caller reads the file and passes its text.
 *
 * File format (JSON):
 *   {
 *     "boxSpace": "image",            // optional: "image" (default) or "input"
 *     "images": [
 *       { "path": "dogs/1.jpg", "parts": { "left eye": [x, y, w, h], "nose": [x, y, w, h] } },
 *       { "imageId": 200000007, "parts": { ... } }
 *     ]
 *   }
 * Boxes are [x, y, width, height] in pixels of the original image ("image":
 * what an image viewer shows) or of the model input ("input": the S x S
 * centre crop). Paths are relative to the file's folder. Every image must
 * name the same parts.
 */
import type { PixelRect } from './occluder.js';

export type BoxSpace = 'image' | 'input';

export interface MaskedImageSpec {
  /** Path as written in the file (resolved by the caller), or null when given by id. */
  path: string | null;
  imageId: number | null;
  /** Part name -> box in `boxSpace` pixels. */
  parts: Map<string, PixelRect>;
}

export interface MaskFile {
  boxSpace: BoxSpace;
  partNames: string[];
  images: MaskedImageSpec[];
}

function fail(source: string, reason: string): never {
  throw new RangeError(`Mask file ${source}: ${reason}`);
}

function parseBox(source: string, where: string, value: unknown): PixelRect {
  const ok = Array.isArray(value) && value.length === 4 && value.every((v) => typeof v === 'number' && Number.isFinite(v))
    && (value[2] as number) >= 1 && (value[3] as number) >= 1;
  if (!ok) fail(source, `${where} must be [x, y, width, height] with width and height >= 1, got ${JSON.stringify(value)}`);
  const [xPx, yPx, widthPx, heightPx] = (value as number[]).map(Math.round) as [number, number, number, number];
  return { xPx, yPx, widthPx, heightPx };
}

function parseImage(source: string, index: number, value: unknown): MaskedImageSpec {
  if (typeof value !== 'object' || value === null) fail(source, `images[${index}] must be an object`);
  const entry = value as { path?: unknown; imageId?: unknown; parts?: unknown };
  const hasPath = typeof entry.path === 'string' && entry.path !== '';
  const hasId = Number.isInteger(entry.imageId) && (entry.imageId as number) >= 0;
  if (hasPath === hasId) fail(source, `images[${index}] needs exactly one of "path" or "imageId"`);
  if (typeof entry.parts !== 'object' || entry.parts === null || Object.keys(entry.parts).length === 0) {
    fail(source, `images[${index}] needs "parts": { "name": [x, y, width, height], ... }`);
  }
  const parts = new Map(Object.entries(entry.parts).map(([name, box]) => [name, parseBox(source, `images[${index}].parts["${name}"]`, box)]));
  if (parts.has('random')) fail(source, `images[${index}]: "random" is reserved for the random control`);
  return { path: hasPath ? (entry.path as string) : null, imageId: hasId ? (entry.imageId as number) : null, parts };
}

/**
 * Parses and validates a mask file's text.
 * @throws RangeError "Mask file SOURCE: reason" naming the bad entry.
 */
export function parseMaskFile(text: string, source: string): MaskFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    fail(source, `not JSON (${(error as Error).message})`);
  }
  const root = json as { boxSpace?: unknown; images?: unknown };
  const boxSpace = root.boxSpace ?? 'image';
  if (boxSpace !== 'image' && boxSpace !== 'input') fail(source, `boxSpace must be "image" or "input", got ${JSON.stringify(boxSpace)}`);
  if (!Array.isArray(root.images) || root.images.length < 2) fail(source, 'needs "images": a list of at least 2 images');
  const images = root.images.map((v, i) => parseImage(source, i, v));
  const partNames = [...images[0]!.parts.keys()];
  images.forEach((image, i) => {
    const names = [...image.parts.keys()];
    if (names.length !== partNames.length || names.some((n) => !partNames.includes(n))) {
      fail(source, `images[${i}] has parts ${names.join(', ')} but images[0] has ${partNames.join(', ')}; every image must name the same parts`);
    }
  });
  return { boxSpace, partNames, images };
}

/**
 * Maps a box in original-image pixels to model-input pixels under the
 * evaluation preprocessing: the shorter side scaled to `squarePx` with the
 * centre square kept (sharp's `cover`), then the centre `inputSizePx` crop.
 * The result is clipped to the input; null when nothing of it is left.
 */
export function mapImageRectToInput(rect: PixelRect, imageWidthPx: number, imageHeightPx: number, squarePx: number, inputSizePx: number): PixelRect | null {
  const scale = squarePx / Math.min(imageWidthPx, imageHeightPx);
  const cropOffset = Math.floor((squarePx - inputSizePx) / 2);
  const offsetX = (imageWidthPx * scale - squarePx) / 2 + cropOffset;
  const offsetY = (imageHeightPx * scale - squarePx) / 2 + cropOffset;
  return clipRect({
    xPx: Math.round(rect.xPx * scale - offsetX), yPx: Math.round(rect.yPx * scale - offsetY),
    widthPx: Math.round(rect.widthPx * scale), heightPx: Math.round(rect.heightPx * scale),
  }, inputSizePx);
}

/** The part of `rect` inside a `sizePx` square, or null when none is. */
export function clipRect(rect: PixelRect, sizePx: number): PixelRect | null {
  const x0 = Math.max(0, rect.xPx);
  const y0 = Math.max(0, rect.yPx);
  const x1 = Math.min(sizePx, rect.xPx + rect.widthPx);
  const y1 = Math.min(sizePx, rect.yPx + rect.heightPx);
  return x1 > x0 && y1 > y0 ? { xPx: x0, yPx: y0, widthPx: x1 - x0, heightPx: y1 - y0 } : null;
}
