/**
 * Per-unit statistics of one layer over the images seen, kept as counts,
 * maxima and exact sums so that two accumulators over disjoint images merge
 * to exactly (bit for bit) the accumulator of one pass over both.
 *
 * Per image the pipeline hands over, for every unit, the spatial maximum of
 * its rectified map and the spatial mean. From those: mean and standard
 * deviation of the per-image maximum, the mean activation over all positions
 * (every image has the same number of positions, so the mean of the per-image
 * means), the firing rate (fraction of images whose maximum is above 0), the
 * overall maximum and the dead flag (never fired).
 */
import { addToExactSum, createExactSum, mergeExactSum, roundExactSum, type ExactSum } from './exact-sum.js';

export interface UnitStats {
  readonly numUnits: number;
  /** Images accumulated (the same for every unit of the layer). */
  imagesSeen: number;
  /** [numUnits] images whose maximum was above 0. */
  readonly firingCounts: Float64Array;
  /** [numUnits] largest per-image maximum; -Infinity before any image. */
  readonly maxValues: Float64Array;
  /** Exact sums per unit of the per-image maximum, its square, and the per-image spatial mean. */
  readonly sumMax: ExactSum[];
  readonly sumMaxSquared: ExactSum[];
  readonly sumMean: ExactSum[];
}

/** What the store and the `units` command show for one unit. */
export interface UnitSummary {
  imagesSeen: number;
  firingCount: number;
  /** Fraction of images with maximum above 0; null before any image. */
  firingRate: number | null;
  meanMax: number | null;
  /** Population standard deviation of the per-image maximum. */
  stdMax: number | null;
  meanActivation: number | null;
  /** null before any image. */
  maxValue: number | null;
  /** Never fired on any image seen (false before any image). */
  dead: boolean;
}

/** Empty statistics for `numUnits` units. */
export function createUnitStats(numUnits: number): UnitStats {
  return {
    numUnits,
    imagesSeen: 0,
    firingCounts: new Float64Array(numUnits),
    maxValues: new Float64Array(numUnits).fill(-Infinity),
    sumMax: Array.from({ length: numUnits }, createExactSum),
    sumMaxSquared: Array.from({ length: numUnits }, createExactSum),
    sumMean: Array.from({ length: numUnits }, createExactSum),
  };
}

/**
 * Adds one image's value for one unit. Does not count the image: call
 * countImages once per image after all its units (values must be finite).
 */
export function addUnitValue(stats: UnitStats, unit: number, maxValue: number, meanValue: number): void {
  if (maxValue > 0) stats.firingCounts[unit] = stats.firingCounts[unit]! + 1;
  if (maxValue > stats.maxValues[unit]!) stats.maxValues[unit] = maxValue;
  addToExactSum(stats.sumMax[unit]!, maxValue);
  // A float32 value squared has at most 48 significant bits: exact in float64.
  addToExactSum(stats.sumMaxSquared[unit]!, maxValue * maxValue);
  addToExactSum(stats.sumMean[unit]!, meanValue);
}

/** Counts `n` images whose values were all added. */
export function countImages(stats: UnitStats, n: number): void {
  stats.imagesSeen += n;
}

/**
 * Adds `from` into `into` exactly.
 * @throws RangeError when the unit counts differ.
 */
export function mergeUnitStats(into: UnitStats, from: UnitStats): void {
  if (into.numUnits !== from.numUnits) throw new RangeError(`Cannot merge statistics of ${from.numUnits} units into ${into.numUnits}`);
  into.imagesSeen += from.imagesSeen;
  for (let unit = 0; unit < into.numUnits; unit++) {
    into.firingCounts[unit] = into.firingCounts[unit]! + from.firingCounts[unit]!;
    if (from.maxValues[unit]! > into.maxValues[unit]!) into.maxValues[unit] = from.maxValues[unit]!;
    mergeExactSum(into.sumMax[unit]!, from.sumMax[unit]!);
    mergeExactSum(into.sumMaxSquared[unit]!, from.sumMaxSquared[unit]!);
    mergeExactSum(into.sumMean[unit]!, from.sumMean[unit]!);
  }
}

/**
 * The derived figures of one unit. Each is a function of the exact sums only
 * (rounded once), so a merged accumulator gives the same figures as one pass.
 */
export function summarizeUnit(stats: UnitStats, unit: number): UnitSummary {
  const n = stats.imagesSeen;
  const firingCount = stats.firingCounts[unit]!;
  if (n === 0) {
    return { imagesSeen: 0, firingCount: 0, firingRate: null, meanMax: null, stdMax: null, meanActivation: null, maxValue: null, dead: false };
  }
  const sumMax = roundExactSum(stats.sumMax[unit]!);
  const sumSquares = roundExactSum(stats.sumMaxSquared[unit]!);
  const meanMax = sumMax / n;
  const variance = Math.max(0, (sumSquares - sumMax * meanMax) / n);
  return {
    imagesSeen: n,
    firingCount,
    firingRate: firingCount / n,
    meanMax,
    stdMax: Math.sqrt(variance),
    meanActivation: roundExactSum(stats.sumMean[unit]!) / n,
    maxValue: stats.maxValues[unit]!,
    dead: firingCount === 0,
  };
}

export interface ClassPurity {
  /** Most frequent label among the entries (ties: lower label); null when none is labelled. */
  topLabel: number | null;
  /** Share of the entries carrying topLabel (0..1); null when none is labelled. */
  purity: number | null;
}

/**
 * Class purity of a unit's top entries: the share of the most frequent class.
 * Unlabelled entries (label < 0) count in the denominator but never as a class.
 */
export function computeClassPurity(labels: readonly number[]): ClassPurity {
  const counts = new Map<number, number>();
  for (const label of labels) if (label >= 0) counts.set(label, (counts.get(label) ?? 0) + 1);
  let topLabel: number | null = null;
  let topCount = 0;
  for (const [label, count] of counts) {
    if (count > topCount || (count === topCount && topLabel !== null && label < topLabel)) {
      topLabel = label;
      topCount = count;
    }
  }
  return topLabel === null ? { topLabel: null, purity: null } : { topLabel, purity: topCount / labels.length };
}
