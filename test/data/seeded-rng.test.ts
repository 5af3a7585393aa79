import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng, deriveSeed, drawPermutation } from '../../src/data/seeded-rng.js';

test('the generator is deterministic, uniform-ish and in [0, 1)', () => {
  const a = createRng(42); const b = createRng(42);
  const xs = Array.from({ length: 10000 }, () => a.next());
  assert.deepEqual(xs.slice(0, 50), Array.from({ length: 50 }, () => b.next()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
});

test('derived seeds differ per part and per order of parts, including ids above 2^32', () => {
  const seeds = new Set([deriveSeed(1, 0, 5), deriveSeed(1, 5, 0), deriveSeed(1, 1, 5), deriveSeed(2, 0, 5), deriveSeed(1, 0, 5 + 2 ** 32), deriveSeed(1, 0)]);
  assert.equal(seeds.size, 6);
  assert.equal(deriveSeed(7, 3, 100000001), deriveSeed(7, 3, 100000001));
});

test('a drawn permutation holds every index once', () => {
  const p = drawPermutation(1000, createRng(3));
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assert.notDeepEqual([...p], Array.from({ length: 1000 }, (_, i) => i));
});
