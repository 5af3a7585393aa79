import type { Command } from 'commander';
import { expectChoice, expectInteger, expectNumber, UsageError } from '../../errors.js';
import { parseUnitSelection } from '../../mosaic/unit-selection.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import { parseWorkersOption } from '../../workers/workers-option.js';
import { runComparePipeline, type ComparePipelineResult } from '../../../pipelines/compare.js';
import type { Layer2Options } from '../../../pipelines/compare-layer2.js';
import type { CommandSpec } from '../command-spec.js';
import { addBackendOption, addWorkersOption, addDataOption, addDbOption, addSeedOption, BACKEND_CHOICES } from '../common-options.js';

/**
 * The layer-2 options, or null for --no-layer2.
 * @throws UsageError or RangeError naming the option and value.
 */
function parseLayer2Options(options: Record<string, unknown>): Layer2Options | null {
  if (options['layer2'] === false) return null;
  const split = String(options['split']);
  if (split.trim() === '') throw new UsageError('Expected a split name for --split but received ""');
  return {
    data: typeof options['data'] === 'string' ? options['data'] : undefined,
    split,
    units: parseUnitSelection(String(options['units'])),
    seed: expectInteger('seed', options['seed'], 0, 2 ** 31 - 1),
    backend: expectChoice('backend', options['backend'], BACKEND_CHOICES),
    workers: parseWorkersOption(options),
  };
}

function printResult(result: ComparePipelineResult): void {
  process.stdout.write('checkpoint model          conv1   dead   low   mid  high  (mean share of DFT energy, live filters)\n');
  for (const s of result.summaries) {
    process.stdout.write(`${s.label.padEnd(10)} ${s.model.padEnd(14)} ${`${s.kernelPx}x${s.kernelPx}`.padStart(6)} ${(100 * s.deadFraction).toFixed(1).padStart(5)}% ${s.meanBands.low.toFixed(2)}  ${s.meanBands.mid.toFixed(2)}  ${s.meanBands.high.toFixed(2)}\n`);
  }
  for (const p of result.layer2?.panels ?? []) process.stdout.write(`${p.label} conv2 top-9: run ${p.topActivationsRunId} (${p.status}), sheets in ${p.mosaicsDir}\n`);
  if (result.layer2 !== null) process.stdout.write(`layer 2 side by side: ${result.outDir}/${result.layer2.sideBySide}\n`);
  process.stdout.write(`compare run ${result.runId}: ${result.files.length} files in ${result.outDir}\n`);
}

/** `run-pipeline compare` (paper Fig. 6): layer-1 filters and layer-2 top-9 sheets of two checkpoints side by side. */
export const compareCommand: CommandSpec = {
  name: 'compare',
  summary: 'architecture comparison (Fig. 6): layer-1 filters, dead-filter fraction, frequency bands and layer-2 top-9 sheets of two checkpoints (e.g. alexnet vs zfnet)',
  configure(command: Command) {
    command
      .requiredOption('--checkpoints <files...>', 'two checkpoints, labelled A and B in this order')
      .option('--dead-ratio <x>', 'a filter is dead when its RMS is below this fraction of the median filter RMS', '0.1')
      .option('--split <name>', 'split of the layer-2 top-activations passes (centre crop, every image)', 'val')
      .option('--units <which>', 'conv2 units drawn per model: all, a list like 0-15 or 3,7, or random:N (drawn with --seed)', '0-15')
      .option('--no-layer2', 'compare the layer-1 filters only (no backend, no images)')
      .option('--out <dir>', 'folder for the PNGs, filters.csv, the layer-2 mosaics and summary.json (default out/compare/<run id>)');
    addDataOption(command);
    addBackendOption(command);
    addSeedOption(command);
    addWorkersOption(command);
    addDbOption(command);
  },
  async run(options) {
    const checkpoints = options['checkpoints'] as string[];
    if (!Array.isArray(checkpoints) || checkpoints.length !== 2) throw new UsageError(`Expected two checkpoint files for --checkpoints but received ${Array.isArray(checkpoints) ? checkpoints.length : 0}`);
    const deadRatio = expectNumber('deadRatio', options['deadRatio'], 0, 1);
    const layer2 = parseLayer2Options(options);
    const db = openStore(resolveDbPath(String(options['db'])));
    try {
      printResult(await runComparePipeline({ db, checkpoints, deadRatio, layer2, outDir: typeof options['out'] === 'string' ? options['out'] : undefined }));
    } finally {
      db.close();
    }
  },
};
