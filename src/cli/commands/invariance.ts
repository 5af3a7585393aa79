import type { Command } from 'commander';
import { expectInteger, expectNumber, invalidParameterError } from '../../errors.js';
import { expandRange, INVARIANCE_KINDS, type InvarianceKind } from '../../experiments/invariance-transforms.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import { runInvariancePipeline } from '../../../pipelines/experiments/invariance.js';
import type { CommandSpec } from '../command-spec.js';
import { addWorkersOption } from '../common-options.js';
import { parseWorkersOption } from '../../workers/workers-option.js';
import { addImageSelectionOptions, addForceOption, addModelSourceOptions, parseImageSelection, parseModelSourceOptions } from '../experiment-options.js';

const OPTION_OF: Record<InvarianceKind, string> = { translate: 'translate', scale: 'scale', rotate: 'rotate' };
const LIMITS: Record<InvarianceKind, [number, number]> = { translate: [-4096, 4096], scale: [0.01, 100], rotate: [-3600, 3600] };

/**
 * Parses START:STOP:STEP into its values.
 * @throws RangeError (usage error) naming the option and value.
 */
export function parseRangeOption(name: string, value: string, limits: [number, number]): number[] {
  const parts = value.split(':');
  if (parts.length !== 3) throw invalidParameterError(name, 'a range START:STOP:STEP', value);
  const [start, stop, step] = parts.map((p) => expectNumber(name, p, limits[0], limits[1])) as [number, number, number];
  if (!(step > 0) || stop < start) throw invalidParameterError(name, 'a range START:STOP:STEP with STEP > 0 and STOP >= START', value);
  return expandRange(start, stop, step);
}

/** `run-pipeline invariance` (paper Fig. 5). */
export const invarianceCommand: CommandSpec = {
  name: 'invariance',
  summary: 'invariance (Fig. 5): layer-1 and layer-7 feature distances and p(true class) under translation, scale and rotation',
  configure(command: Command) {
    addModelSourceOptions(command, true);
    addForceOption(command);
    addWorkersOption(command);
    addImageSelectionOptions(command, 5);
    command
      .option('--translate <range>', 'vertical shifts in input px, START:STOP:STEP (default: -60:60:10 scaled to the input size)')
      .option('--scale <range>', 'scale factors, START:STOP:STEP', '1:1.8:0.1')
      .option('--rotate <range>', 'clockwise rotations in degrees, START:STOP:STEP', '0:350:10')
      .option('--layers <names>', 'the two layers measured as the paper\'s layer 1 and layer 7, names, aliases or numbers (default: the first conv layer and the layer before the logits: conv1,fc7)')
      .option('--batch-size <n>', 'transformed copies per forward pass', '16')
      .option('--out <dir>', 'folder for measures.csv and the plots (default out/invariance/<run id>)');
  },
  async run(options) {
    const source = parseModelSourceOptions(options, true);
    const images = parseImageSelection(options);
    const batchSize = expectInteger('batchSize', options['batchSize'], 1, 4096);
    const amounts: Partial<Record<InvarianceKind, number[]>> = {}; // the rest: the defaults at the model's input size
    for (const kind of INVARIANCE_KINDS) {
      const value = options[OPTION_OF[kind]];
      if (typeof value === 'string') amounts[kind] = parseRangeOption(kind, value, LIMITS[kind]);
    }
    const db = openStore(resolveDbPath(source.dbPath));
    try {
      const result = await runInvariancePipeline({ db, ...source, images, amounts, batchSize, workers: parseWorkersOption(options), layers: typeof options['layers'] === 'string' ? options['layers'] : undefined, outDir: typeof options['out'] === 'string' ? options['out'] : undefined, force: options['force'] === true });
      process.stdout.write(`invariance run ${result.runId}: ${result.images.length} images, ${result.rows.length} transformed copies; plots and measures.csv in ${result.outDir}\n`);
    } finally {
      db.close();
    }
  },
};
