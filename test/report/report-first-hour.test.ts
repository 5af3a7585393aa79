import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeOcclusionImage } from '../../src/report/report-page.js';
import type { OcclusionSummary } from '../../src/store/occlusion-summaries.js';
import { describeExplorerCommand, describeFieldAgainstInput, displayRank, formatClass } from '../../src/vocabulary.js';

const summary: OcclusionSummary = {
  imageKey: '200000003', imageId: 200000003, path: '/data/val/x.JPEG', label: 1, className: 'vertical stripes', classKey: 'n90000002',
  trueProb: 0.934, minTrueProb: 0.118, layer: 'conv5', unit: 12,
};

test('an occlusion row is labelled with the image, its class by name and id, and p(true class) unoccluded and at its lowest', () => {
  assert.equal(describeOcclusionImage('200000003', summary),
    'image 200000003, class vertical stripes (n90000002): p(true class) 0.93 unoccluded, 0.12 at the most damaging occluder position; strongest feature map: conv5 unit 12');
  assert.equal(describeOcclusionImage('photo', { ...summary, imageId: null, path: '/tmp/photo.jpg', label: null, className: null, classKey: null, trueProb: null, minTrueProb: null }),
    'photo.jpg, class unknown: p(true class) unknown; strongest feature map: conv5 unit 12');
  assert.equal(describeOcclusionImage('200000004', undefined), 'image 200000004');
});

test('the words every view shares: classes with ids, ranks from 1, the explorer command, fields against the input', () => {
  assert.equal(formatClass('vertical stripes', 'n90000002'), 'vertical stripes (n90000002)');
  assert.equal(formatClass(null, 'class00'), 'class00');
  assert.equal(formatClass('class00', 'class00'), 'class00');
  assert.equal(displayRank(0), 1);
  assert.equal(describeExplorerCommand('/work/db/zfnet.db', '/work'), 'run-pipeline serve --db db/zfnet.db');
  assert.equal(describeExplorerCommand('/elsewhere/my store.db', '/work', './run-pipeline'), './run-pipeline serve --db \'/elsewhere/my store.db\'');
  assert.equal(describeFieldAgainstInput('conv3', 75, 112), null);
  assert.equal(describeFieldAgainstInput('conv4', 107, 112), 'conv4 sees 107 px of a 112 px input, nearly the whole image: patches away from the border are most of it.');
  assert.equal(describeFieldAgainstInput('conv5', 139, 112), 'conv5 sees 139 px of a 112 px input, more than the whole image: each patch is the whole input, clipped at its border.');
});
