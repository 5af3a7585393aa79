import type { Command } from 'commander';
import { resolveDbPath, openStore } from '../../store/open-store.js';
import { expectChoice, expectInteger } from '../../errors.js';
import { ARCHITECTURE_NAMES, buildModelConfig } from '../../model/architectures.js';
import { runMeanPipeline } from '../../../pipelines/shared/mean.js';
import type { CommandSpec } from '../command-spec.js';
import { addDataOption, addDbOption } from '../common-options.js';
import { addDecodeOptions, parseInputOptions } from '../input-options.js';

/**
 * `run-pipeline mean`: the per-pixel mean image of a split (one streaming,
 * resumable pass), stored for every later pass and written as a PNG.
 */
export const meanCommand: CommandSpec = {
  name: 'mean',
  summary: 'compute the per-pixel mean image of a split (stored in the store, PNG under out/mean)',
  configure(command: Command) {
    command
      .option('--split <name>', 'split to average', 'train')
      .option('--model <name>', `architecture whose input size sets the square (R = round(S * 256 / 224)): ${ARCHITECTURE_NAMES.join(', ')}`, 'zfnet-small')
      .option('--size-px <n>', 'model input size S instead of --model')
      .option('--force', 'recompute even when the mean exists', false);
    addDataOption(command);
    addDbOption(command);
    addDecodeOptions(command);
  },
  async run(options) {
    const split = String(options['split']);
    const inputSizePx = options['sizePx'] !== undefined
      ? expectInteger('sizePx', options['sizePx'], 16, 1024)
      : buildModelConfig(expectChoice('model', options['model'], ARCHITECTURE_NAMES)).inputSizePx;
    const input = parseInputOptions(options);
    const db = openStore(resolveDbPath(options['db'] as string | undefined));
    try {
      const result = await runMeanPipeline({
        db, data: options['data'] as string | undefined, split, inputSizePx,
        decodeConcurrency: input.decodeConcurrency, strict: input.strict, force: options['force'] === true,
      });
      process.stdout.write(`mean of ${split} at ${result.sizePx} px over ${result.imageCount} images (${result.skipped} skipped): stored, PNG ${result.pngPath}\n`);
    } finally {
      db.close();
    }
  },
};
