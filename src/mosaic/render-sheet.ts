/** Writes RGB images and drawn sheets (with their SVG text labels) as PNG files through sharp. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import sharp from 'sharp';
import { svgText } from '../plot/svg-text.js';
import type { RgbImage } from './display-scaling.js';
import type { DrawnSheet } from './draw-sheet.js';
import type { SheetLayout } from './sheet-layout.js';

/** Writes an RGB image as PNG (folders created). */
export async function writeRgbPng(path: string, image: RgbImage): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  await sharp(Buffer.from(image.pixels.buffer, image.pixels.byteOffset, image.pixels.byteLength), { raw: { width: image.widthPx, height: image.heightPx, channels: 3 } })
    .png()
    .toFile(path);
}

/** Writes a sheet as PNG with its labels rendered by sharp's librsvg. */
export async function writeSheetPng(path: string, sheet: DrawnSheet): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const { widthPx, heightPx, pixels } = sheet.canvas;
  const texts = sheet.labels.map((l) => svgText(l.x, l.y, l.text, l.sizePx));
  const overlay = `<svg xmlns="http://www.w3.org/2000/svg" width="${widthPx}" height="${heightPx}">${texts.join('')}</svg>`;
  await sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width: widthPx, height: heightPx, channels: 3 } })
    .composite([{ input: Buffer.from(overlay), top: 0, left: 0 }])
    .png()
    .toFile(path);
}

/** Writes a text file (folders created). */
export function writeTextFile(path: string, text: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/**
 * Writes a sheet composed of single-unit PNGs (each drawn with the same cell
 * size, so each is one block plus its margin), at the layout's block positions.
 */
export async function writeComposedSheet(path: string, layout: SheetLayout, unitPngs: readonly string[]): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  await sharp({ create: { width: layout.widthPx, height: layout.heightPx, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(unitPngs.map((input, i) => ({ input, left: layout.blocks[i]!.left - layout.gapPx, top: layout.blocks[i]!.top - layout.gapPx })))
    .png()
    .toFile(path);
}
