/**
 * The IO edge shared by the experiment pipelines: the model they examine (a
 * checkpoint, or fresh paper-initialised weights), the images they examine
 * (by path, by image id, or the first K of a split), and each image's model
 * input, made with the input engineer's preprocessing (decodeSquare, the
 * centre crop of extractCrop, the stored mean image). Everything else in
 * src/experiments is pure.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadCheckpoint } from '../checkpoint/checkpoint-file.js';
import { computePaperCropBox, computeSquareSizePx, extractCrop } from '../data/crop-geometry.js';
import { decodeSquare, describeDecodeError } from '../data/decode-image.js';
import { KNOWN_SPLIT_ORDINALS, SPLIT_ID_STRIDE } from '../data/dataset-layout.js';
import { computeSplitBaseId, createImageReader, getSplit, type ClassRecord, type DatasetRecord } from '../store/image-index.js';
import { iterateImageIds } from '../data/image-order.js';
import type { MeanImage } from '../data/mean-image.js';
import { UsageError } from '../errors.js';
import { buildModelConfig } from '../model/architectures.js';
import { initParams, type ModelParams } from '../model/params.js';
import type { ModelConfig } from '../model/spec.js';
import type { Store } from '../store/open-store.js';

export interface ExperimentModel {
  config: ModelConfig;
  /** Ownership: the caller disposes them (disposeParams). */
  params: ModelParams;
  /** What the weights are, for the run record: a checkpoint file or a seed. */
  source: { checkpoint: string; sha256: string } | { randomSeed: number };
  /** The mean image the checkpoint carries (null or absent: fresh weights, or a checkpoint from before means travelled with it). */
  checkpointMean?: MeanImage | null;
}

export interface LoadExperimentModelOptions {
  checkpoint?: string;
  /** Architecture for fresh weights when no checkpoint is given. */
  model?: string;
  seed: number;
  /** Class count of fresh weights (the dataset's). */
  numClasses: number;
}

/**
 * Loads the checkpoint, or initialises `model` with the paper's init from `seed`.
 * @throws UsageError when neither is given, or the checkpoint cannot be used.
 */
export function loadExperimentModel(options: LoadExperimentModelOptions): ExperimentModel {
  if (options.checkpoint !== undefined) {
    const loaded = loadCheckpoint(options.checkpoint);
    return { config: loaded.config, params: loaded.params, source: { checkpoint: resolve(options.checkpoint), sha256: loaded.sha256 }, checkpointMean: loaded.mean };
  }
  if (options.model === undefined) throw new UsageError('Expected --checkpoint FILE (a trained model) or --model NAME (fresh random weights)');
  const config = buildModelConfig(options.model, { numClasses: options.numClasses });
  return { config, params: initParams(config, options.seed), source: { randomSeed: options.seed } };
}

/**
 * The splits a selection needs indexed: the named split, or the splits the
 * image ids belong to (train, val, test by their id prefix); none for paths.
 */
export function listNeededSplits(options: SelectImagesOptions): string[] {
  if (options.paths !== undefined && options.paths.length > 0) return [];
  if (options.imageIds !== undefined && options.imageIds.length > 0) {
    const byOrdinal = new Map(Object.entries(KNOWN_SPLIT_ORDINALS).map(([name, ordinal]) => [ordinal, name]));
    return [...new Set(options.imageIds.map((id) => byOrdinal.get(Math.floor(id / SPLIT_ID_STRIDE))).filter((s): s is string => s !== undefined))];
  }
  return options.split === undefined ? [] : [options.split];
}

/** One image an experiment examines. */
export interface ExperimentImage {
  /** Image id as text, or the resolved path for an image given by path. */
  key: string;
  imageId: number | null;
  path: string;
  /** Dataset label (classes.label), null when unknown. */
  datasetLabel: number | null;
}

export interface SelectImagesOptions {
  paths?: string[];
  imageIds?: number[];
  split?: string;
  limit?: number;
}

/**
 * The images named by paths, by ids, or the first `limit` of a split in id order.
 * @throws UsageError naming an id that is not in the dataset, or when nothing selects images.
 */
export function selectExperimentImages(db: Store, dataset: DatasetRecord, options: SelectImagesOptions): ExperimentImage[] {
  const read = createImageReader(db, dataset);
  if (options.paths !== undefined && options.paths.length > 0) {
    return options.paths.map((p) => ({ key: resolve(p), imageId: null, path: resolve(p), datasetLabel: null }));
  }
  let ids = options.imageIds;
  if (ids === undefined || ids.length === 0) {
    if (options.split === undefined) throw new UsageError('Expected images: --image PATH, --image-id N or --split NAME');
    const split = getSplit(db, dataset.id, options.split);
    if (split === undefined) throw new UsageError(`Split "${options.split}" of ${dataset.root} is not indexed`);
    ids = [...iterateImageIds({ baseId: computeSplitBaseId(split.ordinal), imageCount: split.imageCount, order: 'sorted', seed: 1, epoch: 0, limit: options.limit })];
  }
  const records = read(ids);
  const missing = ids.find((id) => !records.some((r) => r.imageId === id));
  if (missing !== undefined) throw new UsageError(`Image id ${missing} is not in the dataset ${dataset.root}`);
  return records.map((r) => ({ key: String(r.imageId), imageId: r.imageId, path: r.path, datasetLabel: r.label }));
}

/**
 * Logit index of a dataset label: through the checkpoint's class ids when it
 * has them (matched by class key), else the label itself when the model has
 * that many classes; null when the model does not know the class.
 */
export function mapLabelToLogit(config: ModelConfig, classes: readonly ClassRecord[], datasetLabel: number | null): number | null {
  if (datasetLabel === null) return null;
  if (config.classIds !== null) {
    const key = classes.find((c) => c.label === datasetLabel)?.key;
    const index = key === undefined ? -1 : config.classIds.indexOf(key);
    return index < 0 ? null : index;
  }
  return datasetLabel < config.numClasses ? datasetLabel : null;
}

/** Readable name of logit `index` (the dataset's class name when it can be matched). */
export function nameLogit(config: ModelConfig, classes: readonly ClassRecord[], index: number): string {
  const key = config.classIds?.[index];
  const record = key === undefined ? classes.find((c) => c.label === index) : classes.find((c) => c.key === key);
  return record?.name ?? key ?? `class ${index}`;
}

/** An image ready for the model, with what the figures need. */
export interface PreparedInput {
  /** [S, S, 3] float32, 0..255 scale minus the mean: the model input. */
  input: Float32Array;
  /** [S, S, 3] the mean image under the crop (0..255). */
  meanCrop: Float32Array;
  /** [S, S, 3] the crop as the model sees it before mean subtraction, 0..255. */
  display: Uint8Array;
  sizePx: number;
}

/**
 * Decodes `path` and makes its centre-crop model input, as evaluation does.
 * @throws UsageError naming the path when it cannot be read or decoded.
 */
export async function prepareCentreInput(path: string, inputSizePx: number, mean: MeanImage): Promise<PreparedInput> {
  const squarePx = computeSquareSizePx(inputSizePx);
  if (mean.sizePx !== squarePx) throw new UsageError(`Mean image is ${mean.sizePx} px but input size ${inputSizePx} px needs ${squarePx} px`);
  let bytes: Buffer;
  let square: Uint8Array;
  try {
    bytes = readFileSync(path);
    square = (await decodeSquare(bytes, { squarePx })).pixels;
  } catch (error) {
    throw new UsageError(`Cannot use image ${path}: ${describeDecodeError(error)}`);
  }
  const box = computePaperCropBox('centre', squarePx, inputSizePx, false);
  const n = inputSizePx * inputSizePx * 3;
  const input = new Float32Array(n);
  const meanCrop = new Float32Array(n);
  const raw = new Float32Array(n);
  extractCrop(square, squarePx, box, mean.pixels, input);
  extractCrop(mean.pixels, squarePx, box, null, meanCrop);
  extractCrop(square, squarePx, box, null, raw);
  return { input, meanCrop, display: Uint8Array.from(raw), sizePx: inputSizePx };
}
