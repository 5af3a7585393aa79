/**
 * Read stage: loads each image file's bytes, a few files at a time, in order.
 * A file that cannot be read (missing, no permission) is skipped as stage
 * `read` (or fatal under --strict).
 */
import { readFile } from 'node:fs/promises';
import _ from 'highland';
import { describeDecodeError } from '../data/decode-image.js';
import { skipItem, type ImageRecord, type ReadItem, type SkipPolicy } from './stage-items.js';

export interface ReadStageOptions extends SkipPolicy {
  /** Files read at once; default 8. */
  concurrency?: number;
  /** Reads one file; default fs.promises.readFile (injectable for tests). */
  readBytes?: (path: string) => Promise<Buffer>;
}

/** Creates the read transform. */
export function createReadStage(options: ReadStageOptions): (source: Highland.Stream<ImageRecord>) => Highland.Stream<ReadItem> {
  const readBytes = options.readBytes ?? ((path: string) => readFile(path));
  const concurrency = options.concurrency ?? 8;
  return (source) => source
    .map((record) => _(readBytes(record.path).then(
      (bytes): ReadItem | null => ({ record, bytes }),
      (error: unknown) => skipItem(options, 'read', record, describeDecodeError(error)),
    )))
    .parallel(concurrency)
    .filter((item): item is ReadItem => item !== null);
}
