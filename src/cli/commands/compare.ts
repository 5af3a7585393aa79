import type { Command } from 'commander';
import { expectChoice, expectInteger, expectNumber, UsageError } from '../../errors.js';
import { parseUnitSelection } from '../../mosaic/unit-selection.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import { parseWorkersOption } from '../../workers/workers-option.js';
import { runComparePipeline, type ComparePipelineResult } from '../../../pipelines/experiments/compare.js';
import { DEFAULT_COMPARE_LAYER, type Layer2Options } from '../../../pipelines/experiments/compare-layer2.js';
import type { CompareSource } from '../../../pipelines/experiments/compare-sources.js';
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
  const layer = String(options['layer']).trim();
  if (layer === '') throw new UsageError('Expected a layer name for --layer but received ""');
  return {
    layer,
    data: typeof options['data'] === 'string' ? options['data'] : undefined,
    split,
    units: parseUnitSelection(String(options['units'])),
    seed: expectInteger('seed', options['seed'], 0, 2 ** 31 - 1),
    backend: expectChoice('backend', options['backend'], BACKEND_CHOICES),
    workers: parseWorkersOption(options),
  };
}

/**
 * The two models: checkpoint files (--checkpoints), imported models (--models), or one of each (the checkpoint is A).
 * @throws UsageError unless there are two in all.
 */
function parseSources(options: Record<string, unknown>): CompareSource[] {
  const list = (key: string): string[] => (Array.isArray(options[key]) ? (options[key] as string[]) : []);
  const sources: CompareSource[] = [...list('checkpoints').map((checkpoint) => ({ checkpoint })), ...list('models').map((model) => ({ model }))];
  if (sources.length !== 2) throw new UsageError(`Expected two models for --checkpoints and --models together but received ${sources.length}`);
  return sources;
}

function printResult(result: ComparePipelineResult): void {
  process.stdout.write('label model          filters      kernel   dead   low   mid  high  (mean share of DFT energy, live filters)\n');
  for (const s of result.summaries) {
    process.stdout.write(`${s.label.padEnd(5)} ${s.model.padEnd(14)} ${s.filterLayer.padEnd(12)} ${`${s.kernelPx}x${s.kernelPx}`.padStart(6)} ${(100 * s.deadFraction).toFixed(1).padStart(5)}% ${s.meanBands.low.toFixed(2)}  ${s.meanBands.mid.toFixed(2)}  ${s.meanBands.high.toFixed(2)}\n`);
  }
  for (const p of result.layer2?.panels ?? []) process.stdout.write(`${p.label} ${p.layer} top-9: run ${p.topActivationsRunId} (${p.status}), sheets in ${p.mosaicsDir}\n`);
  if (result.layer2 !== null) process.stdout.write(`top-9 side by side: ${result.outDir}/${result.layer2.sideBySide}\n`);
  process.stdout.write(`compare run ${result.runId}: ${result.files.length} files in ${result.outDir}\n`);
}

/** `run-pipeline compare` (paper Fig. 6): first-layer filters and one layer's top-9 sheets of two models (checkpoints or imported) side by side. */
export const compareCommand: CommandSpec = {
  name: 'compare',
  summary: 'architecture comparison (Fig. 6): first-layer filters, dead-filter fraction, frequency bands and top-9 sheets of a layer (default conv2) of two models: checkpoints or imported models (e.g. alexnet vs zfnet)',
  configure(command: Command) {
    command
      .option('--checkpoints <files...>', 'checkpoints of the project\'s architectures, labelled A, B in this order')
      .option('--models <names...>', 'imported models (run-pipeline import), labelled after the checkpoints; two models in all')
      .option('--layer <name>', 'layer whose top-9 sheets are compared, by name or alias (an imported model\'s own names, e.g. features.3), or A,B: one per model', DEFAULT_COMPARE_LAYER)
      .option('--dead-ratio <x>', 'a filter is dead when its RMS is below this fraction of the median filter RMS', '0.1')
      .option('--split <name>', 'split of the top-activations passes of --layer (centre crop, every image)', 'val')
      .option('--units <which>', 'units of --layer drawn per model: all, a list like 0-15 or 3,7, or random:N (drawn with --seed)', '0-15')
      .option('--no-layer2', 'compare the first-layer filters only (no backend, no images)')
      .option('--out <dir>', 'folder for the PNGs, filters.csv, the top-9 mosaics and summary.json (default out/compare/<run id>)');
    addDataOption(command);
    addBackendOption(command);
    addSeedOption(command);
    addWorkersOption(command);
    addDbOption(command);
  },
  async run(options) {
    const sources = parseSources(options);
    const deadRatio = expectNumber('deadRatio', options['deadRatio'], 0, 1);
    const layer2 = parseLayer2Options(options);
    const db = openStore(resolveDbPath(String(options['db'])));
    try {
      printResult(await runComparePipeline({ db, sources, deadRatio, layer2, outDir: typeof options['out'] === 'string' ? options['out'] : undefined }));
    } finally {
      db.close();
    }
  },
};
