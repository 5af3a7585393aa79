import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { computeFillImage, computeOccluderPlacements, type PixelRect } from '../../src/experiments/occluder.js';
import { measureUnoccluded, sweepOccluder, type ModelProbe } from '../../src/experiments/occlusion-sweep.js';

const S = 24;
/** The region the hand-set model looks at: x 8..15, y 4..11. */
const REGION: PixelRect = { xPx: 8, yPx: 4, widthPx: 8, heightPx: 8 };

/**
 * A hand-set model whose class-0 logit is 4 x the mean of channel 0 over
 * REGION (class 1's logit is 0), so its class probability depends on that
 * region only. Its "feature map" is the input itself.
 */
const regionProbe: ModelProbe = (batch) => tf.tidy(() => {
  const region = tf.slice(batch, [0, REGION.yPx, REGION.xPx, 0], [-1, REGION.heightPx, REGION.widthPx, 1]);
  const logit0 = tf.mul(tf.mean(region, [1, 2, 3]), 4);
  const logits = tf.stack([logit0, tf.zerosLike(logit0)], 1) as tf.Tensor2D;
  return { feature: tf.clone(batch), probs: tf.softmax(logits) };
});

function intersects(a: PixelRect, b: PixelRect): boolean {
  return a.xPx < b.xPx + b.widthPx && b.xPx < a.xPx + a.widthPx && a.yPx < b.yPx + b.heightPx && b.yPx < a.yPx + a.heightPx;
}

test('a model that looks at one region gives an occlusion map that is low exactly there', async () => {
  await tf.setBackend('cpu');
  const start = tf.memory().numTensors;
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
  assert.equal(tf.memory().numTensors, start);
});
