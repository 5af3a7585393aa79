import type { Command } from 'commander';
import { DEFAULT_MODEL } from '../../../pipelines/shared/pass-model.js';
import { runTopActivations } from '../../../pipelines/top-activations/top-activations.js';
import type { ShardSpec } from '../../data/image-order.js';
import { expectChoice, expectInteger, invalidParameterError } from '../../errors.js';
import { ARCHITECTURE_NAMES } from '../../model/architectures.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import { formatResumeCommand, withStopSignals } from '../../stop-signals.js';
import type { CommandSpec } from '../command-spec.js';
import { addBackendOption, addWorkersOption, addDataOption, addDbOption, addSeedOption, BACKEND_CHOICES } from '../common-options.js';
import { addDecodeOptions, parseInputOptions } from '../input-options.js';
import { parseWorkersOption } from '../../workers/workers-option.js';

/**
 * Parses `--shard i/N` (0 <= i < N <= 65536).
 * @throws RangeError (usage error) naming the value.
 */
export function parseShard(value: unknown): ShardSpec {
  const m = typeof value === 'string' ? /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value) : null;
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!(count >= 1 && count <= 65536 && index >= 0 && index < count)) throw invalidParameterError('shard', 'i/N with 0 <= i < N <= 65536', value);
  return { index, count };
}

/** `run-pipeline top-activations`: the per-unit top-9 and unit statistics of a split, resumable and shardable. */
export const topActivationsCommand: CommandSpec = {
  name: 'top-activations',
  summary: 'per-unit top-9 images and unit statistics of conv1..conv5 over a split, in the store (resumable, shardable)',
  configure(command: Command) {
    command
      .option('--split <name>', 'split to analyse (centre crop, as evaluation does)', 'val')
      .option('--checkpoint <file>', 'trained weights (.safetensors); without it --model NAME of an imported model, or a freshly initialised architecture: the random-weight baseline')
      .option('--model <name>', `an imported model (run-pipeline import), or the architecture of the random-weight baseline (default ${DEFAULT_MODEL}): ${ARCHITECTURE_NAMES.join(', ')}`)
      .option('--layers <list>', 'layers to analyse by name, alias, glob or number: e.g. 1-5, conv2,conv5, \'features.*\', \'layer?.1\' (default: every conv layer, after its nonlinearity)')
      .option('--top-k <n>', 'images kept per unit', '9')
      .option('--batch-size <n>', 'images per forward pass', '32')
      .option('--commit-every <n>', 'batches between commits of heaps, statistics and position', '20')
      .option('--shard <i/N>', 'process only the images with id % N == i (merge the N stores with `merge`)', '0/1')
      .option('--run <id>', 'resume this run (default: the unfinished run with the same parameters, if any)')
      .option('--force', 'recompute a finished run from scratch', false);
    addDataOption(command);
    addDbOption(command);
    addBackendOption(command);
    addSeedOption(command);
    addDecodeOptions(command);
    addWorkersOption(command);
  },
  async run(options) {
    const input = parseInputOptions(options);
    const parsed = {
      split: String(options['split']),
      checkpoint: options['checkpoint'] as string | undefined,
      model: options['model'] === undefined ? undefined : String(options['model']),
      layers: options['layers'] === undefined ? undefined : String(options['layers']),
      topK: expectInteger('topK', options['topK'], 1, 255),
      batchSize: expectInteger('batchSize', options['batchSize'], 1, 4096),
      commitEvery: expectInteger('commitEvery', options['commitEvery'], 1, 1_000_000),
      shard: parseShard(options['shard']),
      initSeed: expectInteger('seed', options['seed'], 0, 2 ** 31 - 1),
      backend: expectChoice('backend', options['backend'], BACKEND_CHOICES),
      workers: parseWorkersOption(options),
    };
    const log = (line: string): void => { process.stderr.write(`${line}\n`); };
    const db = openStore(resolveDbPath(options['db'] as string | undefined));
    try {
      const result = await withStopSignals({ stopping: 'finishing the current batch and committing', quitting: 'losing work since the last commit', log }, (signal) => runTopActivations({
        ...parsed, db, data: options['data'] as string | undefined, force: options['force'] === true, runId: options['run'] as string | undefined,
        decodeConcurrency: input.decodeConcurrency, strict: input.strict, signal,
        resumeCommand: formatResumeCommand(process.argv.slice(2)), log,
      }));
      process.stdout.write(`${result.runId} ${result.status} ${result.imagesProcessed} images ${result.imagesSkipped} skipped (${result.position}/${result.imagesTotal})\n`);
    } finally {
      db.close();
    }
  },
};
