/**
 * Options shared by the experiment commands (occlusion, invariance,
 * correspondence, compare, evolution), declared once and validated once.
 */
import type { Command } from 'commander';
import { expectChoice, expectInteger, UsageError } from '../errors.js';
import { ARCHITECTURE_NAMES } from '../model/architectures.js';
import type { SelectImagesOptions } from '../experiments/experiment-inputs.js';
import { addBackendOption, addDataOption, addDbOption, addSeedOption, BACKEND_CHOICES, type BackendChoice } from './common-options.js';

/** Seeds are 31-bit, as for init and train. */
const MAX_SEED = 2 ** 31 - 1;

/** Collects a repeatable option's values; each may itself be a comma-separated list. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')];
}

/** --checkpoint | --model, --seed, --backend, --data, --db; `imported`: --model may name an imported model. */
export function addModelSourceOptions(command: Command, imported = false): Command {
  const fresh = `fresh paper-initialised weights of this architecture (${ARCHITECTURE_NAMES.join(', ')}); pictures of random weights are a baseline only`;
  command
    .option('--checkpoint <file>', 'model to examine (safetensors from init or train)')
    .option('--model <name>', `without --checkpoint: ${imported ? `an imported model (run-pipeline import; onnx engine, layers by their own names), or ${fresh}` : fresh}`);
  addSeedOption(command);
  addBackendOption(command);
  addDataOption(command);
  return addDbOption(command);
}

export interface ModelSourceOptions {
  checkpoint?: string;
  model?: string;
  seed: number;
  backend: BackendChoice;
  data?: string;
  dbPath: string;
}

/**
 * Validates the model-source options; with `imported`, --model is any name
 * (the pipeline checks it against the store's imported models and the architectures).
 * @throws UsageError or RangeError (usage errors) naming the option and value.
 */
export function parseModelSourceOptions(options: Record<string, unknown>, imported = false): ModelSourceOptions {
  const checkpoint = typeof options['checkpoint'] === 'string' ? options['checkpoint'] : undefined;
  const model = options['model'] === undefined ? undefined : imported ? expectModelName(options['model']) : expectChoice('model', options['model'], ARCHITECTURE_NAMES);
  if (checkpoint === undefined && model === undefined) throw new UsageError('Expected --checkpoint FILE (a trained model) or --model NAME (fresh random weights)');
  if (checkpoint !== undefined && model !== undefined) throw new UsageError('Expected either --checkpoint or --model, not both');
  return {
    checkpoint, model,
    seed: expectInteger('seed', options['seed'], 0, MAX_SEED),
    backend: expectChoice('backend', options['backend'], BACKEND_CHOICES),
    data: typeof options['data'] === 'string' ? options['data'] : undefined,
    dbPath: String(options['db']),
  };
}

function expectModelName(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError('Expected a model name for --model');
  return value;
}

/** --force: start over instead of resuming the unfinished run with the same options. */
export function addForceOption(command: Command): Command {
  return command.option('--force', 'start over instead of resuming the unfinished run with the same options', false);
}

/** --image PATH..., --image-id N..., --split NAME --limit K. */
export function addImageSelectionOptions(command: Command, defaultLimit: number): Command {
  return command
    .option('--image <path>', 'an image file to examine (repeatable, or comma-separated)', collect)
    .option('--image-id <n>', 'an indexed image by its stable id (repeatable, or comma-separated)', collect)
    .option('--split <name>', 'examine the first --limit images of this split in id order (default when no image is named: val)')
    .option('--limit <k>', 'images taken from --split', String(defaultLimit));
}

/**
 * Validates the image selection: paths, else ids, else the first K of a split (default val).
 * @throws UsageError or RangeError naming the option and value.
 */
export function parseImageSelection(options: Record<string, unknown>): SelectImagesOptions {
  const paths = options['image'] as string[] | undefined;
  const ids = options['imageId'] as string[] | undefined;
  const named = [paths !== undefined, ids !== undefined, options['split'] !== undefined].filter(Boolean).length;
  if (named > 1) throw new UsageError('Expected one of --image, --image-id or --split, not several');
  if (paths !== undefined) return { paths };
  if (ids !== undefined) return { imageIds: ids.map((id) => expectInteger('imageId', id, 0, Number.MAX_SAFE_INTEGER)) };
  const split = typeof options['split'] === 'string' ? options['split'] : 'val';
  return { split, limit: expectInteger('limit', options['limit'], 1, 1_000_000) };
}
