import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RgbImage } from '../../src/mosaic/display-scaling.js';
import { blitScaled, createCanvas, fillRect } from '../../src/mosaic/raster.js';

/** The definition, one pixel at a time: target (x, y) of the rectangle reads source (floor(x*w/W), floor(y*h/H)). */
function referenceBlit(canvas: RgbImage, image: RgbImage, left: number, top: number, widthPx: number, heightPx: number): void {
  for (let y = 0; y < heightPx; y++) {
    for (let x = 0; x < widthPx; x++) {
      const [cx, cy] = [left + x, top + y];
      if (cx < 0 || cy < 0 || cx >= canvas.widthPx || cy >= canvas.heightPx) continue;
      const sx = Math.min(image.widthPx - 1, Math.floor((x * image.widthPx) / widthPx));
      const sy = Math.min(image.heightPx - 1, Math.floor((y * image.heightPx) / heightPx));
      for (let c = 0; c < 3; c++) canvas.pixels[(cy * canvas.widthPx + cx) * 3 + c] = image.pixels[(sy * image.widthPx + sx) * 3 + c]!;
    }
  }
}

function seededImage(widthPx: number, heightPx: number, seed: number): RgbImage {
  let s = seed;
  const pixels = new Uint8Array(widthPx * heightPx * 3).map(() => (s = (s * 1103515245 + 12345) >>> 0) >>> 24);
  return { widthPx, heightPx, pixels };
}

test('createCanvas fills every pixel with its colour; fillRect fills exactly the clipped rectangle', () => {
  const canvas = createCanvas(7, 5, [1, 2, 3]);
  for (let i = 0; i < 7 * 5; i++) assert.deepEqual(Array.from(canvas.pixels.subarray(i * 3, i * 3 + 3)), [1, 2, 3], `pixel ${i}`);
  assert.ok(createCanvas(3, 2, [0, 0, 0]).pixels.every((v) => v === 0));
  fillRect(canvas, -2, 3, 4, 9, [9, 8, 7]); // clipped: x 0..1, y 3..4
  for (let y = 0; y < 5; y++) {
    for (let x = 0; x < 7; x++) {
      const inside = x < 2 && y >= 3;
      assert.deepEqual(Array.from(canvas.pixels.subarray((y * 7 + x) * 3, (y * 7 + x) * 3 + 3)), inside ? [9, 8, 7] : [1, 2, 3], `(${x}, ${y})`);
    }
  }
  const before = canvas.pixels.slice();
  fillRect(canvas, 7, 0, 3, 3, [0, 0, 0]); // entirely outside
  assert.deepEqual(canvas.pixels, before);
});

test('blitScaled equals the one-pixel-at-a-time definition: up and down scaling, odd sizes, clipping on every side', () => {
  const cases: Array<[number, number, number, number, number, number]> = [
    // source w, h, left, top, target w, h
    [5, 5, 3, 4, 10, 10], [27, 27, 0, 0, 54, 54], [139, 120, 2, 1, 50, 43], [3, 7, -4, -3, 11, 9], [9, 4, 20, 18, 12, 12], [1, 1, 5, 5, 3, 3], [6, 6, -10, 0, 8, 8],
  ];
  cases.forEach(([w, h, left, top, tw, th], i) => {
    const image = seededImage(w, h, i + 1);
    const fast = createCanvas(30, 25, [40, 40, 40]);
    const slow = createCanvas(30, 25, [40, 40, 40]);
    blitScaled(fast, image, left, top, tw, th);
    referenceBlit(slow, image, left, top, tw, th);
    assert.deepEqual(fast.pixels, slow.pixels, `case ${i}: ${w}x${h} at (${left}, ${top}) as ${tw}x${th}`);
  });
});
