/**
 * Finding the mean image a finished run subtracted, so a later command
 * (mosaics, the explorer) feeds the model exactly the run's inputs: the run
 * recorded the mean's sha256; the candidates are the checkpoint's own mean,
 * the store's means of the run's dataset at the run's size, and the constant
 * fallback. Pure.
 */
import { UsageError } from '../errors.js';
import { describeMean, type MeanImage } from './mean-image.js';

export interface RunMeanChoice {
  mean: MeanImage;
  /** One line: which mean, and whether it is the one the run recorded. */
  line: string;
}

/**
 * The candidate whose hash is the recorded one (the first candidate when the
 * run recorded none: runs made before hashes were recorded).
 * `recordedSha256` may be a prefix (runs record 16 hex digits in their preprocessing).
 * @throws UsageError naming the run, the recorded hash and every candidate's when none matches.
 */
export function chooseRunMean(runId: string, recordedSha256: string | null, candidates: readonly MeanImage[], hint: string): RunMeanChoice {
  if (candidates.length === 0) throw new RangeError('chooseRunMean needs at least one candidate');
  if (recordedSha256 === null) return { mean: candidates[0]!, line: `${describeMean(candidates[0]!)} (run ${runId} recorded no mean hash: assuming it)` };
  const match = candidates.find((c) => c.sha256.startsWith(recordedSha256));
  if (match !== undefined) {
    const note = match === candidates[0] ? `, the one run ${runId} subtracted` : `: the one run ${runId} subtracted (not ${describeMean(candidates[0]!).replace(/^mean image: /, '')})`;
    return { mean: match, line: `${describeMean(match)}${note}` };
  }
  const seen = candidates.map((c) => `  ${describeMean(c).replace(/^mean image: /, '')}`).join('\n');
  throw new UsageError(`Run ${runId} subtracted a mean image with sha256 ${recordedSha256.slice(0, 12)}, which neither its checkpoint nor this store holds; `
    + `its stored activations cannot be reproduced with another mean. Available here:\n${seen}\n`
    + `Run the command in the store the run was made in, or compute that mean here (${hint}).`);
}
