/** Writes SVG documents as SVG and PNG files (sharp renders the SVG). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import sharp from 'sharp';

/** Renders `svg` to a PNG at `pngPath`; with `svgPath`, also writes the SVG source. */
export async function writeSvgAndPng(svg: string, pngPath: string, svgPath?: string): Promise<void> {
  mkdirSync(dirname(pngPath), { recursive: true });
  if (svgPath !== undefined) writeFileSync(svgPath, svg);
  await sharp(Buffer.from(svg)).png().toFile(pngPath);
}
