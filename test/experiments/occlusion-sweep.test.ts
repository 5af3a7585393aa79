import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeFillImage, computeOccluderPlacements, type PixelRect } from '../../src/experiments/occluder.js';
import { measureUnoccluded, sweepOccluder, type OcclusionProbe } from '../../src/experiments/occlusion-sweep.js';
import type { BatchPixels, ForwardRequest, TapsResult } from '../../src/workers/batch-reducers.js';
import type { ForwardExecutor } from '../../src/workers/forward-executor.js';

const S = 24;
/** The region the hand-set model looks at: x 8..15, y 4..11. */
const REGION: PixelRect = { xPx: 8, yPx: 4, widthPx: 8, heightPx: 8 };

/**
 * A hand-set model whose class-0 logit is 4 x the mean of channel 0 over
 * REGION (class 1's logit is 0), so its class probability depends on that
 * region only. Its "feature map" (asked as conv5) is the input itself.
 */
function computeRegionTaps(batch: BatchPixels): TapsResult {
  const [n] = batch.shape;
  const logits = new Float32Array(n * 2); // class 1's logit stays 0
  for (let image = 0; image < n; image++) {
    let sum = 0;
    for (let y = REGION.yPx; y < REGION.yPx + REGION.heightPx; y++) {
      for (let x = REGION.xPx; x < REGION.xPx + REGION.widthPx; x++) sum += batch.pixels[((image * S + y) * S + x) * 3]!;
    }
    logits[image * 2] = (4 * sum) / (REGION.widthPx * REGION.heightPx);
  }
  return { taps: { conv5: { shape: batch.shape.slice(), data: Float32Array.from(batch.pixels) }, logits: { shape: [n, 2], data: logits } } };
}

/** An executor of the hand-set model that keeps `capacity` batches in flight, finishes them in a scrambled order and detaches each batch's pixels, as the worker pool does. */
function createRegionExecutor(capacity: number, seen: ForwardRequest[]): ForwardExecutor {
  let calls = 0;
  return {
    workerCount: capacity,
    capacity,
    async run(batch, request) {
      seen.push(request);
      const result = computeRegionTaps(batch);
      structuredClone(batch.pixels.buffer, { transfer: [batch.pixels.buffer as ArrayBuffer] }); // a worker pool takes the batch's buffer
      await new Promise((resolve) => setTimeout(resolve, [7, 1, 4][calls++ % 3]));
      return result as never;
    },
    close: async () => undefined,
  };
}

function intersects(a: PixelRect, b: PixelRect): boolean {
  return a.xPx < b.xPx + b.widthPx && b.xPx < a.xPx + a.widthPx && a.yPx < b.yPx + b.heightPx && b.yPx < a.yPx + a.heightPx;
}

test('a model that looks at one region gives an occlusion map that is low exactly there, cells in placement order with batches finishing out of order', async () => {
  const requests: ForwardRequest[] = [];
  const regionProbe: OcclusionProbe = { executor: createRegionExecutor(3, requests), layer: 'conv5' };
  const input = new Float32Array(S * S * 3).fill(1);
  input[3] = 5; // channel 0 of pixel (1, 0): the strongest map is channel 0
  const unoccluded = await measureUnoccluded(regionProbe, input, S);
  assert.deepEqual([unoccluded.unit, unoccluded.y, unoccluded.x, unoccluded.activation], [0, 0, 1, 5]);
  assert.equal(unoccluded.topClass, 0);
  const placements = computeOccluderPlacements(S, 4, 4);
  const cells = await sweepOccluder({
    probe: regionProbe, input, sizePx: S, placements, fill: computeFillImage('mean', S, null),
    unit: 0, trueClass: 0, batchSize: 7,
  });
  assert.equal(cells.length, 36);
  assert.deepEqual(cells.map((c) => c.placement), placements, 'one cell per placement, in placement order');
  assert.deepEqual(requests[0], { reducer: 'taps', taps: ['conv5', 'logits'] });
  // Logits (4 x the region's mean of 1, and 0) become probabilities in float64.
  assert.ok(Math.abs(unoccluded.probs[0]! - 1 / (1 + Math.exp(-4))) < 1e-12, `p = ${unoccluded.probs[0]}`);
  for (const cell of cells) {
    const hit = intersects(cell.placement.rect, REGION);
    assert.equal(cell.trueProb! < unoccluded.probs[0]! - 1e-4, hit, `cell ${cell.placement.row},${cell.placement.col}`);
    if (!hit) assert.ok(Math.abs(cell.trueProb! - unoccluded.probs[0]!) < 1e-6);
    const covered = cell.placement.rect.widthPx * cell.placement.rect.heightPx;
    assert.ok(Math.abs(cell.featureSum - (unoccluded.unitSum - covered * 1 - (cell.placement.row === 0 && cell.placement.col === 0 ? 4 : 0))) < 1e-3);
  }
  // The 4 occluders wholly inside the region lower p(true class) too.
  const full = cells.filter((c) => c.placement.rect.xPx >= 8 && c.placement.rect.xPx < 16 && c.placement.rect.yPx >= 4 && c.placement.rect.yPx < 12);
  assert.equal(full.length, 4);
  assert.ok(full.every((c) => c.trueProb! < unoccluded.probs[0]!));
  assert.equal(input[3], 5, 'the input is left as it was');
});
