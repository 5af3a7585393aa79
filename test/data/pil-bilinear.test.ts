/**
 * torchvision's Resize + CenterCrop, bit for bit: the fixture holds what
 * Pillow 9.4 and torchvision 0.14 produce for deterministic images
 * (scripts/fixtures/make-pil-resize-fixture.py wrote it; the tests do not need Python).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { computePaperCropBox, extractCrop } from '../../src/data/crop-geometry.js';
import { computeTorchvisionResize, extractTorchvisionSquare, resizeBilinearLikePil } from '../../src/data/pil-bilinear.js';

interface Expected { sha256: string; pixels?: string }
interface Fixture {
  resize: Array<Expected & { width: number; height: number; outWidth: number; outHeight: number }>;
  torchvision: Array<Expected & { width: number; height: number; resizePx: number; cropPx: number }>;
}

const fixture = JSON.parse(readFileSync(fileURLToPath(new URL('../../../test/data/pil-resize-fixture.json', import.meta.url)), 'utf8')) as Fixture;

/** The fixture script's input: pixel (x, y, c) = (x*31 + y*17 + c*71 + (x*y)%13 + floor(x/3)*floor(y/5)) % 256. */
function source(width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) {
    out[(y * width + x) * 3 + c] = (x * 31 + y * 17 + c * 71 + ((x * y) % 13) + Math.floor(x / 3) * Math.floor(y / 5)) % 256;
  }
  return out;
}

function assertSame(actual: Uint8Array, expected: Expected, label: string): void {
  if (expected.pixels !== undefined) assert.deepEqual([...actual], [...Buffer.from(expected.pixels, 'base64')], label);
  assert.equal(createHash('sha256').update(actual).digest('hex'), expected.sha256, label);
}

describe('Pillow-exact bilinear resize', () => {
  for (const c of fixture.resize) {
    it(`${c.width}x${c.height} -> ${c.outWidth}x${c.outHeight} equals Pillow`, () => {
      assertSame(resizeBilinearLikePil(source(c.width, c.height), c.width, c.height, c.outWidth, c.outHeight), c, 'pixels');
    });
  }

  it('refuses sizes below 1 and a wrong pixel count', () => {
    assert.throws(() => resizeBilinearLikePil(new Uint8Array(12), 2, 2, 0, 2), { name: 'RangeError', message: 'Expected sizes of at least 1 px but received 2x2 -> 0x2' });
    assert.throws(() => resizeBilinearLikePil(new Uint8Array(11), 2, 2, 1, 1), { name: 'RangeError', message: 'Expected 12 values for a 2x2 RGB image but received 11' });
  });
});

describe('torchvision Resize + CenterCrop through the square and the centre crop', () => {
  for (const c of fixture.torchvision) {
    it(`${c.width}x${c.height}, Resize(${c.resizePx}), CenterCrop(${c.cropPx}) equals torchvision`, () => {
      const [w, h] = computeTorchvisionResize(c.width, c.height, c.resizePx);
      const resized = resizeBilinearLikePil(source(c.width, c.height), c.width, c.height, w, h);
      const square = extractTorchvisionSquare(resized, w, h, c.resizePx, c.cropPx);
      const crop = new Float32Array(c.cropPx * c.cropPx * 3);
      extractCrop(square, c.resizePx, computePaperCropBox('centre', c.resizePx, c.cropPx, false), null, crop);
      assertSame(Uint8Array.from(crop), c, 'crop');
    });
  }
});
