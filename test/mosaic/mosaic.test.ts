import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activationsAgree, checkStoredActivation } from '../../src/deconv/check-activation.js';
import { cropBox, stretchSymmetric } from '../../src/mosaic/display-scaling.js';
import { drawUnitSheet } from '../../src/mosaic/draw-sheet.js';
import { makeEntryTiles } from '../../src/mosaic/entry-tiles.js';
import { chooseCellPx, layoutSheet, pageUnits, placePatchInCell } from '../../src/mosaic/sheet-layout.js';
import { parseUnitSelection, resolveUnits } from '../../src/mosaic/unit-selection.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { computeGeometry } from '../../src/model/geometry.js';

const receptiveFields = (model: string): Record<string, [number, number]> =>
  Object.fromEntries(computeGeometry(buildModelConfig(model)).filter((g) => g.receptiveFieldPx !== null).map((g) => [g.name, [g.receptiveFieldPx!, g.jumpPx!]]));

test('receptive fields of zfnet and alexnet: zfnet-paper.md and the single-tower AlexNet by hand', () => {
  const zf = receptiveFields('zfnet');
  assert.deepEqual([zf['conv1'], zf['pool1'], zf['conv2'], zf['pool2'], zf['conv3'], zf['conv4'], zf['conv5'], zf['pool5']],
    [[7, 2], [11, 4], [27, 8], [43, 16], [75, 16], [107, 16], [139, 16], [171, 32]]);
  // 11x11/4; pool 3/2 adds 2*4; 5x5/1 adds 4*8; pool adds 2*8; each 3x3 adds 2*16; pool5 adds 2*16
  const alex = receptiveFields('alexnet');
  assert.deepEqual([alex['conv1'], alex['pool1'], alex['conv2'], alex['pool2'], alex['conv3'], alex['conv4'], alex['conv5'], alex['pool5']],
    [[11, 4], [19, 8], [51, 8], [67, 16], [99, 16], [131, 16], [163, 16], [195, 32]]);
});

test('border entries are clipped to the image and placed on the clipped side of their cell', () => {
  const conv2 = computeGeometry(buildModelConfig('zfnet')).find((g) => g.name === 'conv2')!;
  const sizePx = 224;
  const projection = new Float32Array(sizePx * sizePx * 3).map((_, i) => (i % 7) - 3);
  const display = new Uint8Array(sizePx * sizePx * 3).map((_, i) => i % 251);
  // conv2 cell (0, 25): rows from -1 (offset -1 = conv1's pad), cols 199..225
  const tiles = makeEntryTiles(conv2, 0, 25, sizePx, projection, display, 54);
  assert.deepEqual(tiles.box, { top: 0, left: 199, heightPx: 26, widthPx: 25 });
  assert.deepEqual([tiles.projection.top, tiles.projection.left, tiles.projection.heightPx, tiles.projection.widthPx], [2, 0, 52, 50]);
  assert.equal(tiles.projectionValues.length, 26 * 25 * 3);
  assert.equal(tiles.projectionValues[0], projection[199 * 3]);
  assert.deepEqual(Array.from(tiles.patch.image.pixels.subarray(0, 3)), Array.from(display.subarray(199 * 3, 199 * 3 + 3)));
  // The same tiles from a window of the projection that holds the box (what the onnx engine returns) instead of the full frame.
  const frame = { top: 0, left: 180, heightPx: 30, widthPx: 44 };
  const fromWindow = makeEntryTiles(conv2, 0, 25, sizePx, { box: frame, values: cropBox(projection, sizePx, 3, frame) }, display, 54);
  assert.deepEqual(fromWindow, tiles);
  const short = { top: 0, left: 200, heightPx: 30, widthPx: 24 };
  assert.throws(() => makeEntryTiles(conv2, 0, 25, sizePx, { box: short, values: cropBox(projection, sizePx, 3, short) }, display, 54),
    { message: 'Box 26x25 at (0, 199) leaves the 30x24 frame at (0, 200)' });
  assert.deepEqual(placePatchInCell(27, 54, { heightPx: 27, widthPx: 27 }, { top: 0, left: 0 }), { scale: 2, top: 0, left: 0, heightPx: 54, widthPx: 54 });
});

test('sheets have the expected size and layout: two 3x3 grids per unit, units in rows, paged', () => {
  const layout = layoutSheet({ cellPx: 10, entriesPerUnit: 9, unitCount: 5, columns: 2, gapPx: 8, labelPx: 16 });
  // grid 3*10 + 2 = 32; block 2*32 + 4 = 68 wide, 16 + 32 = 48 high; 2 columns, 3 rows
  assert.deepEqual([layout.blockWidthPx, layout.blockHeightPx, layout.widthPx, layout.heightPx], [68, 48, 8 + 2 * 76, 8 + 3 * 56]);
  const block = layout.blocks[3]!;
  assert.deepEqual([block.left, block.top], [8 + 76, 8 + 56]);
  assert.deepEqual(block.projectionCells[4], { left: block.left + 11, top: block.top + 16 + 11 });
  assert.deepEqual(block.imageCells[0], { left: block.left + 36, top: block.top + 16 });
  assert.deepEqual(pageUnits([0, 1, 2, 3, 4], 2), [[0, 1], [2, 3], [4]]);
  assert.equal(chooseCellPx(7, 224), 48);
  assert.equal(chooseCellPx(139, 224), 139);
  const drawn = drawUnitSheet([{ label: '0', projections: [], patches: [] }], 10, 9, 2);
  assert.deepEqual([drawn.canvas.widthPx, drawn.canvas.heightPx], [8 + 76, 8 + 56]);
  assert.throws(() => layoutSheet({ cellPx: 0, entriesPerUnit: 9, unitCount: 1, columns: 1 }), { message: 'Expected positive integer for cellPx but received 0' });
});

test('display scaling is a symmetric stretch per projection: 0 is grey, the largest |value| is 0 or 255', () => {
  assert.deepEqual(Array.from(stretchSymmetric([0, 2, -4, 4])), [128, 192, 1, 255]);
  assert.deepEqual(Array.from(stretchSymmetric([0, 0])), [128, 128]);
  assert.deepEqual(Array.from(cropBox(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), 3, 1, { top: 1, left: 1, heightPx: 2, widthPx: 2 })), [5, 6, 8, 9]);
});

test('unit selections: all, lists, ranges and seeded random draws', () => {
  assert.deepEqual(resolveUnits(parseUnitSelection('all'), 4, 'conv1', 1), [0, 1, 2, 3]);
  assert.deepEqual(resolveUnits(parseUnitSelection('0-2,5'), 8, 'conv1', 1), [0, 1, 2, 5]);
  const drawn = resolveUnits(parseUnitSelection('random:3'), 10, 'conv1', 7);
  assert.equal(new Set(drawn).size, 3);
  assert.deepEqual(resolveUnits(parseUnitSelection('random:3'), 10, 'conv1', 7), drawn);
  assert.throws(() => parseUnitSelection('some'), { message: 'Expected all, a list like 0-15 or 3,7,9, or random:N for units but received "some"' });
  assert.throws(() => resolveUnits(parseUnitSelection('0-9'), 8, 'conv1', 1), { message: 'Expected units between 0 and 7 of conv1 for units but received 8' });
});

test('the stored-value check accepts relative error up to 1e-3 and names run, layer, unit and image otherwise', () => {
  assert.ok(activationsAgree(100, 100.09));
  assert.ok(!activationsAgree(100, 100.2));
  assert.ok(activationsAgree(0, 1e-7));
  const stored = { runId: 'top-1', layer: 'conv3', unit: 17, imageId: 200000005, imageName: 'val/a.png', value: 2 };
  assert.doesNotThrow(() => checkStoredActivation(stored, 2.001));
  assert.throws(() => checkStoredActivation(stored, 3), {
    name: 'UsageError',
    message: 'Run top-1, conv3 unit 17, image 200000005 (val/a.png): stored activation 2 but the projection\'s forward pass gives 3 (relative tolerance 0.001); the checkpoint or the image data changed since that run',
  });
});
