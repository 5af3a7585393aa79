import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderIndexPage, renderUnitPage, type UnitPageEntry } from '../../src/mosaic/html-pages.js';
import { READING_PROJECTIONS } from '../../src/vocabulary.js';

const entry = (rank: number): UnitPageEntry => ({
  rank, value: 2 - rank / 10, recomputed: 2 - rank / 10, imageId: 7 + rank, path: `/data/val/a${rank}.png`, className: 'vertical stripes (n90000002)',
  y: 0, x: 0, box: { top: 0, left: 0, heightPx: 112, widthPx: 112 }, npy: `units/unit-0001-rank${rank}.npy`,
});

test('a mosaics unit page opens with how to read projections and the layer\'s field, then ranks 1-9 with class names and ids', () => {
  const html = renderUnitPage({
    runId: 'r', layer: 'conv5', unit: 1, method: 'deconvnet', image: 'units/unit-0001.png', entries: [0, 1, 2].map(entry), notes: [],
    fieldNote: 'conv5 sees 139 px of a 112 px input, more than the whole image: each patch is the whole input, clipped at its border.', stamp: 's',
  });
  assert.ok(html.includes(`<p class="reading" id="reading-projections">${READING_PROJECTIONS} conv5 sees 139 px of a 112 px input`));
  assert.ok(html.indexOf('id="reading-projections"') < html.indexOf('<img src="units/unit-0001.png"'));
  assert.deepEqual([...html.matchAll(/<tr><td>(\d+)<\/td>/g)].map((m) => Number(m[1])), [1, 2, 3]);
  assert.ok(html.includes('<td>vertical stripes (n90000002)</td>'));
  // The file names keep the stored index: they are identifiers.
  assert.ok(html.includes('<a href="units/unit-0001-rank0.npy">npy</a>'));
});

test('the mosaics index opens with how to read projections and shows the first layer\'s filters', () => {
  const html = renderIndexPage('r', [
    { layer: 'conv1', fieldNote: null, sheets: ['conv1/sheet-01.png'], filters: 'conv1/filters.png', units: [{ unit: 0, page: 'conv1/unit-0000.html' }] },
    { layer: 'conv4', fieldNote: 'conv4 sees 107 px of a 112 px input, nearly the whole image: patches away from the border are most of it.', sheets: [], filters: null, units: [] },
  ], ['a note']);
  assert.ok(html.includes(`<p class="reading" id="reading-projections">${READING_PROJECTIONS} conv4 sees 107 px of a 112 px input, nearly the whole image`));
  assert.ok(html.indexOf('id="reading-projections"') < html.indexOf('<h2 id="conv1">'));
  assert.ok(html.includes('<img src="conv1/filters.png" alt="conv1 filters">'));
});
