/** An RGB canvas filled in memory, with nearest-neighbour scaled blits. Pure. */
import type { RgbImage } from './display-scaling.js';

/** A canvas of one colour. */
export function createCanvas(widthPx: number, heightPx: number, rgb: [number, number, number] = [255, 255, 255]): RgbImage {
  const pixels = new Uint8Array(widthPx * heightPx * 3);
  for (let i = 0; i < pixels.length; i += 3) pixels.set(rgb, i);
  return { widthPx, heightPx, pixels };
}

/** Fills a rectangle (clipped to the canvas). */
export function fillRect(canvas: RgbImage, left: number, top: number, widthPx: number, heightPx: number, rgb: [number, number, number]): void {
  for (let y = Math.max(0, top); y < Math.min(canvas.heightPx, top + heightPx); y++) {
    for (let x = Math.max(0, left); x < Math.min(canvas.widthPx, left + widthPx); x++) canvas.pixels.set(rgb, (y * canvas.widthPx + x) * 3);
  }
}

/** Draws `image` scaled (nearest neighbour) into the rectangle, clipped to the canvas. */
export function blitScaled(canvas: RgbImage, image: RgbImage, left: number, top: number, widthPx: number, heightPx: number): void {
  for (let y = 0; y < heightPx; y++) {
    const cy = top + y;
    if (cy < 0 || cy >= canvas.heightPx) continue;
    const sy = Math.min(image.heightPx - 1, Math.floor((y * image.heightPx) / heightPx));
    for (let x = 0; x < widthPx; x++) {
      const cx = left + x;
      if (cx < 0 || cx >= canvas.widthPx) continue;
      const sx = Math.min(image.widthPx - 1, Math.floor((x * image.widthPx) / widthPx));
      const from = (sy * image.widthPx + sx) * 3;
      canvas.pixels.set(image.pixels.subarray(from, from + 3), (cy * canvas.widthPx + cx) * 3);
    }
  }
}
