import type { Command } from 'commander';
import { DEFAULT_SAMPLE_DIR, ensureSampleData, isSampleDataComplete, writeSampleData } from '../../data/sample-data.js';
import { SAMPLE_PATTERNS } from '../../data/sample-patterns.js';
import { expectInteger } from '../../errors.js';
import { createProgress } from '../../progress.js';
import type { CommandSpec } from '../command-spec.js';

/**
 * `run-pipeline sample-data`: writes the built-in procedural dataset in the
 * ILSVRC2012 layout (what every --data command uses when --data is omitted).
 */
export const sampleDataCommand: CommandSpec = {
  name: 'sample-data',
  summary: `write the built-in sample dataset (${SAMPLE_PATTERNS.length} procedural classes, ILSVRC2012 layout) used when --data is omitted`,
  configure(command: Command) {
    command
      .option('--out <dir>', 'folder to write', DEFAULT_SAMPLE_DIR)
      .option('--train-per-class <n>', 'training images per class', '120')
      .option('--val-per-class <n>', 'validation images per class', '25')
      .option('--force', 'rewrite the folder even when a complete sample dataset is there', false);
  },
  async run(options) {
    const trainPerClass = expectInteger('trainPerClass', options['trainPerClass'], 1, 10000);
    const valPerClass = expectInteger('valPerClass', options['valPerClass'], 1, 10000);
    const out = String(options['out']);
    const total = (trainPerClass + valPerClass) * SAMPLE_PATTERNS.length;
    const progress = createProgress({ label: 'sample-data', total });
    const write = options['force'] === true || !isSampleDataComplete(out) ? writeSampleData : ensureSampleData;
    const result = await write(out, { trainPerClass, valPerClass, onImage: () => progress.tick(1) });
    if (result.created) progress.done();
    process.stdout.write(`${result.created ? 'wrote' : 'already there (--force rewrites)'}: ${result.dir}: ${result.classes} classes, ${result.trainImages} train and ${result.valImages} val images\n`);
  },
};
