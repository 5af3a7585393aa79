import type { Command } from 'commander';
import { expectChoice, expectInteger, UsageError } from '../../errors.js';
import { OCCLUDER_FILLS } from '../../experiments/occluder.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import { runCorrespondencePipeline } from '../../../pipelines/experiments/correspondence.js';
import type { CommandSpec } from '../command-spec.js';
import { addWorkersOption } from '../common-options.js';
import { parseWorkersOption } from '../../workers/workers-option.js';
import { addForceOption, addModelSourceOptions, parseModelSourceOptions } from '../experiment-options.js';

/** `run-pipeline correspondence` (paper Sec. 5, Table 1). */
export const correspondenceCommand: CommandSpec = {
  name: 'correspondence',
  summary: 'correspondence (Table 1): mask the same part in several images and random regions; Delta_l at layers 5 and 7',
  configure(command: Command) {
    addModelSourceOptions(command, true);
    addForceOption(command);
    addWorkersOption(command);
    command
      .requiredOption('--mask-boxes <file>', 'JSON: {"boxSpace": "image"|"input", "images": [{"path" or "imageId", "parts": {"name": [x, y, w, h]}}]}')
      .option('--draws <n>', 'random-control draws (one random box per image each, the size of its largest part)', '10')
      .option('--fill <mode>', 'mask colour: mean (no signal), grey (128), zero (black)', 'mean')
      .option('--layers <names>', 'layers compared, comma-separated names, aliases or numbers (default: the last conv layer and the layer before the logits: conv5,fc7)')
      .option('--batch-size <n>', 'masked copies per forward pass', '16')
      .option('--out <dir>', 'folder for summary.csv and masks.png (default out/correspondence/<run id>)');
  },
  async run(options) {
    const source = parseModelSourceOptions(options, true);
    const maskFile = options['maskBoxes'];
    if (typeof maskFile !== 'string' || maskFile.trim() === '') throw new UsageError('Expected a file path for --mask-boxes');
    const draws = expectInteger('draws', options['draws'], 1, 1000);
    const fill = expectChoice('fill', options['fill'], OCCLUDER_FILLS);
    const batchSize = expectInteger('batchSize', options['batchSize'], 1, 4096);
    const db = openStore(resolveDbPath(source.dbPath));
    try {
      const result = await runCorrespondencePipeline({ db, ...source, maskFile, draws, fill, batchSize, workers: parseWorkersOption(options), layers: typeof options['layers'] === 'string' ? options['layers'] : undefined, outDir: typeof options['out'] === 'string' ? options['out'] : undefined, force: options['force'] === true });
      process.stdout.write('layer  part            Delta_l (sum i!=j)  pair mean  pair std\n');
      for (const row of result.summary) {
        process.stdout.write(`${row.layer.padEnd(6)} ${row.part.padEnd(15)} ${row.deltaSum.toFixed(4).padStart(18)}  ${row.deltaMean.toFixed(4).padStart(9)}  ${row.deltaStd.toFixed(4).padStart(8)}\n`);
      }
      process.stdout.write(`correspondence run ${result.runId}: summary.csv and masks.png in ${result.outDir}\n`);
    } finally {
      db.close();
    }
  },
};
