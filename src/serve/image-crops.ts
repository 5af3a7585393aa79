/**
 * The explorer's image files that need no model: an image's centre crop (as
 * the model sees it) and the receptive-field patch of a top-k entry, as PNG.
 * IO (reads the image, encodes with sharp, which works off the event loop);
 * the pixels come from the same preprocessing as every other command
 * (prepareCentreInput), so a patch is exactly what the unit saw. Recent
 * results are kept in memory (least recently used out first).
 */
import sharp from 'sharp';
import { computeSquareSizePx } from '../data/crop-geometry.js';
import { createFallbackMean, type MeanImage } from '../data/mean-image.js';
import { prepareCentreInput } from '../experiments/experiment-inputs.js';
import { cropBox } from '../mosaic/display-scaling.js';
import { layerGeometry, receptiveFieldBox } from '../model/geometry.js';
import type { ModelConfig } from '../model/spec.js';

/** Patches smaller than this are enlarged (nearest neighbour), so a 7 px conv1 patch is visible. */
export const MIN_PATCH_DISPLAY_PX = 64;

export interface PatchRequest {
  path: string;
  config: ModelConfig;
  layerName: string;
  y: number;
  x: number;
}

export interface ImageCrops {
  /** PNG of the centre crop the model sees. @throws UsageError naming the file when it cannot be decoded */
  renderImage(path: string, config: ModelConfig): Promise<Buffer>;
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

/** @param capacity PNGs kept in memory */
export function createImageCrops(capacity = 2048): ImageCrops {
  const cache = new Map<string, Promise<Buffer>>();
  const means = new Map<number, MeanImage>();
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
  // The display pixels do not depend on the mean (it is only subtracted from the model input).
  const display = async (path: string, sizePx: number) => {
    const squarePx = computeSquareSizePx(sizePx);
    let mean = means.get(squarePx);
    if (mean === undefined) means.set(squarePx, (mean = createFallbackMean(squarePx)));
    return (await prepareCentreInput(path, sizePx, mean)).display;
  };
  return {
    renderImage: (path, config) => remember(`image:${config.inputSizePx}:${path}`, async () =>
      encodePng(await display(path, config.inputSizePx), config.inputSizePx, config.inputSizePx, 0)),
    renderPatch: (r) => remember(`patch:${r.config.name}:${r.config.inputSizePx}:${r.layerName}:${r.y}:${r.x}:${r.path}`, async () => {
      const sizePx = r.config.inputSizePx;
      const box = receptiveFieldBox(layerGeometry(r.config, r.layerName), r.y, r.x, sizePx);
      return encodePng(cropBox(await display(r.path, sizePx), sizePx, 3, box), box.widthPx, box.heightPx, MIN_PATCH_DISPLAY_PX);
    }),
  };
}
