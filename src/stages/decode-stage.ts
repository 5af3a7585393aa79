/**
 * Decode stage: decodes, orients, converts to RGB and reduces each image to
 * the R x R square with sharp, at most `concurrency` images at once (p-limit;
 * pass a shared limiter to bound several streams together), output in input
 * order. An undecodable image is skipped as stage `decode`.
 */
import _ from 'highland';
import pLimit, { type LimitFunction } from 'p-limit';
import { decodeSquare, describeDecodeError, type ResampleMethod } from '../data/decode-image.js';
import { skipItem, type DecodedItem, type ReadItem, type SkipPolicy } from './stage-items.js';

export interface DecodeStageOptions extends SkipPolicy {
  squarePx: number;
  /** Images decoded at once. */
  concurrency: number;
  /** Shared limiter; default a new p-limit(concurrency). */
  limiter?: LimitFunction;
  /** Pixel limit passed to sharp; larger images are skipped. */
  maxInputPixels?: number;
  /** How images are resized (default sharp-lanczos3); pil-bilinear places the square around the `cropPx` centre crop. */
  resample?: ResampleMethod;
  cropPx?: number;
}

/** Creates the decode transform. */
export function createDecodeStage(options: DecodeStageOptions): (source: Highland.Stream<ReadItem>) => Highland.Stream<DecodedItem> {
  const limit = options.limiter ?? pLimit(options.concurrency);
  const decodeOptions = { squarePx: options.squarePx, maxInputPixels: options.maxInputPixels, resample: options.resample, cropPx: options.cropPx };
  const decodeOne = (item: ReadItem): Promise<DecodedItem | null> => limit(() => decodeSquare(item.bytes, decodeOptions)).then(
    (decoded): DecodedItem => ({ record: item.record, square: decoded.pixels, squarePx: decoded.squarePx }),
    (error: unknown) => skipItem(options, 'decode', item.record, describeDecodeError(error)),
  );
  return (source) => source
    .map((item) => _(decodeOne(item)))
    .parallel(options.concurrency)
    .filter((item): item is DecodedItem => item !== null);
}
