import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  computePaperCropBox, computeSquareSizePx, computeTenCropBoxes, drawCropBoxes, extractCrop, CROP_POSITIONS,
} from '../../src/data/crop-geometry.js';
import { createRng } from '../../src/data/seeded-rng.js';

/** A square whose pixel (y, x) is (y, x, 7): positions are readable from the values. */
function makeCoordinateSquare(sizePx: number): Uint8Array {
  const square = new Uint8Array(sizePx * sizePx * 3);
  for (let y = 0; y < sizePx; y++) for (let x = 0; x < sizePx; x++) square.set([y, x, 7], (y * sizePx + x) * 3);
  return square;
}

const pixelAt = (crop: Float32Array, sizePx: number, y: number, x: number): number[] => [...crop.subarray((y * sizePx + x) * 3, (y * sizePx + x) * 3 + 3)];

test('square size generalises the paper: 256 at 224, 128 at 112, 73 at 64', () => {
  assert.equal(computeSquareSizePx(224), 256);
  assert.equal(computeSquareSizePx(112), 128);
  assert.equal(computeSquareSizePx(64), 73);
});

test('corner and centre crops start at the right pixels, flips mirror left-right', () => {
  const squarePx = 20; const cropPx = 12;
  const square = makeCoordinateSquare(squarePx);
  const cut = (position: (typeof CROP_POSITIONS)[number], flip: boolean): Float32Array => {
    const out = new Float32Array(cropPx * cropPx * 3);
    extractCrop(square, squarePx, computePaperCropBox(position, squarePx, cropPx, flip), null, out);
    return out;
  };
  assert.deepEqual(pixelAt(cut('top-left', false), cropPx, 0, 0), [0, 0, 7]);
  assert.deepEqual(pixelAt(cut('top-right', false), cropPx, 0, 0), [0, 8, 7]);
  assert.deepEqual(pixelAt(cut('bottom-left', false), cropPx, 0, 0), [8, 0, 7]);
  assert.deepEqual(pixelAt(cut('bottom-right', false), cropPx, cropPx - 1, cropPx - 1), [19, 19, 7]);
  assert.deepEqual(pixelAt(cut('centre', false), cropPx, 0, 0), [4, 4, 7]);
  // flipped: column 0 of the crop is the box's last column
  assert.deepEqual(pixelAt(cut('top-left', true), cropPx, 0, 0), [0, 11, 7]);
  assert.deepEqual(pixelAt(cut('top-left', true), cropPx, 3, cropPx - 1), [3, 0, 7]);
  assert.deepEqual(pixelAt(cut('centre', true), cropPx, 5, 2), [9, 4 + 11 - 2, 7]);
});

test('mean subtraction happens at the source pixel, before the flip', () => {
  const squarePx = 4; const cropPx = 2;
  const square = makeCoordinateSquare(squarePx);
  const mean = new Float32Array(squarePx * squarePx * 3).map((_, i) => i % 3 === 1 ? 0.5 * Math.floor(i / 3) : 0);
  const out = new Float32Array(cropPx * cropPx * 3);
  extractCrop(square, squarePx, { xPx: 1, yPx: 2, sizePx: 2, flip: true }, mean, out);
  // output (0,0) comes from source (2, 2): x value 2 minus mean 0.5 * (2*4+2)
  assert.deepEqual(pixelAt(out, cropPx, 0, 0), [2, 2 - 5, 7]);
  assert.deepEqual(pixelAt(out, cropPx, 1, 1), [3, 1 - 0.5 * 13, 7]);
});

test('ten crops: 5 positions unflipped then the same flipped', () => {
  const boxes = computeTenCropBoxes(256, 224);
  assert.equal(boxes.length, 10);
  assert.deepEqual(boxes.slice(0, 5).map((b) => [b.xPx, b.yPx, b.flip]), [[16, 16, false], [0, 0, false], [32, 0, false], [0, 32, false], [32, 32, false]]);
  assert.deepEqual(boxes.slice(5).map((b) => [b.xPx, b.yPx, b.flip]), boxes.slice(0, 5).map((b) => [b.xPx, b.yPx, true]));
});

test('drawn crops are deterministic for a seed, stay inside the square and use every paper crop', () => {
  const draw = (seed: number, mode: 'paper' | 'random'): string[] => {
    const rng = createRng(seed);
    return Array.from({ length: 200 }, () => JSON.stringify(drawCropBoxes(mode, rng, 73, 64)[0]));
  };
  assert.deepEqual(draw(5, 'paper'), draw(5, 'paper'));
  assert.notDeepEqual(draw(5, 'paper'), draw(6, 'paper'));
  assert.equal(new Set(draw(5, 'paper')).size, 10);
  for (const s of draw(9, 'random')) {
    const b = JSON.parse(s) as { xPx: number; yPx: number; sizePx: number };
    assert.ok(b.xPx >= 0 && b.yPx >= 0 && b.xPx + b.sizePx <= 73 && b.yPx + b.sizePx <= 73);
  }
  assert.ok(new Set(draw(9, 'random')).size > 50);
});

test('bad boxes are refused with the exact message', () => {
  assert.throws(() => computePaperCropBox('centre', 10, 12, false), { name: 'RangeError', message: 'Crop of 12 px does not fit in a 10 px square' });
  assert.throws(() => extractCrop(new Uint8Array(300), 10, { xPx: 5, yPx: 0, sizePx: 8, flip: false }, null, new Float32Array(192)),
    { message: 'Crop box 8 px at (5, 0) leaves the 10 px square' });
});
