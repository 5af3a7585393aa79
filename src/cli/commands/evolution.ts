import type { Command } from 'commander';
import { expectChoice, expectInteger, parseLayerList, UsageError } from '../../errors.js';
import { parseUnitSelection } from '../../mosaic/unit-selection.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import { formatResumeCommand, withStopSignals } from '../../stop-signals.js';
import { parseWorkersOption } from '../../workers/workers-option.js';
import { runEvolutionPipeline } from '../../../pipelines/experiments/evolution.js';
import type { CommandSpec } from '../command-spec.js';
import { addBackendOption, addWorkersOption, addDataOption, addDbOption, addSeedOption, BACKEND_CHOICES } from '../common-options.js';
import { addDecodeOptions, parseInputOptions } from '../input-options.js';

/**
 * `run-pipeline evolution` (paper Fig. 4): feature evolution over a training
 * run's kept epochs. Resumable: Ctrl-C commits, and the same command resumes
 * the unfinished run.
 */
export const evolutionCommand: CommandSpec = {
  name: 'evolution',
  summary: "feature evolution (Fig. 4): each kept epoch's strongest activation of chosen units over the training split, projected; a mosaic per layer",
  configure(command: Command) {
    command
      .requiredOption('--run <id>', 'training run (run-pipeline train) whose kept epoch checkpoints to examine')
      .option('--layers <list>', 'conv layers, e.g. 1-5 or 2,4', '1-5')
      .option('--units <sel>', 'units per layer: all, a list like 0-7 or 3,7,9, or random:N', 'random:6')
      .option('--split <name>', 'split searched for the strongest activations', 'train')
      .option('--limit <n>', 'search only the first N images of the split (id order)')
      .option('--batch-size <n>', 'images per forward pass', '32')
      .option('--commit-every <n>', 'batches between commits of the position and the strongest activations so far', '20')
      .option('--out <dir>', 'folder for the mosaics and entries.csv (default out/evolution/<run id>)');
    addSeedOption(command);
    addBackendOption(command);
    addDataOption(command);
    addDbOption(command);
    addDecodeOptions(command);
    addWorkersOption(command);
  },
  async run(options) {
    const trainRunId = options['run'];
    if (typeof trainRunId !== 'string' || trainRunId === '') throw new UsageError('Expected a training run id for --run');
    const input = parseInputOptions(options);
    const commitEvery = expectInteger('commitEvery', options['commitEvery'], 1, 1_000_000);
    const workers = parseWorkersOption(options);
    const db = openStore(resolveDbPath(String(options['db'])), { mustExist: true });
    try {
      const stop = { stopping: 'finishing the current batch and committing', quitting: 'losing work since the last commit' };
      const result = await withStopSignals(stop, (signal) => runEvolutionPipeline({
        db, trainRunId, commitEvery, workers, decodeConcurrency: input.decodeConcurrency, strict: input.strict, signal,
        resumeCommand: formatResumeCommand(process.argv.slice(2)), data: typeof options['data'] === 'string' ? options['data'] : undefined,
        split: String(options['split']),
        limit: options['limit'] === undefined ? undefined : expectInteger('limit', options['limit'], 1, Number.MAX_SAFE_INTEGER),
        layers: parseLayerList('layers', String(options['layers'])),
        units: parseUnitSelection(String(options['units'])),
        seed: expectInteger('seed', options['seed'], 0, 2 ** 31 - 1),
        batchSize: expectInteger('batchSize', options['batchSize'], 1, 4096),
        backend: expectChoice('backend', options['backend'], BACKEND_CHOICES),
        outDir: typeof options['out'] === 'string' ? options['out'] : undefined,
      }));
      const summary = result.status === 'finished' ? `${result.mosaics.length} mosaics in ${result.outDir}` : 'interrupted (the same command resumes it)';
      process.stdout.write(`evolution run ${result.runId}: epochs ${result.epochs.join(', ')}; ${result.imagesSkipped} bad images skipped; ${summary}\n`);
    } finally {
      db.close();
    }
  },
};
