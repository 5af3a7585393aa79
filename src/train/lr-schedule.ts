/**
 * Learning-rate schedules, as pure state transitions evaluated once per epoch
 * after validation. The paper annealed by hand "when validation error
 * plateaus"; `plateau` automates that: divide by `factor` when the validation
 * top-1 error has not improved for `patience` epochs.
 */

export const LR_SCHEDULE_KINDS = ['plateau', 'step', 'fixed'] as const;
export type LrScheduleKind = (typeof LR_SCHEDULE_KINDS)[number];

export interface LrScheduleOptions {
  kind: LrScheduleKind;
  initialLr: number;
  /** plateau: epochs without improvement before dividing. */
  patience: number;
  /** step: divide every `stepEpochs` epochs. */
  stepEpochs: number;
  /** Divisor applied at each decay (10 in the paper's era). */
  factor: number;
}

/** Saved with every checkpoint, so a resumed run continues the same schedule. */
export interface LrScheduleState {
  /** Rate used for the next epoch. */
  learningRate: number;
  /** Best validation top-1 error so far (null before the first validation). */
  bestValError: number | null;
  /** Epochs since bestValError last improved. */
  epochsWithoutImprovement: number;
}

/** The state before epoch 1. */
export function createLrScheduleState(options: LrScheduleOptions): LrScheduleState {
  return { learningRate: options.initialLr, bestValError: null, epochsWithoutImprovement: 0 };
}

/**
 * The state after finishing `epoch` (1-based) with validation top-1 error
 * `valError` (null when there was no validation). A missing validation counts
 * as no improvement.
 */
export function advanceLrSchedule(options: LrScheduleOptions, state: LrScheduleState, epoch: number, valError: number | null): LrScheduleState {
  const improved = valError !== null && (state.bestValError === null || valError < state.bestValError);
  const bestValError = improved ? valError : state.bestValError;
  const waited = improved ? 0 : state.epochsWithoutImprovement + 1;
  switch (options.kind) {
    case 'fixed':
      return { learningRate: state.learningRate, bestValError, epochsWithoutImprovement: waited };
    case 'step': {
      const decays = Math.floor(epoch / options.stepEpochs);
      return { learningRate: options.initialLr / options.factor ** decays, bestValError, epochsWithoutImprovement: waited };
    }
    case 'plateau':
      if (waited >= options.patience) {
        return { learningRate: state.learningRate / options.factor, bestValError, epochsWithoutImprovement: 0 };
      }
      return { learningRate: state.learningRate, bestValError, epochsWithoutImprovement: waited };
  }
}
