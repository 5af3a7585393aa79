/**
 * Test fixtures the tests generate: temporary folders, small images of known
 * pixels, and a hand-made uniform JPEG whose header claims any size (a
 * 12000x12000 image in 560 kB, made in milliseconds).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { openStore, type Store } from '../../src/store/open-store.js';

/** A fresh temporary folder; `cleanup` removes it. */
export function makeTempDir(prefix = 'zfnet-input-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A store in `dir`. */
export function openTempStore(dir: string, name = 'test.db'): Store {
  return openStore(join(dir, name));
}

/** Writes a solid-colour image (format from the extension unless `format` is given). */
export async function writeSolidImage(path: string, rgb: [number, number, number], widthPx = 24, heightPx = 16, format?: 'jpeg' | 'png' | 'webp'): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const ext = format ?? (/\.png$/i.test(path) ? 'png' : /\.webp$/i.test(path) ? 'webp' : 'jpeg');
  const image = sharp({ create: { width: widthPx, height: heightPx, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  writeFileSync(path, await image.toFormat(ext).toBuffer());
}

/** Writes a file with the given content, creating folders. */
export function writeBytes(path: string, bytes: Buffer | string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

/**
 * A baseline greyscale JPEG of any size whose every 8x8 block is flat mid
 * grey (DC difference 0, end of block): 2 bits per block, so a 12000x12000
 * image is 562 kB. Huffman tables with one 1-bit code each.
 */
export function makeUniformJpeg(widthPx: number, heightPx: number): Buffer {
  const segment = (marker: number, body: number[]): Buffer => Buffer.from([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body]);
  const oneCodeTable = (tableClassAndId: number): number[] => [tableClassAndId, 1, ...new Array<number>(15).fill(0), 0];
  const blocks = Math.ceil(widthPx / 8) * Math.ceil(heightPx / 8);
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xdb, [0, ...new Array<number>(64).fill(1)]),
    segment(0xc0, [8, heightPx >> 8, heightPx & 255, widthPx >> 8, widthPx & 255, 1, 1, 0x11, 0]),
    segment(0xc4, oneCodeTable(0x00)),
    segment(0xc4, oneCodeTable(0x10)),
    segment(0xda, [1, 1, 0x00, 0, 63, 0]),
    Buffer.alloc(Math.ceil((blocks * 2) / 8), 0),
    Buffer.from([0xff, 0xd9]),
  ]);
}

/**
 * A class-per-folder tree: `<root>/<split>/<class>/<i>.<ext>`, each image a
 * solid colour that encodes its class (red = 40 * class index).
 */
export async function writeFolderTree(root: string, splits: Record<string, Record<string, number>>, ext = 'jpg'): Promise<void> {
  for (const [split, classes] of Object.entries(splits)) {
    for (const [k, [cls, count]] of Object.entries(classes).entries()) {
      for (let i = 0; i < count; i++) await writeSolidImage(join(root, split, cls, `img_${i}.${ext}`), [40 * k, 100, 200 - 10 * i]);
    }
  }
}

/** `text` with every regular-expression metacharacter escaped, for messages that embed a path. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
