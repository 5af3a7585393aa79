import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyTransform, computeSourcePoint, expandRange, makeTransform } from '../../src/experiments/invariance-transforms.js';

/** One-channel S x S image with value y * S + x + 1 at (x, y). */
function ramp(S: number): Float32Array {
  return Float32Array.from({ length: S * S }, (_, i) => i + 1);
}

function transformed(S: number, kind: 'translate' | 'scale' | 'rotate', amount: number, input = ramp(S)): Float32Array {
  const out = new Float32Array(S * S);
  applyTransform(input, S, 1, makeTransform(kind, amount), out);
  return out;
}

test('vertical translation moves rows down by dy and fills with 0 (the mean)', () => {
  const S = 6;
  const out = transformed(S, 'translate', 2);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) assert.equal(out[y * S + x], y < 2 ? 0 : (y - 2) * S + x + 1);
  }
  const up = transformed(S, 'translate', -1);
  assert.equal(up[0], S + 1);
  assert.equal(up[(S - 1) * S], 0);
});

test('rotation by 90 degrees turns the image clockwise; by 360 it is the identity', () => {
  const S = 5;
  const input = ramp(S);
  const out = transformed(S, 'rotate', 90, input);
  // Clockwise: output (x, y) shows input (y, S - 1 - x).
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) assert.ok(Math.abs(out[y * S + x]! - input[(S - 1 - x) * S + y]!) < 1e-4, `(${x}, ${y})`);
  }
  const full = transformed(S, 'rotate', 360, input);
  full.forEach((v, i) => assert.ok(Math.abs(v - input[i]!) < 1e-3));
});

test('a synthetic square grows about the centre under scale and keeps its centre', () => {
  const S = 20;
  const input = new Float32Array(S * S);
  for (let y = 8; y < 12; y++) for (let x = 8; x < 12; x++) input[y * S + x] = 1; // 4 px square at the centre
  const out = transformed(S, 'scale', 2, input);
  const lit = [...out.keys()].filter((i) => out[i]! > 0.5);
  const xs = lit.map((i) => i % S);
  const ys = lit.map((i) => Math.floor(i / S));
  assert.deepEqual([Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)], [6, 13, 6, 13]); // 8 px square, same centre
  assert.deepEqual(computeSourcePoint(makeTransform('scale', 2), S, 10, 10), [10, 10]);
  assert.deepEqual(Array.from(transformed(S, 'scale', 1, input)), Array.from(input));
});

test('ranges expand inclusively without float drift', () => {
  assert.deepEqual(expandRange(1, 1.8, 0.1), [1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8]);
  assert.deepEqual(expandRange(-60, 60, 30), [-60, -30, 0, 30, 60]);
  assert.deepEqual(expandRange(0, 350, 50).length, 8);
  assert.throws(() => expandRange(0, 10, 0), { message: 'Expected a range start:stop:step with step > 0 and stop >= start but received 0:10:0' });
});
