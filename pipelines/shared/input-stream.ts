/**
 * The input half of every pipeline: store -> list -> read -> decode ->
 * augment -> batch, with bounded read-ahead. Other pipelines call
 * `prepareDataset` once and `createBatchStream` per pass.
 */
import { availableParallelism } from 'node:os';
import type { Store } from '../../src/store/open-store.js';
import { UsageError } from '../../src/errors.js';
import { computeSquareSizePx, type CropMode } from '../../src/data/crop-geometry.js';
import { computeSplitBaseId, createImageReader, getSplit, type DatasetRecord, type ImageRecord } from '../../src/store/image-index.js';
import { countImageIds, iterateImageIds, pageIds, type ImageOrder, type ShardSpec } from '../../src/data/image-order.js';
import type { ResampleMethod } from '../../src/data/decode-image.js';
import type { MeanImage } from '../../src/data/mean-image.js';
import { openDataset, type OpenDatasetResult } from '../../src/store/open-dataset.js';
import { DEFAULT_SAMPLE_DIR, ensureSampleData } from '../../src/data/sample-data.js';
import { iterateWithPrefetch } from '../../src/stages/async-batches.js';
import { createAugmentStage } from '../../src/stages/augment-stage.js';
import { createBatchStage } from '../../src/stages/batch-stage.js';
import { createDecodeStage } from '../../src/stages/decode-stage.js';
import { createListStage } from '../../src/stages/list-stage.js';
import { createNormalizeStage } from '../../src/stages/normalize-stage.js';
import { createReadStage } from '../../src/stages/read-stage.js';
import type { DecodedItem, ImageBatch, SkippedItem } from '../../src/stages/stage-items.js';

/** Default number of images decoded at once: the core count. */
export const DEFAULT_DECODE_CONCURRENCY = Math.max(1, availableParallelism());

export interface PrepareDatasetOptions {
  db: Store;
  /** --data; undefined means the built-in sample dataset (created on first use). */
  data?: string;
  splits: string[];
  /** Re-index a split whose tree changed even when runs use its ids (run-pipeline index --reindex). */
  reindex?: boolean;
  /** Where progress lines go; default process.stderr. */
  log?: (line: string) => void;
}

/**
 * Sample dataset roots announced by this process: one command reads the
 * sample dataset through several pipelines (train: its mean image, then its
 * passes), and the user needs to be told once.
 */
const announcedSampleRoots = new Set<string>();

/**
 * Resolves --data (or creates the sample dataset), registers it and indexes the splits.
 * @throws UsageError for a missing folder or split, an empty folder, or labels of unknown classes.
 */
export async function prepareDataset(options: PrepareDatasetOptions): Promise<OpenDatasetResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let root = options.data;
  if (root === undefined) {
    const sample = await ensureSampleData(DEFAULT_SAMPLE_DIR, {
      onImage: (done, total) => { if (done === 1 || done === total) log(`sample-data: writing ${done}/${total} images under ${DEFAULT_SAMPLE_DIR}`); },
    });
    root = sample.dir;
    if (!announcedSampleRoots.has(root)) log(`no --data given: using the built-in sample dataset ${root}`);
    announcedSampleRoots.add(root);
  }
  const loggedAt = new Map<string, number>();
  const result = openDataset(options.db, {
    root, splits: options.splits, reindex: options.reindex, onReindex: log,
    onIndexProgress: (split, n) => {
      if (n - (loggedAt.get(split) ?? 0) < 50_000) return;
      loggedAt.set(split, n);
      log(`indexing ${split}: ${n} images`);
    },
  });
  for (const split of options.splits) if (loggedAt.has(split)) log(`indexed ${split}: ${result.splits[split]!.imageCount} images`);
  return result;
}

export interface SquareStreamOptions {
  db: Store;
  dataset: DatasetRecord;
  split: string;
  /** Model input side S; the square is round(S * 256 / 224) unless squarePx says otherwise. */
  inputSizePx: number;
  /** Side of the square the image is reduced to before the crop (an imported model's resize); default the paper's. */
  squarePx?: number;
  /** How images are resized to the square (an imported model's; default sharp-lanczos3). */
  resample?: ResampleMethod;
  order: ImageOrder;
  seed?: number;
  epoch?: number;
  /** Fixed disjoint subset: the images with id % count === index. */
  shard?: ShardSpec;
  /**
   * Resume point: skip this many images of the pass's sequence (sorted or the
   * epoch's permutation, after sharding). Bad images count as positions too:
   * the position of an image is its index in the sequence, not the number of
   * images delivered before it.
   */
  start?: number;
  /** Visit at most this many images of the sequence (after `start`). */
  limit?: number;
  /** Images decoded at once; default DEFAULT_DECODE_CONCURRENCY. */
  decodeConcurrency?: number;
  strict?: boolean;
  onSkip?: (item: SkippedItem) => void;
  /** Maximum decoded pixels of one input image (sharp's limitInputPixels). */
  maxInputPixels?: number;
}

export interface BatchStreamOptions extends Omit<SquareStreamOptions, 'order'> {
  /** Mean image of the square size (its `pixels` are subtracted); null: no subtraction. */
  meanImage: MeanImage | null;
  crop: CropMode;
  /** Default: shuffled for paper/random crops, sorted for centre/ten. */
  order?: ImageOrder;
  /** Images per batch (a ten-crop batch has 10x the rows). */
  batchSize: number;
  /** Batches kept ready ahead of the consumer; default 2. */
  prefetchBatches?: number;
  /** Applied to each batch's pixels after the crop (an imported model's value steps, see normalizePixels). */
  normalize?: (pixels: Float32Array) => Float32Array;
}

/** A pass: iterate it for batches; `total` is the number of images it visits (before skips). */
export interface BatchStream extends AsyncIterable<ImageBatch> {
  total: number;
  squarePx: number;
}

/** Lazy records of a pass, read from the store a page at a time. */
function listRecords(options: SquareStreamOptions): { records: Iterable<ImageRecord>; total: number } {
  const split = getSplit(options.db, options.dataset.id, options.split);
  if (split === undefined || split.status !== 'ready') throw new UsageError(`Split "${options.split}" of ${options.dataset.root} is not indexed; call prepareDataset first`);
  const orderOptions = {
    baseId: computeSplitBaseId(split.ordinal), imageCount: split.imageCount, order: options.order,
    seed: options.seed ?? 1, epoch: options.epoch ?? 0, shard: options.shard, start: options.start, limit: options.limit,
  };
  const read = createImageReader(options.db, options.dataset);
  function* records(): Generator<ImageRecord> {
    for (const page of pageIds(iterateImageIds(orderOptions), 256)) yield* read(page);
  }
  return { records: records(), total: countImageIds(orderOptions) };
}

/** list -> read -> decode as a highland stream of decoded squares. */
function buildSquareStream(options: SquareStreamOptions): { stream: Highland.Stream<DecodedItem>; total: number; squarePx: number } {
  const { records, total } = listRecords(options);
  const squarePx = options.squarePx ?? computeSquareSizePx(options.inputSizePx);
  const policy = { strict: options.strict === true, onSkip: options.onSkip };
  const concurrency = options.decodeConcurrency ?? DEFAULT_DECODE_CONCURRENCY;
  const stream = createListStage(records)
    .through(createReadStage({ ...policy, concurrency: concurrency + 2 }))
    .through(createDecodeStage({ ...policy, squarePx, concurrency, maxInputPixels: options.maxInputPixels, resample: options.resample, cropPx: options.inputSizePx }));
  return { stream, total, squarePx };
}

/** Decoded R x R squares of a pass (for the mean image and other whole-image consumers). */
export function createSquareStream(options: SquareStreamOptions): AsyncIterable<DecodedItem> & { total: number; squarePx: number } {
  const { stream, total, squarePx } = buildSquareStream(options);
  return { total, squarePx, [Symbol.asyncIterator]: () => iterateWithPrefetch(stream, 4) };
}

/**
 * Batches of one pass. Nothing is read until iteration starts; breaking out
 * of the loop stops the stages.
 * @throws UsageError when the split is not indexed or the mean does not fit the square;
 *   while iterating, DataError for the first bad image under `strict`.
 */
export function createBatchStream(options: BatchStreamOptions): BatchStream {
  const order = options.order ?? (options.crop === 'paper' || options.crop === 'random' ? 'shuffled' : 'sorted');
  const { stream, total, squarePx } = buildSquareStream({ ...options, order });
  if (options.meanImage !== null && options.meanImage.sizePx !== squarePx) {
    throw new UsageError(`Mean image is ${options.meanImage.sizePx} px but input size ${options.inputSizePx} px needs ${squarePx} px`);
  }
  const batches = stream
    .through(createAugmentStage({
      cropMode: options.crop, cropPx: options.inputSizePx, meanSquare: options.meanImage?.pixels ?? null,
      seed: options.seed ?? 1, epoch: options.epoch ?? 0,
    }))
    .through(createBatchStage({ batchSize: options.batchSize }));
  const normalized = options.normalize === undefined ? batches : batches.through(createNormalizeStage(options.normalize));
  return { total, squarePx, [Symbol.asyncIterator]: () => iterateWithPrefetch(normalized, options.prefetchBatches ?? 2) };
}
