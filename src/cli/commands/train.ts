import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { readCheckpointFile } from '../../checkpoint/checkpoint-file.js';
import type { Command } from 'commander';
import { expectChoice, expectInteger, expectNumber, UsageError } from '../../errors.js';
import { ARCHITECTURE_NAMES } from '../../model/architectures.js';
import { DEFAULT_DB_PATH, openStore, resolveDbPath } from '../../store/open-store.js';
import { withStopSignals } from '../../stop-signals.js';
import { FEATURE_EVOLUTION_EPOCHS } from '../../train/checkpoint-retention.js';
import { LR_SCHEDULE_KINDS } from '../../train/lr-schedule.js';
import { INIT_SCHEMES } from '../../train/init-scale.js';
import { DEFAULTED_FLAGS, describeRecipeDefaults, formatDefaultFlags, resolveRecipeDefaults, type ArchitectureRecipeDefaults } from '../../train/recipe-defaults.js';
import { runTrainPipeline, type TrainPipelineResult, type TrainRecipe } from '../../../pipelines/train/train.js';
import type { CommandSpec } from '../command-spec.js';
import { addBackendOption, addDataOption, addDbOption, addSeedOption, BACKEND_CHOICES } from '../common-options.js';
import { addDecodeOptions, addTrainCropOption, parseInputOptions, parseTrainCrop } from '../input-options.js';
import { MAX_SEED } from './init.js';

/** Options that make up the recipe (recorded with the run), by commander key. */
const RECIPE_KEYS = ['model', 'data', 'seed', 'init', 'epochs', 'batchSize', 'microBatch', 'lr', 'momentum', 'weightDecay', 'dropout', 'filterRadius', 'lrSchedule',
  'patience', 'stepEpochs', 'lrFactor', 'crop', 'limit', 'valSplit', 'valLimit', 'keepEpochs', 'keepAll', 'out', 'from'] as const;

function parseKeepEpochs(value: unknown): number[] {
  const text = String(value);
  if (text === 'none') return [];
  return text.split(',').map((part) => expectInteger('keepEpochs', part.trim(), 1, 1_000_000));
}

type SourceCheckpoint = NonNullable<TrainRecipe['from']>;

/** Commander key of each option that defaults per architecture. */
const DEFAULTED_OPTION_KEYS: Readonly<Record<keyof ArchitectureRecipeDefaults, string>> = Object.freeze({ init: 'init', batchSize: 'batchSize', learningRate: 'lr', lrSchedule: 'lrSchedule', dropout: 'dropout' });

/**
 * Validates the recipe options once, at the boundary. --init, --batch-size,
 * --lr and --lr-schedule, when not given, take the architecture's defaults
 * (src/train/recipe-defaults.ts); which ones did is recorded in `recipeDefaults`.
 * @throws RangeError (usage error) naming the option and value.
 */
export function parseTrainRecipe(o: Record<string, unknown>, from: SourceCheckpoint | null = null): TrainRecipe {
  const optionalInt = (name: string, v: unknown) => (v === undefined ? null : expectInteger(name, v, 1, Number.MAX_SAFE_INTEGER));
  const crop = parseTrainCrop(o['crop']);
  const model = expectChoice('model', o['model'], ARCHITECTURE_NAMES);
  const { source, defaults } = resolveRecipeDefaults(model);
  const given = (field: keyof ArchitectureRecipeDefaults): unknown => o[DEFAULTED_OPTION_KEYS[field]];
  const defaulted = (Object.keys(DEFAULTED_FLAGS) as Array<keyof ArchitectureRecipeDefaults>).filter((field) => given(field) === undefined);
  return {
    model,
    data: o['data'] === undefined ? null : resolve(String(o['data'])),
    seed: expectInteger('seed', o['seed'], 0, MAX_SEED),
    init: given('init') === undefined ? defaults.init : expectChoice('init', o['init'], INIT_SCHEMES),
    epochs: expectInteger('epochs', o['epochs'], 1, 100_000),
    batchSize: given('batchSize') === undefined ? defaults.batchSize : expectInteger('batchSize', o['batchSize'], 1, 4096),
    microBatch: o['microBatch'] === undefined ? null : expectInteger('microBatch', o['microBatch'], 1, 4096),
    learningRate: given('learningRate') === undefined ? defaults.learningRate : expectNumber('lr', o['lr'], 0, 10),
    momentum: expectNumber('momentum', o['momentum'], 0, 0.999999),
    weightDecay: expectNumber('weightDecay', o['weightDecay'], 0, 1),
    dropout: given('dropout') === undefined ? defaults.dropout : expectNumber('dropout', o['dropout'], 0, 0.95),
    filterRadius: expectNumber('filterRadius', o['filterRadius'], 0, 1e6),
    lrSchedule: given('lrSchedule') === undefined ? defaults.lrSchedule : expectChoice('lrSchedule', o['lrSchedule'], LR_SCHEDULE_KINDS),
    recipeDefaults: { source, flags: formatDefaultFlags(defaults, defaulted) },
    patience: expectInteger('patience', o['patience'], 1, 100_000),
    stepEpochs: expectInteger('stepEpochs', o['stepEpochs'], 1, 100_000),
    lrFactor: expectNumber('lrFactor', o['lrFactor'], 1, 1e6),
    crop,
    limit: optionalInt('limit', o['limit']),
    valSplit: o['valSplit'] === 'none' ? null : String(o['valSplit']),
    valLimit: optionalInt('valLimit', o['valLimit']),
    keepEpochs: parseKeepEpochs(o['keepEpochs']),
    keepAll: o['keepAll'] === true,
    outDir: resolve(String(o['out'])),
    from,
  };
}

/**
 * --from: the checkpoint's absolute path and hash (its tensors are checked against its config, not kept).
 * @throws UsageError naming the file when it is missing or not a checkpoint.
 */
function describeSourceCheckpoint(path: string): SourceCheckpoint {
  const absolute = resolve(path);
  if (!existsSync(absolute)) throw new UsageError(`Checkpoint ${absolute} (--from) does not exist`);
  const contents = readCheckpointFile(absolute, { keepTensor: () => false });
  return { path: absolute, sha256: contents.sha256, model: contents.config.name };
}

/** --from's architecture is the run's model unless --model names one (then they must agree, see the pipeline). */
function applySourceModel(options: Record<string, unknown>, command: Command, source: SourceCheckpoint | null): Record<string, unknown> {
  return source === null || command.getOptionValueSource('model') === 'cli' ? options : { ...options, model: source.model };
}

/** The recipe fields given on the command line (not defaults), for --resume's consistency check. */
function explicitRecipeFields(options: Record<string, unknown>, command: Command): Partial<TrainRecipe> {
  const recipe = parseTrainRecipe(options);
  const byKey: Record<string, keyof TrainRecipe> = { lr: 'learningRate', out: 'outDir' };
  const fields: Partial<TrainRecipe> = {};
  for (const key of RECIPE_KEYS) {
    if (command.getOptionValueSource(key) !== 'cli') continue;
    const field = byKey[key] ?? (key as keyof TrainRecipe);
    (fields as Record<string, unknown>)[field] = recipe[field];
  }
  return fields;
}

/** The result on stdout; the epochs' lines went to stderr as they finished, so they are not repeated. */
function reportResult(result: TrainPipelineResult, dbOption: string | undefined): void {
  const error = result.lastEpoch?.valTop1Error ?? null;
  const last = error === null ? '' : ` (val top-1 error ${(error * 100).toFixed(1)}%)`;
  if (result.status === 'finished') {
    process.stdout.write(`run ${result.runId} finished ${result.epochs} epochs${last}; last checkpoint ${result.checkpointPath ?? '(none)'}\n`);
    return;
  }
  const dbPart = dbOption !== undefined && resolveDbPath(dbOption) !== resolveDbPath(DEFAULT_DB_PATH) ? ` --db ${dbOption}` : '';
  process.stdout.write(`run ${result.runId} interrupted after ${result.epochs} full epochs; saved ${result.checkpointPath}\n`);
  process.stdout.write(`resume with: run-pipeline train --resume ${result.runId}${dbPart}\n`);
}

/**
 * `run-pipeline train`: the paper's recipe by default (SGD, momentum 0.9,
 * filter RMS radius 0.1, 70 epochs); init, batch size, rate, schedule and
 * dropout default per architecture (the paper's at full size, the demo's
 * measured recipe for the scaled-down models).
 */
export const trainCommand: CommandSpec = {
  name: 'train',
  summary: "train a model with the paper's recipe; a checkpoint every epoch, metrics in the store, Ctrl-C saves and --resume continues",
  configure(command: Command) {
    command
      .option('--model <name>', `architecture: ${ARCHITECTURE_NAMES.join(', ')}`, 'zfnet')
      .option('--init <scheme>', "paper: weights N(0, 0.01^2); scaled: N(0, 2/fan_in), classifier N(0, 0.001^2), for the small models (default: per architecture, below)")
      .option('--epochs <n>', 'epochs to train (the paper: 70); with --resume, may be raised to train longer', '70')
      .option('--batch-size <n>', 'images per SGD step (default: per architecture, below)')
      .option('--micro-batch <n>', 'images per forward/backward pass; a batch is split and its gradients summed (default: whole batch, or what fits wasm\'s 4 GiB heap)')
      .option('--lr <x>', 'initial learning rate (default: per architecture, below)')
      .option('--momentum <x>', 'momentum', '0.9')
      .option('--weight-decay <x>', 'L2 weight decay (the paper gives none)', '0')
      .option('--dropout <x>', 'dropout rate of fc6 and fc7 (default: per architecture, below)')
      .option('--filter-radius <x>', 'renormalize conv filters whose RMS exceeds this after every update (0: off)', '0.1')
      .option('--lr-schedule <kind>', `learning-rate schedule: ${LR_SCHEDULE_KINDS.join(', ')} (default: per architecture, below)`)
      .option('--patience <n>', 'plateau: epochs without a lower val top-1 error before dividing the rate', '5')
      .option('--step-epochs <n>', 'step: divide the rate every N epochs', '20')
      .option('--lr-factor <x>', 'divisor of each rate decay', '10')
      .option('--limit <n>', 'train on at most N images per epoch (quick runs)')
      .option('--val-split <name>', 'split validated after every epoch, or none', 'val')
      .option('--val-limit <n>', 'validate on at most N images')
      .option('--keep-epochs <list>', 'epoch checkpoints always kept besides the last and the best (none: only those)', FEATURE_EVOLUTION_EPOCHS.join(','))
      .option('--keep-all', 'keep every epoch checkpoint', false)
      .option('--out <dir>', 'output root; the run writes <dir>/runs/<run>/', 'out')
      .option('--resume <run>', 'continue this run from its newest checkpoint, with its recorded options')
      .option('--from <checkpoint>', "start a new run from this checkpoint's weights with fresh momentum (fine-tuning); --model defaults to its architecture, and the classifier is re-initialised when the dataset's classes differ")
      .addHelpText('after', `\nDefaults per architecture of the options not given (recorded with the run):\n${describeRecipeDefaults()}\n`);
    addTrainCropOption(command);
    addSeedOption(command);
    addDataOption(command);
    addDbOption(command);
    addBackendOption(command);
    addDecodeOptions(command);
  },
  async run(options, command) {
    const input = parseInputOptions(options);
    const backend = expectChoice('backend', options['backend'], BACKEND_CHOICES);
    const resume = options['resume'] === undefined ? undefined : String(options['resume']);
    if (resume !== undefined && resume.trim() === '') throw new UsageError('Expected a run id for --resume');
    if (resume !== undefined && options['from'] !== undefined) throw new UsageError('--from starts a new run; --resume continues one with its recorded start: give one of them');
    const source = options['from'] === undefined ? null : describeSourceCheckpoint(String(options['from']));
    const recipe = resume === undefined ? parseTrainRecipe(applySourceModel(options, command, source), source) : undefined;
    const resumeOverrides = resume === undefined ? undefined : explicitRecipeFields(options, command);
    if (recipe?.recipeDefaults != null && recipe.recipeDefaults.flags !== '') process.stderr.write(`train: ${recipe.model} defaults (${recipe.recipeDefaults.source}): ${recipe.recipeDefaults.flags}\n`);
    const db = openStore(resolveDbPath(options['db'] as string | undefined));
    try {
      const result = await withStopSignals({ stopping: 'finishing the current step, then saving', quitting: 'without saving the epoch in progress' }, (signal) => runTrainPipeline({
        db, backend, recipe, resume, resumeOverrides, decodeConcurrency: input.decodeConcurrency, strict: input.strict, signal,
      }));
      reportResult(result, options['db'] as string | undefined);
    } finally {
      db.close();
    }
  },
};
