import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

/** pipelines/ in the source tree (this file runs from <dist>/test/pipelines). */
const PIPELINES_DIR = fileURLToPath(new URL('../../../pipelines/', import.meta.url));

test('no SQL in pipelines/: statements live in src/store (and the data index modules)', () => {
  const offenders = readdirSync(PIPELINES_DIR).filter((f) => f.endsWith('.ts'))
    .flatMap((f) => readFileSync(PIPELINES_DIR + f, 'utf8').split('\n').map((line, i) => ({ at: `pipelines/${f}:${i + 1}`, line })))
    .filter(({ line }) => /\.prepare\(|\.exec\(\s*['`"]\s*(SELECT|INSERT|UPDATE|DELETE|CREATE)/i.test(line))
    .map(({ at }) => at);
  assert.deepEqual(offenders, []);
});
