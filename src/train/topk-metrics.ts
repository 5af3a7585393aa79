/**
 * Classification metrics as pure functions over logits read back from the
 * backend: top-k correctness, running sums over an epoch, per-class errors.
 */

/**
 * Rank of the true label among one row of scores: how many classes beat it.
 * Ties go to the lower class index (as a stable sort would order them), so
 * an all-equal row is top-1 correct only for label 0.
 */
export function rankOfLabel(scores: ArrayLike<number>, offset: number, numClasses: number, label: number): number {
  const target = scores[offset + label]!;
  let rank = 0;
  for (let c = 0; c < numClasses; c++) {
    const s = scores[offset + c]!;
    if (s > target || (s === target && c < label)) rank += 1;
  }
  return rank;
}

/**
 * Rank of each row's label.
 * scores: [N, C] row-major. @throws RangeError naming a label outside 0..C-1.
 */
export function rankLabels(scores: ArrayLike<number>, numClasses: number, labels: readonly number[]): number[] {
  return labels.map((label, i) => {
    if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw new RangeError(`Expected label between 0 and ${numClasses - 1} but received ${label}`);
    }
    return rankOfLabel(scores, i * numClasses, numClasses, label);
  });
}

/** Running sums over an epoch or an evaluation; plain numbers, so they save with a checkpoint. */
export interface MetricSums {
  images: number;
  lossSum: number;
  top1Wrong: number;
  top5Wrong: number;
}

export function createMetricSums(): MetricSums {
  return { images: 0, lossSum: 0, top1Wrong: 0, top5Wrong: 0 };
}

/** Adds one batch: its mean loss and the ranks of its labels. */
export function addBatchMetrics(sums: MetricSums, meanLoss: number, ranks: readonly number[]): MetricSums {
  return {
    images: sums.images + ranks.length,
    lossSum: sums.lossSum + meanLoss * ranks.length,
    top1Wrong: sums.top1Wrong + ranks.filter((r) => r >= 1).length,
    top5Wrong: sums.top5Wrong + ranks.filter((r) => r >= 5).length,
  };
}

export interface MetricSummary {
  images: number;
  loss: number;
  top1Error: number;
  top5Error: number;
}

/** Means over the images summed (NaN when there were none). */
export function summarizeMetrics(sums: MetricSums): MetricSummary {
  const n = sums.images;
  return { images: n, loss: sums.lossSum / n, top1Error: sums.top1Wrong / n, top5Error: sums.top5Wrong / n };
}

export interface ScoredImages {
  /** One per image (crops averaged). */
  labels: number[];
  ranks: number[];
  /** Mean of -log p(label) over the images. */
  meanLoss: number;
}

/**
 * Scores a batch of probabilities, averaging each image's `cropsPerImage`
 * consecutive rows first (ten-crop evaluation).
 * probs: [N * cropsPerImage, C] row-major; labels: one per row.
 */
export function scoreProbabilities(probs: Float32Array, numClasses: number, rowLabels: readonly number[], cropsPerImage: number): ScoredImages {
  const images = rowLabels.length / cropsPerImage;
  const averaged = new Float64Array(images * numClasses);
  for (let row = 0; row < rowLabels.length; row++) {
    const image = Math.floor(row / cropsPerImage);
    for (let c = 0; c < numClasses; c++) averaged[image * numClasses + c]! += probs[row * numClasses + c]! / cropsPerImage;
  }
  const labels = Array.from({ length: images }, (_, i) => rowLabels[i * cropsPerImage]!);
  const ranks = rankLabels(averaged, numClasses, labels);
  let lossSum = 0;
  labels.forEach((label, i) => { lossSum -= Math.log(Math.max(averaged[i * numClasses + label]!, 1e-30)); });
  return { labels, ranks, meanLoss: images > 0 ? lossSum / images : 0 };
}

/** Per-class counts, accumulated batch by batch (memory grows with classes, not images). */
export type ClassTally = Map<number, { images: number; top1Wrong: number; top5Wrong: number }>;

/** Adds a batch's labels and ranks to a tally (in place). */
export function addClassTally(tally: ClassTally, labels: readonly number[], ranks: readonly number[]): void {
  labels.forEach((label, i) => {
    const row = tally.get(label) ?? { images: 0, top1Wrong: 0, top5Wrong: 0 };
    row.images += 1;
    if (ranks[i]! >= 1) row.top1Wrong += 1;
    if (ranks[i]! >= 5) row.top5Wrong += 1;
    tally.set(label, row);
  });
}

export interface ClassErrorRow {
  label: number;
  images: number;
  top1Error: number;
  top5Error: number;
}

/** Per-class top-1/top-5 error, by label; classes without images are left out. */
export function summarizeClassTally(tally: ClassTally): ClassErrorRow[] {
  return [...tally.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([label, r]) => ({ label, images: r.images, top1Error: r.top1Wrong / r.images, top5Error: r.top5Wrong / r.images }));
}
