import type { Command } from 'commander';
import { OCCLUDER_FILLS } from '../../experiments/occluder.js';
import { expectChoice, expectInteger } from '../../errors.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import { runOcclusionPipeline } from '../../../pipelines/experiments/occlusion.js';
import type { CommandSpec } from '../command-spec.js';
import { addWorkersOption } from '../common-options.js';
import { parseWorkersOption } from '../../workers/workers-option.js';
import { addImageSelectionOptions, addForceOption, addModelSourceOptions, parseImageSelection, parseModelSourceOptions } from '../experiment-options.js';

/**
 * `run-pipeline occlusion` (paper Fig. 7): occlusion sensitivity maps of a
 * model on a few images.
 */
export const occlusionCommand: CommandSpec = {
  name: 'occlusion',
  summary: 'occlusion sensitivity (Fig. 7): slide a square over images; maps of the strongest conv5 map, p(true class) and the top class',
  configure(command: Command) {
    addModelSourceOptions(command, true);
    addForceOption(command);
    addWorkersOption(command);
    addImageSelectionOptions(command, 1);
    command
      .option('--size <px>', 'occluder side in input pixels (default: 3/14 of the input, 48 px at 224)')
      .option('--stride <px>', 'occluder step; the map has ceil(S / stride) cells a side (default: S / 14, 16 px at 224)')
      .option('--fill <mode>', 'occluder colour: mean (the mean image: no signal), grey (128), zero (black)', 'mean')
      .option('--layer <name>', 'feature map layer watched: a name, alias or number of `info` (default: the last conv layer: conv5, features.10, layer4.1, ...)')
      .option('--batch-size <n>', 'occluded copies per forward pass', '32')
      .option('--out <dir>', 'folder for the PNGs, cells.csv and summary.json (default out/occlusion/<run id>)');
  },
  async run(options) {
    const source = parseModelSourceOptions(options, true);
    const images = parseImageSelection(options);
    const fill = expectChoice('fill', options['fill'], OCCLUDER_FILLS);
    const batchSize = expectInteger('batchSize', options['batchSize'], 1, 4096);
    const sizePx = options['size'] === undefined ? undefined : expectInteger('size', options['size'], 1, 4096);
    const stridePx = options['stride'] === undefined ? undefined : expectInteger('stride', options['stride'], 1, 4096);
    const db = openStore(resolveDbPath(source.dbPath));
    try {
      const result = await runOcclusionPipeline({
        db, ...source, images, fill, batchSize, sizePx, stridePx, workers: parseWorkersOption(options), layer: typeof options['layer'] === 'string' ? options['layer'] : undefined,
        outDir: typeof options['out'] === 'string' ? options['out'] : undefined, force: options['force'] === true,
      });
      process.stdout.write(`occlusion run ${result.runId}: ${result.images.length} images, ${result.rows}x${result.cols} maps in ${result.outDir}\n`);
    } finally {
      db.close();
    }
  },
};
