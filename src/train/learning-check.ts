/**
 * Notices a run that is not learning: after its first epoch, a loss still at
 * ln(C) (what a C-way softmax with near-zero logits gives) means the
 * gradients did nothing. Pure: the caller logs the message.
 *
 * Measured on zfnet-small and the sample dataset (C = 12, ln 12 = 2.48491):
 * the paper's init gives train loss 2.48501 and val loss 2.48490 after epoch
 * 1 (1e-4 from ln C); the demo recipe gives 2.52450 and 2.32039 (0.04 and
 * 0.16 away). The tolerance, 0.5% of ln(C), sits between the two.
 */
import { formatDefaultFlags, SMALL_MODEL_RECIPE_DEFAULTS } from './recipe-defaults.js';
import type { InitScheme } from './init-scale.js';

/** A loss within this fraction of ln(C) counts as not moved. */
export const STUCK_LOSS_RELATIVE_TOLERANCE = 0.005;

export interface FirstEpochLosses {
  /** Mean training loss of the epoch; null when not finite. */
  trainLoss: number | null;
  /** Validation loss after the epoch; null without validation. */
  valLoss: number | null;
  numClasses: number;
}

/** True when every loss given is within the tolerance of ln(numClasses) (and at least one is given). */
export function isLossStuckAtChance(losses: FirstEpochLosses): boolean {
  const chance = Math.log(losses.numClasses);
  const given = [losses.trainLoss, losses.valLoss].filter((v): v is number => v !== null);
  return losses.numClasses >= 2 && given.length > 0 && given.every((loss) => Math.abs(loss - chance) <= STUCK_LOSS_RELATIVE_TOLERANCE * chance);
}

export interface StuckRecipe {
  model: string;
  init: InitScheme;
  learningRate: number;
}

/**
 * The warning for a stuck run, naming the likely cause and the flag to change;
 * null when the losses moved.
 */
export function describeStuckLoss(losses: FirstEpochLosses, recipe: StuckRecipe): string | null {
  if (!isLossStuckAtChance(losses)) return null;
  const shown = [losses.trainLoss === null ? null : `train loss ${losses.trainLoss.toFixed(4)}`, losses.valLoss === null ? null : `val loss ${losses.valLoss.toFixed(4)}`].filter((s) => s !== null).join(', ');
  const head = `train: warning: after epoch 1 the loss has not moved from ln(${losses.numClasses}) = ${Math.log(losses.numClasses).toFixed(4)} (${shown}): the model predicts chance and is not learning.`;
  const cause = recipe.init === 'paper'
    ? ` Likely cause: the paper's init N(0, 0.01^2) leaves ${recipe.model}'s logits near zero, so the gradients vanish; use --init scaled (the recipe measured to learn on the small models: ${formatDefaultFlags(SMALL_MODEL_RECIPE_DEFAULTS.defaults)}).`
    : ` Likely cause: the learning rate ${recipe.learningRate} is too small to move the weights in an epoch, or so large that the updates cancel; change --lr (try ${roundTo3(recipe.learningRate * 3)} and ${roundTo3(recipe.learningRate / 3)}).`;
  return `${head}${cause}`;
}

/** Three significant digits, without trailing zeros. */
function roundTo3(value: number): number {
  return Number(value.toPrecision(3));
}
