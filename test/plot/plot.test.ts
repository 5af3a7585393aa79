import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { categoricalMapSvg, heatmapRange, heatmapSvg } from '../../src/plot/heatmap.js';
import { lineChartSvg } from '../../src/plot/line-chart.js';
import { niceTicks } from '../../src/plot/svg-text.js';
import { viridis } from '../../src/plot/colormap.js';

test('nice ticks cover the range with round steps', () => {
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(3, 47, 4), [10, 20, 30, 40]);
});

test('viridis runs from dark purple to yellow and clamps', () => {
  assert.deepEqual(viridis(0), [68, 1, 84]);
  assert.deepEqual(viridis(1), [253, 231, 37]);
  assert.deepEqual(viridis(7), viridis(1));
});

test('heat map range ignores non-finite values', () => {
  assert.deepEqual(heatmapRange([1, NaN, 3, Infinity]), [1, 3]);
  assert.deepEqual(heatmapRange([2, 2]), [2, 3]);
});

test('charts render to PNGs of the declared size', async () => {
  const line = lineChartSvg({ title: 'loss & error <train>', xLabel: 'epoch', yLabel: 'loss', series: [{ name: 'loss', points: [[1, 2.3], [2, 1.1], [3, NaN], [4, 0.7]] }] });
  assert.match(line, /loss &amp; error &lt;train&gt;/);
  const meta = await sharp(Buffer.from(line)).png().toBuffer().then((b) => sharp(b).metadata());
  assert.equal(meta.width, 720);
  assert.equal(meta.height, 400);
  const heat = heatmapSvg({ title: 'p(true class)', values: [0, 0.5, 1, 0.25], rows: 2, cols: 2, sizePx: 100 });
  const heatMeta = await sharp(Buffer.from(heat)).metadata();
  assert.equal(heatMeta.width, 250);
  const cat = categoricalMapSvg({ title: 'top class', categories: [1, 1, 4, 1], rows: 2, cols: 2, names: new Map([[1, 'tabby'], [4, 'grating']]) });
  assert.match(cat, /tabby/);
  assert.match(cat, /grating/);
});
