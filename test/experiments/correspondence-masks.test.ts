import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clipRect, mapImageRectToInput, parseMaskFile } from '../../src/experiments/correspondence-masks.js';

test('mask files parse into boxes per part and name their errors', () => {
  const file = parseMaskFile(JSON.stringify({ images: [
    { path: 'a.jpg', parts: { eye: [1, 2, 3, 4], nose: [5, 6, 7, 8] } },
    { imageId: 7, parts: { nose: [0, 0, 2, 2], eye: [1, 1, 1, 1] } },
  ] }), 'm.json');
  assert.equal(file.boxSpace, 'image');
  assert.deepEqual(file.partNames, ['eye', 'nose']);
  assert.deepEqual(file.images[0]!.parts.get('nose'), { xPx: 5, yPx: 6, widthPx: 7, heightPx: 8 });
  assert.equal(file.images[1]!.imageId, 7);
  const bad = (json: unknown) => () => parseMaskFile(JSON.stringify(json), 'm.json');
  assert.throws(bad({ images: [{ path: 'a', parts: { eye: [0, 0, 1, 1] } }, { path: 'b', parts: { nose: [0, 0, 1, 1] } }] }),
    { message: 'Mask file m.json: images[1] has parts nose but images[0] has eye; every image must name the same parts' });
  assert.throws(bad({ images: [{ path: 'a', parts: { eye: [0, 0, 0, 1] } }, { path: 'b', parts: { eye: [0, 0, 1, 1] } }] }),
    { message: 'Mask file m.json: images[0].parts["eye"] must be [x, y, width, height] with width and height >= 1, got [0,0,0,1]' });
  assert.throws(bad({ images: [{ path: 'a', imageId: 3, parts: {} }, {}] }), { message: 'Mask file m.json: images[0] needs exactly one of "path" or "imageId"' });
  assert.throws(() => parseMaskFile('{', 'm.json'), /^RangeError: Mask file m.json: not JSON/);
});

test('image boxes map through the shorter-side resize and the centre crops', () => {
  // 400 x 200 image, square 256, input 224: scale 1.28, the square starts 128 px in, the crop 16 px further.
  assert.deepEqual(mapImageRectToInput({ xPx: 200 - 25, yPx: 100 - 25, widthPx: 50, heightPx: 50 }, 400, 200, 256, 224),
    { xPx: 80, yPx: 80, widthPx: 64, heightPx: 64 }); // centred box stays centred: 112 - 32
  assert.equal(mapImageRectToInput({ xPx: 0, yPx: 0, widthPx: 50, heightPx: 50 }, 400, 200, 256, 224), null); // left of the square
  assert.deepEqual(clipRect({ xPx: -2, yPx: 5, widthPx: 6, heightPx: 100 }, 10), { xPx: 0, yPx: 5, widthPx: 4, heightPx: 5 });
});
