/** Test helper: rows of two runs compared field by field, numbers with a tolerance. */
import assert from 'node:assert/strict';

export type Row = Record<string, unknown>;

/**
 * Same rows with the same fields; strings, nulls and integer pairs identical
 * (ids, units, cells, classes, counts), other numbers within 1e-5 of the
 * field's largest magnitude over the expected rows.
 */
export function assertRowsClose(got: readonly Row[], expected: readonly Row[], what: string): void {
  assert.equal(got.length, expected.length, `${what}: row count`);
  assert.ok(expected.length > 0, `${what}: has rows`);
  const scales = new Map<string, number>();
  for (const row of expected) {
    for (const [key, value] of Object.entries(row)) if (typeof value === 'number') scales.set(key, Math.max(scales.get(key) ?? 0, Math.abs(value)));
  }
  got.forEach((row, i) => {
    assert.deepEqual(Object.keys(row), Object.keys(expected[i]!), `${what} row ${i}: fields`);
    for (const [key, want] of Object.entries(expected[i]!)) {
      const have = row[key];
      if (typeof want === 'number' && typeof have === 'number' && !(Number.isInteger(want) && Number.isInteger(have))) {
        assert.ok(Math.abs(have - want) <= 1e-5 * scales.get(key)!, `${what} row ${i} ${key}: ${have} vs ${want}`);
      } else {
        assert.equal(have, want, `${what} row ${i} ${key}`);
      }
    }
  });
}
