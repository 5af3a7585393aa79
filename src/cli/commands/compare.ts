import type { Command } from 'commander';
import { expectNumber, UsageError } from '../../errors.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import { runComparePipeline } from '../../../pipelines/compare.js';
import type { CommandSpec } from '../command-spec.js';
import { addDbOption } from '../common-options.js';

/** `run-pipeline compare` (paper Fig. 6): layer-1 filters of two checkpoints side by side. */
export const compareCommand: CommandSpec = {
  name: 'compare',
  summary: 'architecture comparison (Fig. 6): layer-1 filters, dead-filter fraction and frequency bands of two checkpoints (e.g. alexnet vs zfnet)',
  configure(command: Command) {
    command
      .requiredOption('--checkpoints <files...>', 'two checkpoints, labelled A and B in this order')
      .option('--dead-ratio <x>', 'a filter is dead when its RMS is below this fraction of the median filter RMS', '0.1')
      .option('--out <dir>', 'folder for the PNGs, filters.csv and summary.json (default out/compare/<run id>)');
    addDbOption(command);
  },
  async run(options) {
    const checkpoints = options['checkpoints'] as string[];
    if (!Array.isArray(checkpoints) || checkpoints.length !== 2) throw new UsageError(`Expected two checkpoint files for --checkpoints but received ${Array.isArray(checkpoints) ? checkpoints.length : 0}`);
    const deadRatio = expectNumber('deadRatio', options['deadRatio'], 0, 1);
    const db = openStore(resolveDbPath(String(options['db'])));
    try {
      const result = await runComparePipeline({ db, checkpoints, deadRatio, outDir: typeof options['out'] === 'string' ? options['out'] : undefined });
      process.stdout.write('checkpoint model          conv1   dead   low   mid  high  (mean share of DFT energy, live filters)\n');
      for (const s of result.summaries) {
        process.stdout.write(`${s.label.padEnd(10)} ${s.model.padEnd(14)} ${`${s.kernelPx}x${s.kernelPx}`.padStart(6)} ${(100 * s.deadFraction).toFixed(1).padStart(5)}% ${s.meanBands.low.toFixed(2)}  ${s.meanBands.mid.toFixed(2)}  ${s.meanBands.high.toFixed(2)}\n`);
      }
      process.stdout.write(`compare run ${result.runId}: ${result.files.length} files in ${result.outDir}\n`);
    } finally {
      db.close();
    }
  },
};
