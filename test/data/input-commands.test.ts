import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { sampleDataCommand } from '../../src/cli/commands/sample-data.js';
import { meanCommand } from '../../src/cli/commands/mean.js';
import { parseInputOptions } from '../../src/cli/input-options.js';

test('input options are validated once with messages naming the value', () => {
  assert.deepEqual(parseInputOptions({ decodeConcurrency: '3', crop: 'random' }), { decodeConcurrency: 3, strict: false, crop: 'random' });
  assert.equal(parseInputOptions({ decodeConcurrency: '1', tenCrop: true, strict: true }).crop, 'ten');
  assert.equal(parseInputOptions({ decodeConcurrency: '1' }).crop, 'centre');
  assert.throws(() => parseInputOptions({ decodeConcurrency: '0' }), { name: 'RangeError', message: 'Expected integer between 1 and 256 for decodeConcurrency but received "0"' });
  assert.throws(() => parseInputOptions({ decodeConcurrency: '2', crop: 'zoom' }), { message: 'Expected one of paper, random, center, centre for crop but received "zoom"' });
});

test('sample-data and mean refuse bad numbers before doing any work', async () => {
  const command = new Command();
  await assert.rejects(sampleDataCommand.run({ out: '/nonexistent/x', trainPerClass: '0', valPerClass: '5' }, command), {
    message: 'Expected integer between 1 and 10000 for trainPerClass but received "0"',
  });
  await assert.rejects(meanCommand.run({ split: 'train', sizePx: '8', model: 'zfnet' }, command), {
    message: 'Expected integer between 16 and 1024 for sizePx but received "8"',
  });
  await assert.rejects(meanCommand.run({ split: 'train', model: 'vgg' }, command), { name: 'RangeError' });
});
