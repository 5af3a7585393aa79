/**
 * Options of every command that streams images, declared once (with
 * addDataOption/addSeedOption from common-options.ts) and validated once.
 */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import type { CropMode } from '../data/crop-geometry.js';
import { expectChoice, expectInteger } from '../errors.js';

export interface InputOptions {
  decodeConcurrency: number;
  strict: boolean;
  crop: CropMode;
}

/** --decode-concurrency N and --strict. */
export function addDecodeOptions(command: Command): Command {
  return command
    .option('--decode-concurrency <n>', "images decoded at once; the default is this machine's core count", String(Math.max(1, availableParallelism())))
    .option('--strict', 'stop at the first bad image (its path and reason) instead of recording and skipping it', false);
}

/** --crop paper|random|center for training commands. */
export function addTrainCropOption(command: Command): Command {
  return command.option('--crop <mode>', "training crops: paper (one of the paper's 4 corners + centre, flipped or not), random (any position, random flip) or center (the centre crop, no flip: a step other tools can reproduce; also spelt centre)", 'paper');
}

/** The training crop of --crop (`center` and `centre` are the same). @throws RangeError naming the value. */
export function parseTrainCrop(value: unknown): 'paper' | 'random' | 'centre' {
  const crop = expectChoice('crop', value, ['paper', 'random', 'center', 'centre'] as const);
  return crop === 'center' ? 'centre' : crop;
}

/** --ten-crop for evaluation commands. */
export function addTenCropOption(command: Command): Command {
  return command.option('--ten-crop', 'evaluate on all 10 paper crops and average them (default: the centre crop)', false);
}

/**
 * Validates the input options of a parsed command.
 * @throws RangeError (usage error) naming the option and value.
 */
export function parseInputOptions(options: Record<string, unknown>): InputOptions {
  const decodeConcurrency = expectInteger('decodeConcurrency', options['decodeConcurrency'] ?? availableParallelism(), 1, 256);
  let crop: CropMode = 'centre';
  if (options['tenCrop'] === true) crop = 'ten';
  else if (options['crop'] !== undefined) crop = parseTrainCrop(options['crop']);
  return { decodeConcurrency, strict: options['strict'] === true, crop };
}
