import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGroundTruth, parseIdToWnid, parseSynsetNames, parseValImageNumber, parseValSolutionCsv } from '../../src/data/label-files.js';

test('synset mapping and words.txt give names by wnid', () => {
  const names = parseSynsetNames('n01440764 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\n', 'm.txt');
  assert.equal(names.get('n01440764'), 'tench, Tinca tinca');
  assert.equal(parseSynsetNames('n00001740\tentity\r\n', 'words.txt').get('n00001740'), 'entity');
});

test('LOC_val_solution.csv maps image stems to the first box class', () => {
  const csv = 'ImageId,PredictionString\nILSVRC2012_val_00008726,n02119789 255 142 454 329 n02119789 44 21 322 295\nILSVRC2012_val_00000001,n01751748 1 2 3 4\n';
  const labels = parseValSolutionCsv(csv, 'LOC_val_solution.csv');
  assert.equal(labels.get('ILSVRC2012_val_00008726'), 'n02119789');
  assert.equal(labels.size, 2);
  assert.throws(() => parseValSolutionCsv('ImageId,PredictionString\nbroken line\n', '/d/LOC_val_solution.csv'),
    { name: 'UsageError', message: '/d/LOC_val_solution.csv:2: expected "ImageId,<wnid> <box>..." but found "broken line"' });
});

test('devkit ground truth with an id-to-wnid export', () => {
  assert.deepEqual(parseGroundTruth('490\n361\n171\n', 'gt.txt'), [490, 361, 171]);
  assert.throws(() => parseGroundTruth('3\nx\n', '/d/gt.txt'), { message: '/d/gt.txt:2: expected a positive ILSVRC2012_ID but found "x"' });
  const withIds = parseIdToWnid('1 n02119789 kit fox\n2 n02100735 English setter\n', 'meta.txt');
  assert.equal(withIds.get(2), 'n02100735');
  const bare = parseIdToWnid('n02119789\nn02100735\n', 'meta.txt');
  assert.equal(bare.get(1), 'n02119789');
  assert.throws(() => parseIdToWnid('1 kitfox\n', '/d/meta.txt'), { message: '/d/meta.txt:1: expected "<ILSVRC2012_ID> <wnid>" or "<wnid>" but found "1 kitfox"' });
  assert.equal(parseValImageNumber('ILSVRC2012_val_00000042.JPEG'), 42);
  assert.equal(parseValImageNumber('other.jpg'), null);
});
