import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../../src/data/seeded-rng.js';
import {
  applyOccluder, computeFillImage, computeOccluderPlacements, defaultOccluderSizePx, defaultOccluderStridePx, drawRandomRect,
} from '../../src/experiments/occluder.js';

test('an occluder at a known position changes exactly the expected pixels', () => {
  const S = 10;
  const input = Float32Array.from({ length: S * S * 3 }, (_, i) => i + 1);
  const fill = Float32Array.from({ length: S * S * 3 }, (_, i) => -(i + 1));
  const out = new Float32Array(2 * S * S * 3).fill(NaN);
  const rect = { xPx: 3, yPx: 2, widthPx: 4, heightPx: 5 };
  applyOccluder(input, S, rect, fill, out, S * S * 3);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const inside = x >= 3 && x < 7 && y >= 2 && y < 7;
      for (let c = 0; c < 3; c++) {
        const i = (y * S + x) * 3 + c;
        assert.equal(out[S * S * 3 + i], inside ? fill[i] : input[i], `pixel (${x}, ${y}) channel ${c}`);
      }
    }
  }
  assert.ok(Number.isNaN(out[0]!), 'nothing written before the offset');
});

test('occluder placements tile the image with centred, clipped squares', () => {
  const placements = computeOccluderPlacements(10, 4, 3);
  assert.equal(placements.length, 16); // ceil(10 / 3) = 4 cells a side
  assert.deepEqual(placements[0], { row: 0, col: 0, rect: { xPx: 0, yPx: 0, widthPx: 3, heightPx: 3 } });
  assert.deepEqual(placements[5]!.rect, { xPx: 2, yPx: 2, widthPx: 4, heightPx: 4 }); // cell 3..5, square 2..5 (odd slack goes left)
  assert.deepEqual(placements[15]!.rect, { xPx: 7, yPx: 7, widthPx: 3, heightPx: 3 }); // last cell is pixel 9: square 7..10 clipped at 10
  for (const p of placements) {
    const cy = p.row * 3 + Math.min(3, 10 - p.row * 3) / 2;
    assert.ok(p.rect.yPx <= cy && cy <= p.rect.yPx + p.rect.heightPx, 'the occluder covers its cell centre');
  }
});

test('occluder defaults scale with the input: 48 px and stride 16 at 224', () => {
  assert.equal(defaultOccluderSizePx(224), 48);
  assert.equal(defaultOccluderStridePx(224), 16);
  assert.equal(defaultOccluderSizePx(64), 14);
  assert.equal(defaultOccluderStridePx(64), 5);
});

test('bad occluder size and stride name the value', () => {
  assert.throws(() => computeOccluderPlacements(64, 0, 4), { message: 'Expected integer between 1 and 64 for size but received 0' });
  assert.throws(() => computeOccluderPlacements(64, 8, 65), { message: 'Expected integer between 1 and 64 for stride but received 65' });
  assert.throws(() => applyOccluder(new Float32Array(12), 2, { xPx: 1, yPx: 0, widthPx: 2, heightPx: 1 }, new Float32Array(12), new Float32Array(12)),
    { message: 'Rectangle 2x1 at (1, 0) leaves the 2 px image' });
});

test('fill images: mean is input 0, grey is 128 minus the mean, zero is minus the mean', () => {
  const mean = [100, 110, 120, 130, 140, 150];
  assert.deepEqual(Array.from(computeFillImage('mean', 1, null)), [0, 0, 0]);
  assert.deepEqual(Array.from(computeFillImage('grey', 1, mean)), [28, 18, 8]);
  assert.deepEqual(Array.from(computeFillImage('zero', 1, mean)), [-100, -110, -120]);
});

test('random control rectangles stay inside, cover every position, and repeat for a seed', () => {
  const rng = createRng(7);
  const seen = new Set<string>();
  for (let i = 0; i < 400; i++) {
    const r = drawRandomRect(rng, 6, 4, 3);
    assert.ok(r.xPx >= 0 && r.xPx + r.widthPx <= 6 && r.yPx >= 0 && r.yPx + r.heightPx <= 6);
    seen.add(`${r.xPx},${r.yPx}`);
  }
  assert.equal(seen.size, 3 * 4);
  assert.deepEqual(drawRandomRect(createRng(3), 50, 10, 10), drawRandomRect(createRng(3), 50, 10, 10));
  assert.throws(() => drawRandomRect(rng, 6, 7, 1), { message: 'A 7x1 rectangle does not fit in a 6 px image' });
});
