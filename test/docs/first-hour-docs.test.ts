/**
 * The docs say what the pages say (issue 22): the statistics' legend and the
 * paragraph on reading projections are the words of src/vocabulary.ts, and
 * the README's commands start the CLI the fast way in the checkout.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { describeUnitStatistics, READING_PROJECTIONS } from '../../src/vocabulary.js';

const read = (file: string) => readFileSync(fileURLToPath(new URL(`../../../${file}`, import.meta.url)), 'utf8');

test('docs/readme/top-activations.md explains every unit statistic in the words the pages use', () => {
  const doc = read('docs/readme/top-activations.md');
  for (const { label, legend } of Object.values(describeUnitStatistics(9))) assert.ok(doc.includes(`| ${label} | ${legend} |`), label);
});

test('docs/readme/deconvnet.md quotes the paragraph on reading projections the pages open with', () => {
  const quoted = /### How to read a projection\n\n[^\n]*\n[^\n]*\n\n((?:> [^\n]*\n)+)/.exec(read('docs/readme/deconvnet.md'));
  assert.ok(quoted, 'a quoted paragraph under "How to read a projection"');
  assert.equal(quoted[1]!.split('\n').map((l) => l.slice(2)).join(' ').trim(), READING_PROJECTIONS);
});

test('the README starts the CLI with ./run-pipeline in the checkout; npx only where it says why it is slower', () => {
  const readme = read('README.md');
  const npx = readme.split('\n').filter((line) => line.includes('npx run-pipeline'));
  assert.deepEqual(npx, ['once (`npx run-pipeline` reaches the same file, but its first call installs']);
  assert.ok(readme.includes('`./run-pipeline serve --db db/zfnet.db`'));
});
