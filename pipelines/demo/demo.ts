/**
 * npm run demo: the main job end to end on the built-in sample dataset.
 * A script of real commands (sample-data, train, top-activations, mosaics,
 * occlusion, invariance, report), each reusing what an earlier demo finished:
 * a finished training run is kept, an interrupted one resumed, a finished
 * top-activations pass or experiment is not run again.
 *
 * Training runs once; top-activations runs on two of its checkpoints, the
 * first epoch's and the last, so that the explorer's side-by-side page and a
 * unit's "in every run" table show how units change with training (the
 * paper's Fig. 4) on the sample data.
 *
 * The demo runs commands through `runCommand` (the CLI passes its own
 * program), so every step is exactly what a user would type.
 */
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Store } from '../../src/store/open-store.js';
import { listRuns, type RunRecord } from '../../src/store/runs.js';
import { countDeadUnits, listTopActivationRuns } from '../../src/store/top-activations-store.js';
import { createTrainingStore } from '../../src/store/training-store.js';
import { SMALL_MODEL_RECIPE_DEFAULTS } from '../../src/train/recipe-defaults.js';

/**
 * The demo's training recipe: the paper's recipe (SGD, momentum 0.9, filter
 * renormalisation) except for what a small model needs to learn in minutes:
 * the fan-in-scaled init (the paper's N(0, 0.01^2) leaves zfnet-small's logits
 * near 1e-5 and the loss flat for epochs), batch 32, a fixed rate of 0.001 and
 * no dropout (the measurements are in src/train/recipe-defaults.ts, whose
 * defaults for the scaled-down models these are).
 */
export interface DemoRecipe {
  model: string;
  /** Weight initialisation (`paper` or `scaled`, see src/train/init-scale.ts). */
  init: string;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Dropout rate of fc6 and fc7. */
  dropout: number;
  seed: number;
}

const SMALL = SMALL_MODEL_RECIPE_DEFAULTS.defaults;
export const DEMO_RECIPE: Readonly<DemoRecipe> = Object.freeze({
  model: 'zfnet-small', init: SMALL.init, epochs: 8, batchSize: SMALL.batchSize, learningRate: SMALL.learningRate, dropout: SMALL.dropout, seed: 1,
});

export interface DemoOptions {
  db: Store;
  /** The --db path given to every step. */
  dbPath: string;
  backend: string;
  recipe: DemoRecipe;
  /** --data for every step; undefined: the built-in sample dataset. */
  data?: string;
  /** Mosaic units per layer (`all`, `0-15`, ...). */
  mosaicUnits: string;
  /** Val images for occlusion and invariance. */
  experimentImages: number;
  /** Runs one command line (argv without the program name); rejects as the command would fail. */
  runCommand: (argv: string[]) => Promise<void>;
  log?: (line: string) => void;
}

export interface DemoResult {
  trainRunId: string;
  /** The last epoch's checkpoint (mosaics, occlusion and invariance use it). */
  checkpoint: string;
  topActivationsRunId: string;
  /** The pass over the first epoch's checkpoint; null when training kept only one. */
  earlyTopActivationsRunId: string | null;
  reportPath: string;
  valTop1Error: number | null;
  deadUnits: number;
  totalUnits: number;
  elapsedS: number;
}

function sameRecipe(run: RunRecord, recipe: DemoRecipe, data: string | undefined): boolean {
  const o = run.options;
  return o['model'] === recipe.model && o['init'] === recipe.init && o['epochs'] === recipe.epochs && o['batchSize'] === recipe.batchSize
    && o['learningRate'] === recipe.learningRate && o['dropout'] === recipe.dropout && o['seed'] === recipe.seed && (o['data'] ?? null) === (data === undefined ? null : resolve(data));
}

/** The newest training run of this recipe (finished or resumable), if any. */
function findTrainRun(db: Store, recipe: DemoRecipe, data: string | undefined): RunRecord | undefined {
  return listRuns(db, 'train').find((r) => r.status !== 'failed' && sameRecipe(r, recipe, data));
}

function common(options: DemoOptions): string[] {
  return ['--db', options.dbPath, '--backend', options.backend, ...(options.data === undefined ? [] : ['--data', options.data])];
}

async function trainStep(options: DemoOptions, log: (line: string) => void): Promise<string> {
  const { recipe } = options;
  const existing = findTrainRun(options.db, recipe, options.data);
  if (existing?.status === 'finished') {
    log(`demo: training run ${existing.id} is finished; reusing it`);
    return existing.id;
  }
  if (existing !== undefined) {
    log(`demo: resuming training run ${existing.id}`);
    await options.runCommand(['train', '--resume', existing.id, '--db', options.dbPath, '--backend', options.backend]);
    return existing.id;
  }
  await options.runCommand(['train', ...common(options), '--model', recipe.model, '--init', recipe.init, '--epochs', String(recipe.epochs), '--batch-size', String(recipe.batchSize),
    '--lr', String(recipe.learningRate), '--dropout', String(recipe.dropout), '--lr-schedule', SMALL.lrSchedule, '--seed', String(recipe.seed)]);
  const run = findTrainRun(options.db, recipe, options.data);
  if (run === undefined) throw new Error('demo: the training step recorded no run');
  return run.id;
}

/**
 * The checkpoints the demo analyses: the first kept epoch's (null when it is
 * the last) and the last epoch's.
 * @throws Error when the last one is not on disk
 */
function demoCheckpoints(db: Store, trainRunId: string): { early: string | null; last: string } {
  const epochs = createTrainingStore(db).listEpochs(trainRunId).filter((e) => e.checkpointKept && e.checkpointPath !== null);
  const path = epochs.at(-1)?.checkpointPath;
  if (path === undefined || path === null || !existsSync(path)) throw new Error(`demo: training run ${trainRunId} has no checkpoint on disk; delete it from the store (or db/) and rerun`);
  const first = epochs[0]!.checkpointPath!;
  return { early: first === path || !existsSync(first) ? null : first, last: path };
}

/** Runs (or reuses) top-activations over val on one checkpoint; returns the finished pass's id. */
async function topActivationsStep(options: DemoOptions, checkpoint: string): Promise<string> {
  await options.runCommand(['top-activations', ...common(options), '--split', 'val', '--checkpoint', checkpoint]);
  const pass = listTopActivationRuns(options.db).filter((p) => p.checkpointPath !== null && resolve(p.checkpointPath) === resolve(checkpoint) && p.run.status === 'finished').at(-1);
  if (pass === undefined) throw new Error(`demo: the top-activations step over ${checkpoint} recorded no finished run`);
  return pass.runId;
}

function experimentDone(db: Store, kind: string, checkpoint: string): boolean {
  return listRuns(db, kind).some((r) => r.status === 'finished' && (r.options['weights'] as { checkpoint?: string } | undefined)?.checkpoint !== undefined
    && resolve((r.options['weights'] as { checkpoint: string }).checkpoint) === resolve(checkpoint));
}

/**
 * Runs the demo's steps in order and returns what the summary reports.
 * @throws whatever a step throws (usage errors name the step's bad value).
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const startedMs = Date.now();
  const step = (name: string) => log(`\n== demo: ${name} (${Math.round((Date.now() - startedMs) / 1000)} s so far)`);
  if (options.data === undefined) {
    step('sample dataset');
    await options.runCommand(['sample-data']);
  }
  step(`train ${options.recipe.model} for ${options.recipe.epochs} epochs`);
  const trainRunId = await trainStep(options, log);
  const { early, last: checkpoint } = demoCheckpoints(options.db, trainRunId);
  // The first epoch's pass comes first, so that the last epoch's is the newest: the one units, top and mosaics take by default.
  let earlyPassId: string | null = null;
  if (early !== null) {
    step(`top-9 activations of every conv unit over val, first epoch (${basename(early)}), to compare with the last`);
    earlyPassId = await topActivationsStep(options, early);
  }
  step(`top-9 activations of every conv unit over val, last epoch (${basename(checkpoint)})`);
  const passId = await topActivationsStep(options, checkpoint);
  step('deconvnet mosaics of layers 1-5');
  await options.runCommand(['mosaics', '--db', options.dbPath, '--backend', options.backend, '--run', passId, '--layers', '1-5', '--units', options.mosaicUnits]);
  for (const kind of ['occlusion', 'invariance']) {
    step(`${kind} on ${options.experimentImages} val images`);
    if (experimentDone(options.db, kind, checkpoint)) log(`demo: a finished ${kind} run of this checkpoint exists; reusing it`);
    else await options.runCommand([kind, ...common(options), '--checkpoint', checkpoint, '--split', 'val', '--limit', String(options.experimentImages)]);
  }
  step('report');
  await options.runCommand(['report', '--db', options.dbPath, '--run', trainRunId]);
  const units = countDeadUnits(options.db, passId);
  const last = createTrainingStore(options.db).listEpochs(trainRunId).at(-1);
  return {
    trainRunId, checkpoint, topActivationsRunId: passId, earlyTopActivationsRunId: earlyPassId, reportPath: resolve('out', 'reports', trainRunId, 'index.html'),
    valTop1Error: last?.valTop1Error ?? null, deadUnits: units.dead, totalUnits: units.total, elapsedS: (Date.now() - startedMs) / 1000,
  };
}
