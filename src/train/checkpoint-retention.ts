/**
 * Which epoch checkpoints a run keeps. By default the epochs the paper's
 * feature-evolution figure (Fig. 4) shows, plus the last and the best
 * (lowest validation top-1 error), so a 70-epoch ImageNet run keeps about
 * ten 250 MB files instead of seventy.
 */

/** Epochs of Fig. 4. */
export const FEATURE_EVOLUTION_EPOCHS: readonly number[] = Object.freeze([1, 2, 5, 10, 20, 30, 40, 64]);

export interface RetentionOptions {
  /** Epochs always kept; default FEATURE_EVOLUTION_EPOCHS. */
  keepEpochs: readonly number[];
  /** Keep every epoch (ignores keepEpochs). */
  keepAll: boolean;
}

export interface EpochScore {
  epoch: number;
  /** Validation top-1 error, null when not validated. */
  valError: number | null;
}

/** The best epoch: lowest validation error, earliest on ties; null when none was validated. */
export function findBestEpoch(scores: readonly EpochScore[]): number | null {
  let best: EpochScore | null = null;
  for (const s of scores) {
    if (s.valError === null || !Number.isFinite(s.valError)) continue;
    if (best === null || s.valError < best.valError! || (s.valError === best.valError && s.epoch < best.epoch)) best = s;
  }
  return best?.epoch ?? null;
}

/** The epochs to keep among those that have a checkpoint, ascending. */
export function selectEpochsToKeep(scores: readonly EpochScore[], options: RetentionOptions): number[] {
  const epochs = scores.map((s) => s.epoch);
  if (options.keepAll || epochs.length === 0) return [...epochs].sort((a, b) => a - b);
  const keep = new Set(epochs.filter((e) => options.keepEpochs.includes(e)));
  keep.add(Math.max(...epochs));
  const best = findBestEpoch(scores);
  if (best !== null) keep.add(best);
  return [...keep].sort((a, b) => a - b);
}

/** The epochs whose checkpoints can be deleted, ascending. */
export function selectEpochsToDelete(scores: readonly EpochScore[], options: RetentionOptions): number[] {
  const keep = new Set(selectEpochsToKeep(scores, options));
  return scores.map((s) => s.epoch).filter((e) => !keep.has(e)).sort((a, b) => a - b);
}
