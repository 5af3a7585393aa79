/**
 * Result files of the experiments: CSV text (pure) and the PNG figures that
 * put a map over the image it was measured on (sharp, IO).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import sharp from 'sharp';

/** Formats one CSV field: numbers as they print, text quoted when it needs it, null/NaN empty. */
function formatField(value: string | number | boolean | null): string {
  if (value === null || (typeof value === 'number' && Number.isNaN(value))) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180 CSV with a header line; every row lists the header's columns in order. */
export function formatCsv(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | boolean | null>>): string {
  return [header, ...rows].map((row) => `${row.map(formatField).join(',')}\r\n`).join('');
}

/** Writes an RGB [S, S, 3] 8-bit image as a PNG, enlarged to `displayPx` (nearest neighbour). */
export async function writeRgbPng(pixels: Uint8Array, sizePx: number, path: string, displayPx = sizePx): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  await sharp(pixels, { raw: { width: sizePx, height: sizePx, channels: 3 } })
    .resize(displayPx, displayPx, { kernel: 'nearest' })
    .png()
    .toFile(path);
}

/** Where a map's cells lie in the plot module's SVG (heatmapSvg / categoricalMapSvg put them at (10, 30)). */
export interface MapPlacement {
  /** Side of the plot's square map area (their `sizePx`). */
  mapPx: number;
  /** Input pixels the map's cells span (cells x stride, at least the image side). */
  coveredPx: number;
}

/**
 * Renders a map SVG to PNG with the image underneath its cells: the image,
 * in lightened grey, is multiplied into the map area, so the colours keep
 * their meaning and the object shows through.
 */
export async function writeMapOverImage(svg: string, image: Uint8Array, sizePx: number, placement: MapPlacement, path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const imagePx = Math.round((placement.mapPx * sizePx) / placement.coveredPx);
  const shade = await sharp(image, { raw: { width: sizePx, height: sizePx, channels: 3 } })
    .greyscale()
    .linear(0.6, 102) // 0..255 -> 102..255: dark parts shade the colours, never blacken them
    .resize(imagePx, imagePx, { kernel: 'nearest' })
    .png()
    .toBuffer();
  await sharp(Buffer.from(svg)).composite([{ input: shade, left: 10, top: 30, blend: 'multiply' }]).png().toFile(path);
}
