/**
 * Source stage: turns a lazy iterable of image records (paged out of the
 * store by the pipeline) into a highland stream. Records are pulled only as
 * fast as the stages downstream ask for them, so a 1.28M-image split is
 * never in memory.
 */
import _ from 'highland';
import type { ImageRecord } from './stage-items.js';

/** Creates the source stream from a lazy iterable. */
export function createListStage(records: Iterable<ImageRecord>): Highland.Stream<ImageRecord> {
  return _(records);
}
