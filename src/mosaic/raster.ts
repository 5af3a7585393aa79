/**
 * An RGB canvas filled in memory, with nearest-neighbour scaled blits. Pure.
 * Whole rows are written at once (a mosaics run draws about 25,000 tiles, so
 * per-pixel typed-array calls used to cost more than the projections of conv1-conv3).
 */
import type { RgbImage } from './display-scaling.js';

/** Writes `rgb` into `pixels[from, to)` (byte offsets, multiples of 3), doubling the copied span each step. */
function fillPixels(pixels: Uint8Array, from: number, to: number, rgb: readonly [number, number, number]): void {
  if (to <= from) return;
  pixels[from] = rgb[0];
  pixels[from + 1] = rgb[1];
  pixels[from + 2] = rgb[2];
  for (let filled = 3; filled < to - from; filled *= 2) pixels.copyWithin(from + filled, from, from + Math.min(filled, to - from - filled));
}

/** A canvas of one colour. */
export function createCanvas(widthPx: number, heightPx: number, rgb: [number, number, number] = [255, 255, 255]): RgbImage {
  const pixels = new Uint8Array(widthPx * heightPx * 3);
  if (rgb[0] !== 0 || rgb[1] !== 0 || rgb[2] !== 0) fillPixels(pixels, 0, pixels.length, rgb);
  return { widthPx, heightPx, pixels };
}

/** Fills a rectangle (clipped to the canvas). */
export function fillRect(canvas: RgbImage, left: number, top: number, widthPx: number, heightPx: number, rgb: [number, number, number]): void {
  const [x0, x1] = [Math.max(0, left), Math.min(canvas.widthPx, left + widthPx)];
  const [y0, y1] = [Math.max(0, top), Math.min(canvas.heightPx, top + heightPx)];
  if (x1 <= x0 || y1 <= y0) return;
  const rowStart = (y: number): number => (y * canvas.widthPx + x0) * 3;
  const rowBytes = (x1 - x0) * 3;
  fillPixels(canvas.pixels, rowStart(y0), rowStart(y0) + rowBytes, rgb);
  for (let y = y0 + 1; y < y1; y++) canvas.pixels.copyWithin(rowStart(y), rowStart(y0), rowStart(y0) + rowBytes);
}

/** For each target column of a `widthPx`-wide blit, the source column (nearest neighbour), or -1 when clipped. */
function sourceColumns(imageWidthPx: number, widthPx: number, left: number, canvasWidthPx: number): Int32Array {
  const columns = new Int32Array(widthPx);
  for (let x = 0; x < widthPx; x++) {
    const cx = left + x;
    columns[x] = cx < 0 || cx >= canvasWidthPx ? -1 : Math.min(imageWidthPx - 1, Math.floor((x * imageWidthPx) / widthPx));
  }
  return columns;
}

/** Draws `image` scaled (nearest neighbour) into the rectangle, clipped to the canvas. */
export function blitScaled(canvas: RgbImage, image: RgbImage, left: number, top: number, widthPx: number, heightPx: number): void {
  const columns = sourceColumns(image.widthPx, widthPx, left, canvas.widthPx);
  const [src, dst] = [image.pixels, canvas.pixels];
  let previous = -1;
  for (let y = 0; y < heightPx; y++) {
    const cy = top + y;
    if (cy < 0 || cy >= canvas.heightPx) continue;
    const sy = Math.min(image.heightPx - 1, Math.floor((y * image.heightPx) / heightPx));
    const rowAt = (cy * canvas.widthPx + left) * 3;
    if (sy === previous) { // the same source row again: copy the row drawn just before
      const x0 = Math.max(0, -left);
      const x1 = Math.min(widthPx, canvas.widthPx - left);
      if (x1 > x0) dst.copyWithin(rowAt + x0 * 3, rowAt - canvas.widthPx * 3 + x0 * 3, rowAt - canvas.widthPx * 3 + x1 * 3);
      continue;
    }
    previous = sy;
    const rowFrom = sy * image.widthPx * 3;
    for (let x = 0; x < widthPx; x++) {
      const sx = columns[x]!;
      if (sx < 0) continue;
      const [to, from] = [rowAt + x * 3, rowFrom + sx * 3];
      dst[to] = src[from]!;
      dst[to + 1] = src[from + 1]!;
      dst[to + 2] = src[from + 2]!;
    }
  }
}
