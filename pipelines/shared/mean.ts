/**
 * `run-pipeline mean`: one streaming pass over a split's R x R squares that
 * sums them into a float64 image, saving the running sum every few thousand
 * images (an interrupted pass resumes there), then stores the float32 mean
 * and writes it as a PNG to look at.
 */
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { computeSquareSizePx } from '../../src/data/crop-geometry.js';
import { computeSplitBaseId, type DatasetRecord } from '../../src/store/image-index.js';
import { accumulateSquare, computeMeanFromSum, quantizeMean } from '../../src/data/mean-image.js';
import { loadMeanImage, readMeanProgress, readStoredMeanCounts, saveMeanImage, saveMeanProgress, type MeanProgress } from '../../src/store/mean-store.js';
import { createProgress } from '../../src/progress.js';
import type { Store } from '../../src/store/open-store.js';
import { createRun, makeRunId, recordSkippedItem, setRunStatus, uniqueRunId } from '../../src/store/runs.js';
import { createSquareStream, prepareDataset } from './input-stream.js';

export interface MeanPipelineOptions {
  db: Store;
  data?: string;
  split: string;
  /** Model input side S; the mean is over round(S * 256 / 224) squares. */
  inputSizePx: number;
  decodeConcurrency?: number;
  strict?: boolean;
  /** Recompute even when a complete mean exists. */
  force?: boolean;
  /** Folder for the PNG; default out/mean. */
  outDir?: string;
  /** Images between saves of the running sum; default 5000. */
  saveEveryImages?: number;
  log?: (line: string) => void;
}

export interface MeanPipelineResult {
  runId: string | null;
  datasetId: number;
  sizePx: number;
  imageCount: number;
  skipped: number;
  pngPath: string;
  /** True when an existing complete mean was reused. */
  reused: boolean;
}

/** The saved partial pass to resume, unless --strict must not inherit the files it skipped. */
function readResumableProgress(options: MeanPipelineOptions, datasetId: number, sizePx: number, log: (line: string) => void): MeanProgress | undefined {
  const saved = readMeanProgress(options.db, datasetId, options.split, sizePx);
  if (saved === undefined || options.strict !== true || saved.position === saved.imageCount) return saved;
  log(`mean: the saved partial pass skipped ${saved.position - saved.imageCount} bad files; --strict starts over`);
  return undefined;
}

/** Writes the mean as an 8-bit PNG. */
async function writeMeanPng(mean: Float32Array, sizePx: number, path: string): Promise<void> {
  await sharp(quantizeMean(mean), { raw: { width: sizePx, height: sizePx, channels: 3 } }).png().toFile(path);
}

/**
 * Computes (or resumes, or reuses) the mean image of a split.
 * @throws UsageError for dataset problems; DataError for the first bad image under `strict`;
 *   RangeError when every image was skipped.
 */
export async function runMeanPipeline(options: MeanPipelineOptions): Promise<MeanPipelineResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { dataset, splits } = await prepareDataset({ db: options.db, data: options.data, splits: [options.split], log });
  const sizePx = computeSquareSizePx(options.inputSizePx);
  const outDir = options.outDir ?? join('out', 'mean');
  mkdirSync(outDir, { recursive: true });
  const pngPath = join(outDir, `${basename(dataset.root)}-${options.split}-${sizePx}px.png`);
  const existing = loadMeanImage(options.db, dataset.id, sizePx);
  const stored = readStoredMeanCounts(options.db, dataset.id, options.split, sizePx);
  const recheck = options.strict === true && stored !== undefined && stored.skipped > 0;
  if (recheck) log(`mean: the stored ${sizePx} px mean of ${options.split} skipped ${stored.skipped} bad files; --strict re-checks them: recomputing`);
  if (!options.force && !recheck && stored !== undefined && existing.source === 'computed' && existing.split === options.split) {
    await writeMeanPng(existing.pixels, sizePx, pngPath);
    log(`mean: reusing the stored ${sizePx} px mean of ${options.split} (${stored.imageCount} images, ${stored.skipped} skipped); --force recomputes`);
    return { runId: null, datasetId: dataset.id, sizePx, imageCount: stored.imageCount, skipped: stored.skipped, pngPath, reused: true };
  }
  const runId = uniqueRunId(options.db, makeRunId('mean', new Date(), `${options.split}-${sizePx}px`));
  createRun(options.db, { id: runId, kind: 'mean', options: { data: dataset.root, split: options.split, sizePx, strict: options.strict === true } });
  try {
    const saved = options.force || recheck ? undefined : readResumableProgress(options, dataset.id, sizePx, log);
    const state = saved ?? { position: 0, imageCount: 0, sum: new Float64Array(sizePx * sizePx * 3) };
    if (saved) log(`mean: resuming after ${saved.position} images`);
    await sumSquares(options, dataset, computeSplitBaseId(splits[options.split]!.ordinal), state, runId);
    const skipped = state.position - state.imageCount;
    const mean = computeMeanFromSum(state.sum, state.imageCount);
    saveMeanImage(options.db, dataset.id, options.split, sizePx, state.position, state.imageCount, mean);
    await writeMeanPng(mean, sizePx, pngPath);
    setRunStatus(options.db, runId, 'finished');
    return { runId, datasetId: dataset.id, sizePx, imageCount: state.imageCount, skipped, pngPath, reused: false };
  } catch (error) {
    setRunStatus(options.db, runId, 'failed');
    throw error;
  }
}

/** The streaming pass: adds every decoded square into `state`, saving it periodically; at the end `state.position` is the whole split. */
async function sumSquares(options: MeanPipelineOptions, dataset: DatasetRecord, baseId: number, state: MeanProgress, runId: string): Promise<void> {
  const { db, split } = options;
  let skipped = 0;
  const squares = createSquareStream({
    db, dataset, split,
    inputSizePx: options.inputSizePx, order: 'sorted', start: state.position,
    decodeConcurrency: options.decodeConcurrency, strict: options.strict,
    onSkip: (item) => { skipped++; recordSkippedItem(db, runId, item); },
  });
  const sizePx = squares.squarePx;
  const endPosition = state.position + squares.total;
  const progress = createProgress({ label: `mean ${split} ${sizePx}px`, total: squares.total });
  const saveEvery = options.saveEveryImages ?? 5000;
  let sinceSave = 0;
  for await (const item of squares) {
    accumulateSquare(state.sum, item.square);
    state.imageCount++;
    // Ids are contiguous in sorted order, so the id tells how far the pass got (skips included).
    state.position = item.record.imageId - baseId + 1;
    progress.tick(1);
    if (++sinceSave >= saveEvery) { saveMeanProgress(db, dataset.id, split, sizePx, state); sinceSave = 0; }
  }
  // Trailing bad files leave no decoded item behind them; the pass still consumed them.
  state.position = endPosition;
  progress.done(`mean ${split}: ${state.imageCount} images averaged, ${skipped} skipped in this pass, ${state.position - state.imageCount} in all`);
}
