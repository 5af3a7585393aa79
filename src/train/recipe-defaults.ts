/**
 * Training defaults per architecture: the recipe options a user does not give
 * on the command line take the values that were measured to learn for that
 * architecture's size. Pure: a frozen table and lookups.
 *
 * - Full size (`zfnet`, `alexnet`: 224 px, fc 4096): the paper's recipe
 *   (Sec. 3): weights N(0, 0.01^2), batch 128, learning rate 0.01 annealed
 *   when validation error plateaus.
 * - The scaled-down variants (`-small`, `-tiny`): the demo's measured recipe.
 *   With the paper's init their logits start near 1e-5 and the loss stays at
 *   ln(C) (zfnet-small on the sample dataset: 2.4850 = ln 12 after epoch 1,
 *   val top-1 error 91.7%, chance). The fan-in-scaled init, batch 32 and a
 *   fixed rate of 0.001 learn; dropout 0.5 on their 256-unit fc layers slows
 *   that most. Measured on zfnet-small, sample dataset, 4 epochs, onnx engine
 *   (val top-1 error after epoch 4): dropout 0.5 at lr 0.001 60.0%, 0.003
 *   86.7%, 0.005 91.7% (stalled); batch 16 at 0.002 91.7%; dropout 0.25 at
 *   0.003 43.3%; no dropout at 0.001 23.7%, at 0.002 34.7%, batch 16 at 0.001
 *   21.7%. So no dropout for these models; full size keeps the paper's 0.5.
 */
import { ARCHITECTURES } from '../model/architectures.js';
import type { InitScheme } from './init-scale.js';
import type { LrScheduleKind } from './lr-schedule.js';

/** The recipe fields that default per architecture. */
export interface ArchitectureRecipeDefaults {
  init: InitScheme;
  batchSize: number;
  learningRate: number;
  lrSchedule: LrScheduleKind;
  /** Dropout rate of fc6 and fc7. */
  dropout: number;
}

export interface RecipeDefaultsEntry {
  /** Where the values come from, for the run record and `train --help`. */
  source: string;
  defaults: Readonly<ArchitectureRecipeDefaults>;
}

/** The paper's recipe, for full-size architectures. */
export const PAPER_RECIPE_DEFAULTS: Readonly<RecipeDefaultsEntry> = Object.freeze({
  source: "the paper's recipe (Sec. 3)",
  defaults: Object.freeze({ init: 'paper', batchSize: 128, learningRate: 0.01, lrSchedule: 'plateau', dropout: 0.5 }),
});

/** The demo's measured recipe, for the scaled-down architectures (see the file comment). */
export const SMALL_MODEL_RECIPE_DEFAULTS: Readonly<RecipeDefaultsEntry> = Object.freeze({
  source: "the demo's measured recipe for the scaled-down models",
  defaults: Object.freeze({ init: 'scaled', batchSize: 32, learningRate: 0.001, lrSchedule: 'fixed', dropout: 0 }),
});

/** Command-line flag of each defaulted field, in the order they are shown. */
export const DEFAULTED_FLAGS: Readonly<Record<keyof ArchitectureRecipeDefaults, string>> = Object.freeze({
  init: '--init', batchSize: '--batch-size', learningRate: '--lr', lrSchedule: '--lr-schedule', dropout: '--dropout',
});

/** True for an architecture at the paper's size (224 px input, 4096-unit fc layers). */
function isFullSize(model: string): boolean {
  const scale = ARCHITECTURES[model]!.scale;
  return scale.inputSizePx >= 224 && scale.fcUnits >= 4096;
}

/**
 * The defaults of an architecture.
 * @throws RangeError naming the model when it is not a known architecture.
 */
export function resolveRecipeDefaults(model: string): Readonly<RecipeDefaultsEntry> {
  if (!Object.hasOwn(ARCHITECTURES, model)) throw new RangeError(`Expected one of ${Object.keys(ARCHITECTURES).join(', ')} for model but received ${JSON.stringify(model)}`);
  return isFullSize(model) ? PAPER_RECIPE_DEFAULTS : SMALL_MODEL_RECIPE_DEFAULTS;
}

/** "--init scaled --batch-size 32 --lr 0.001 --lr-schedule fixed --dropout 0" for the given fields (all by default). */
export function formatDefaultFlags(defaults: Readonly<ArchitectureRecipeDefaults>, fields: readonly (keyof ArchitectureRecipeDefaults)[] = Object.keys(DEFAULTED_FLAGS) as Array<keyof ArchitectureRecipeDefaults>): string {
  return fields.map((field) => `${DEFAULTED_FLAGS[field]} ${defaults[field]}`).join(' ');
}

/** The help text's table: one line per group of architectures with the same defaults. */
export function describeRecipeDefaults(): string {
  const groups = new Map<Readonly<RecipeDefaultsEntry>, string[]>();
  for (const model of Object.keys(ARCHITECTURES)) {
    const entry = resolveRecipeDefaults(model);
    groups.set(entry, [...(groups.get(entry) ?? []), model]);
  }
  return [...groups].map(([entry, models]) => `  ${models.join(', ')}: ${formatDefaultFlags(entry.defaults)} (${entry.source})`).join('\n');
}
