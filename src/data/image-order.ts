/**
 * The order in which a pass visits a split's images (pure). Ids of a split
 * are contiguous (baseId .. baseId + imageCount - 1) in sorted path order.
 * Evaluation passes go in id order; training passes in a permutation drawn
 * from (seed, epoch, split). A shard {index, count} keeps the ids with
 * id % count === index (a fixed disjoint subset, whatever the order); `start`
 * skips the first images of the shard's sequence (resume); `limit` caps it.
 */
import { createRng, deriveSeed, drawPermutation, RNG_PURPOSE } from './seeded-rng.js';

export type ImageOrder = 'sorted' | 'shuffled';

export interface ShardSpec {
  index: number;
  count: number;
}

export interface ImageOrderOptions {
  baseId: number;
  imageCount: number;
  order: ImageOrder;
  seed: number;
  epoch: number;
  shard?: ShardSpec;
  /** Images of the (sharded) sequence to skip; default 0. */
  start?: number;
  /** Images to deliver at most; default all. */
  limit?: number;
}

/** How many ids in [0, end) are congruent to `index` modulo `count`. */
function countCongruentBelow(end: number, shard: ShardSpec): number {
  return end > shard.index ? Math.floor((end - 1 - shard.index) / shard.count) + 1 : 0;
}

/** The number of ids `iterateImageIds` yields for these options. */
export function countImageIds(options: ImageOrderOptions): number {
  const { baseId, imageCount } = options;
  const inShard = options.shard === undefined
    ? imageCount
    : countCongruentBelow(baseId + imageCount, options.shard) - countCongruentBelow(baseId, options.shard);
  const afterStart = Math.max(0, inShard - (options.start ?? 0));
  return Math.min(afterStart, options.limit ?? Number.POSITIVE_INFINITY);
}

/** Yields the ids of one pass, lazily (a shuffled pass holds one Int32Array permutation). */
export function* iterateImageIds(options: ImageOrderOptions): Generator<number> {
  const { baseId, imageCount, shard } = options;
  const permutation = options.order === 'shuffled'
    ? drawPermutation(imageCount, createRng(deriveSeed(options.seed, options.epoch, RNG_PURPOSE.shuffle, baseId)))
    : null;
  let toSkip = options.start ?? 0;
  let left = options.limit ?? Number.POSITIVE_INFINITY;
  for (let i = 0; i < imageCount && left > 0; i++) {
    const id = baseId + (permutation === null ? i : permutation[i]!);
    if (shard !== undefined && id % shard.count !== shard.index) continue;
    if (toSkip > 0) { toSkip--; continue; }
    left--;
    yield id;
  }
}

/** Groups an id sequence into pages (for reading records from the store a page at a time). */
export function* pageIds(ids: Iterable<number>, pageSize: number): Generator<number[]> {
  let page: number[] = [];
  for (const id of ids) {
    page.push(id);
    if (page.length === pageSize) { yield page; page = []; }
  }
  if (page.length > 0) yield page;
}
