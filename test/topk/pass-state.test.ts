import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng, type Rng } from '../../src/data/seeded-rng.js';
import { accumulateBatch, createPassState, mergePassStates, type BatchImages, type LayerShape, type PassState } from '../../src/topk/pass-state.js';
import type { LayerBatchReduction } from '../../src/topk/reduce-conv-tap.js';
import { summarizeUnit } from '../../src/topk/unit-stats.js';
import { readUnitEntries } from '../../src/topk/unit-top-k.js';

const SHAPES: LayerShape[] = [{ layer: 1, name: 'conv1', numUnits: 4, mapHeight: 6, mapWidth: 5 }, { layer: 3, name: 'conv3', numUnits: 3, mapHeight: 2, mapWidth: 2 }];

interface FakeImage { id: number; label: number; reductions: { max: number[]; argmax: number[]; mean: number[] }[] }

function drawImages(rng: Rng, count: number): FakeImage[] {
  const f32 = new Float32Array(1);
  return Array.from({ length: count }, (_, i) => ({
    id: 200000000 + i,
    label: rng.nextInt(3),
    reductions: SHAPES.map((s) => ({
      max: Array.from({ length: s.numUnits }, () => { f32[0] = rng.nextInt(8) * 0.37; return f32[0]!; }),
      argmax: Array.from({ length: s.numUnits }, () => rng.nextInt(s.mapHeight * s.mapWidth)),
      mean: Array.from({ length: s.numUnits }, () => { f32[0] = rng.next(); return f32[0]!; }),
    })),
  }));
}

function toBatch(images: FakeImage[]): { batch: BatchImages; reductions: LayerBatchReduction[] } {
  const batch = { imageIds: images.map((i) => i.id), labels: images.map((i) => i.label), paths: images.map((i) => `val/${i.id}.png`) };
  const reductions = SHAPES.map((s, li) => ({
    ...s, numImages: images.length,
    maxValues: Float32Array.from(images.flatMap((i) => i.reductions[li]!.max)),
    argmaxIndex: Int32Array.from(images.flatMap((i) => i.reductions[li]!.argmax)),
    meanValues: Float32Array.from(images.flatMap((i) => i.reductions[li]!.mean)),
  }));
  return { batch, reductions };
}

function runBatches(images: FakeImage[], batchSize: number): PassState {
  const state = createPassState(SHAPES, 9);
  for (let i = 0; i < images.length; i += batchSize) {
    const { batch, reductions } = toBatch(images.slice(i, i + batchSize));
    accumulateBatch(state, batch, reductions);
  }
  return state;
}

const snapshot = (state: PassState): unknown => state.layers.map((l) => Array.from({ length: l.numUnits }, (_, u) => ({ top: readUnitEntries(l.topk, u), stats: summarizeUnit(l.stats, u) })));

test('entries carry (y, x) from the row-major index, and the top-9 matches sort-then-slice', () => {
  const images = drawImages(createRng(3), 50);
  const state = runBatches(images, 7);
  const unit = 2;
  const expected = images
    .map((img) => ({ value: img.reductions[0]!.max[unit]!, imageId: img.id, y: Math.floor(img.reductions[0]!.argmax[unit]! / 5), x: img.reductions[0]!.argmax[unit]! % 5, label: img.label, path: `val/${img.id}.png` }))
    .sort((a, b) => b.value - a.value || a.imageId - b.imageId).slice(0, 9);
  assert.deepEqual(readUnitEntries(state.layers[0]!.topk, unit), expected);
  assert.equal(state.layers[1]!.stats.imagesSeen, 50);
});

test('batch size does not matter, and shards merge to one pass', () => {
  for (let seed = 1; seed <= 10; seed++) {
    const rng = createRng(seed);
    const images = drawImages(rng, 60);
    const whole = runBatches(images, 8);
    assert.deepEqual(snapshot(runBatches(images, 5)), snapshot(whole));
    const shards = [0, 1, 2].map((s) => runBatches(images.filter((img) => img.id % 3 === s), 4));
    mergePassStates(shards[1]!, shards[0]!);
    mergePassStates(shards[1]!, shards[2]!);
    assert.deepEqual(snapshot(shards[1]!), snapshot(whole), `seed ${seed}`);
  }
});

test('non-finite activations and mismatched reductions are refused with exact messages', () => {
  const { batch, reductions } = toBatch(drawImages(createRng(1), 2));
  reductions[1]!.maxValues[4] = Number.NaN;
  assert.throws(() => accumulateBatch(createPassState(SHAPES, 9), batch, reductions), {
    name: 'UsageError',
    message: 'conv3 unit 1 is NaN on image 200000001 (val/200000001.png): the model produces non-finite activations; check the checkpoint',
  });
  assert.throws(() => accumulateBatch(createPassState(SHAPES, 9), batch, reductions.slice(0, 1)), {
    name: 'RangeError', message: 'Expected a reduction of conv3 [2, 2, 2, 3] but received none',
  });
  assert.throws(() => mergePassStates(createPassState(SHAPES, 9), createPassState(SHAPES.slice(1), 9)), {
    message: 'Cannot merge top-9 of conv3 3x2x2 into top-9 of conv1 4x6x5, conv3 3x2x2',
  });
});
