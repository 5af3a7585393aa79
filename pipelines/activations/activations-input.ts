/**
 * The one image `activations` runs through a model: the file or indexed
 * image the options name, decoded and centre-cropped exactly as the
 * evaluation stream does (pipelines/shared/input-stream.ts), for either kind of model.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { decodeSquare, describeDecodeError, type ResampleMethod } from '../../src/data/decode-image.js';
import { createImageReader, type DatasetRecord, type ImageRecord } from '../../src/store/image-index.js';
import { UsageError } from '../../src/errors.js';
import { augmentImage } from '../../src/stages/augment-stage.js';
import type { Store } from '../../src/store/open-store.js';
import { prepareDataset } from '../shared/input-stream.js';

export interface ImageOptions {
  db: Store;
  /** An image file, or an image id of the dataset index (with `data`). */
  image: { path: string } | { imageId: number };
  data?: string;
}

/** The image to analyse, and the dataset it belongs to (null: a file given without --data). */
export interface ResolvedImage {
  record: ImageRecord;
  dataset: DatasetRecord | null;
}

/**
 * The image's record: the given file, or the dataset's image with that id.
 * @throws UsageError for an image id the dataset's index does not have.
 */
export async function resolveImage(options: ImageOptions, log: (line: string) => void): Promise<ResolvedImage> {
  const fileRecord = (path: string): ImageRecord => ({ imageId: -1, label: null, relPath: path, path: resolve(path) });
  if ('path' in options.image && options.data === undefined) return { record: fileRecord(options.image.path), dataset: null };
  const { dataset } = await prepareDataset({ db: options.db, data: options.data, splits: [], log });
  if ('path' in options.image) return { record: fileRecord(options.image.path), dataset };
  const record = createImageReader(options.db, dataset)([options.image.imageId])[0];
  if (record === undefined) throw new UsageError(`No image with id ${options.image.imageId} in the index of ${dataset.root}`);
  return { record, dataset };
}

/**
 * Decodes and crops exactly as the evaluation stream does: shorter side to
 * `squarePx` (with `resample`), centre square, centre `cropPx` crop, minus `meanSquare` when given.
 * Returns [cropPx, cropPx, 3] RGB floats.
 * @throws UsageError naming the file when it cannot be read or decoded.
 */
export async function cropCentre(record: ImageRecord, squarePx: number, cropPx: number, meanSquare: Float32Array | null, resample: ResampleMethod = 'sharp-lanczos3'): Promise<Float32Array> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(record.path);
  } catch (error) {
    throw new UsageError(`Cannot read image ${record.path}: ${(error as Error).message}`);
  }
  let square: Uint8Array;
  try {
    square = (await decodeSquare(bytes, { squarePx, resample, cropPx })).pixels;
  } catch (error) {
    throw new UsageError(`Cannot decode image ${record.path}: ${describeDecodeError(error)}`);
  }
  return augmentImage({ record, square, squarePx }, { cropMode: 'centre', cropPx, meanSquare, seed: 1, epoch: 0 }).crops;
}

/** The image fields of a sidecar. */
export function describeImage(record: ImageRecord): Record<string, unknown> {
  return { path: record.path, imageId: record.imageId >= 0 ? record.imageId : null, label: record.label };
}
