/**
 * The explorer's image files that need no model: an image's centre crop (as
 * the model sees it) and the receptive-field patch of a top-k entry, as PNG.
 * IO (reads the image, encodes with sharp, which works off the event loop);
 * the pixels come from the same preprocessing as every other command
 * (decode, resize, centre crop, as the batch stream does for either kind
 * of model), so a patch is exactly what the unit saw. Recent
 * results are kept in memory (least recently used out first).
 */
import sharp from 'sharp';
import type { ResampleMethod } from '../data/decode-image.js';
import { receptiveFieldBoxAt, type ReceptiveField } from '../graph/receptive-fields.js';
import { cropBox } from '../mosaic/display-scaling.js';
import { readCentreCrop } from '../import/model-input.js';

/** Patches smaller than this are enlarged (nearest neighbour), so a 7 px conv1 patch is visible. */
export const MIN_PATCH_DISPLAY_PX = 64;

/** The crop a run's model sees: shorter side resized to squarePx (with `resample`), centre inputSizePx square. */
export interface CropInput {
  inputSizePx: number;
  squarePx: number;
  resample: ResampleMethod;
}

export interface PatchRequest {
  path: string;
  input: CropInput;
  /** The layer's receptive field per axis (an analysed layer of the run). */
  field: ReceptiveField;
  y: number;
  x: number;
}

export interface ImageCrops {
  /** PNG of the centre crop the model sees. @throws UsageError naming the file when it cannot be decoded */
  renderImage(path: string, input: CropInput): Promise<Buffer>;
  /** PNG of the receptive field of cell (y, x) of the layer, clipped at the border. @throws UsageError as renderImage */
  renderPatch(request: PatchRequest): Promise<Buffer>;
}

async function encodePng(pixels: Uint8Array, widthPx: number, heightPx: number, minSidePx: number): Promise<Buffer> {
  const scale = Math.max(1, Math.ceil(minSidePx / Math.max(1, Math.min(widthPx, heightPx))));
  return sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width: widthPx, height: heightPx, channels: 3 } })
    .resize(widthPx * scale, heightPx * scale, { kernel: 'nearest' })
    .png()
    .toBuffer();
}

/** The centre crop as the model sees it before its value steps, [S, S, 3] 0..255. @throws UsageError naming the path. */
async function cropDisplay(path: string, input: CropInput): Promise<Uint8Array> {
  return Uint8Array.from(await readCentreCrop(path, input));
}

/** @param capacity PNGs kept in memory */
export function createImageCrops(capacity = 2048): ImageCrops {
  const cache = new Map<string, Promise<Buffer>>();
  const remember = (key: string, make: () => Promise<Buffer>): Promise<Buffer> => {
    const hit = cache.get(key);
    if (hit !== undefined) {
      cache.delete(key);
      cache.set(key, hit);
      return hit;
    }
    const made = make();
    cache.set(key, made);
    made.catch(() => cache.delete(key));
    if (cache.size > capacity) cache.delete(cache.keys().next().value!);
    return made;
  };
  const inputKey = (input: CropInput) => `${input.squarePx}:${input.inputSizePx}:${input.resample}`;
  return {
    renderImage: (path, input) => remember(`image:${inputKey(input)}:${path}`, async () =>
      encodePng(await cropDisplay(path, input), input.inputSizePx, input.inputSizePx, 0)),
    renderPatch: (r) => remember(`patch:${inputKey(r.input)}:${r.field.receptiveFieldPx.join('x')}:${r.field.jumpPx.join('x')}:${r.field.offsetPx.join('x')}:${r.y}:${r.x}:${r.path}`, async () => {
      const sizePx = r.input.inputSizePx;
      const box = receptiveFieldBoxAt(r.field, r.y, r.x, sizePx);
      return encodePng(cropBox(await cropDisplay(r.path, r.input), sizePx, 3, box), box.widthPx, box.heightPx, MIN_PATCH_DISPLAY_PX);
    }),
  };
}
