/**
 * The arrays a windowed deconvnet batch needs (the graph of
 * src/onnx/build-deconv-graph.ts): each entry's input window cut out of its
 * image (zeros outside the image), its `select` index and its validity masks,
 * and the way back: each entry's projection window placed into a full frame
 * that is exactly zero outside the window. Pure.
 */
import type { Pair } from '../graph/model-graph.js';
import type { PixelBox } from '../model/geometry.js';
import { maskedLevels, placeWindows, windowValidity, type ReachPlan } from '../graph/reach-window.js';

/** One projection: unit (channel), cell (y, x) of the examined map, in image `imageIndex`. */
export interface WindowEntry {
  imageIndex: number;
  unit: number;
  y: number;
  x: number;
}

/** A preprocessed image, row-major [H, W, C] (the project's HWC input layout). */
export interface HwcImage {
  data: Float32Array;
  heightPx: number;
  widthPx: number;
  channels: number;
}

export interface WindowBatch {
  count: number;
  /** [E, C0, r0, c0] */
  pixels: Float32Array;
  /** [E, 1] flat index into the examined window: (unit * rows + row) * cols + col. */
  select: BigInt64Array;
  /** Per masked level: [E, 1, ri, ci] of 0/1 (bool tensors). */
  valid: Map<number, Uint8Array>;
  /** Per entry, the origin of every level's window. */
  origins: Pair[][];
}

/**
 * Cuts every entry's input window and builds its select index and masks.
 * @throws RangeError naming the first entry whose image, unit or cell is out of range
 */
export function prepareWindowBatch(plan: ReachPlan, images: readonly HwcImage[], entries: readonly WindowEntry[]): WindowBatch {
  const input = plan.levels[0]!;
  const top = plan.levels.at(-1)!;
  const [rows, cols] = input.sizePx;
  const perEntry = input.channels * rows * cols;
  const pixels = new Float32Array(entries.length * perEntry);
  const select = new BigInt64Array(entries.length);
  const levels = maskedLevels(plan);
  const valid = new Map(levels.map((l) => [l, new Uint8Array(entries.length * plan.levels[l]!.sizePx[0] * plan.levels[l]!.sizePx[1])]));
  const origins = entries.map((entry, e) => {
    const image = images[entry.imageIndex];
    if (image === undefined || !Number.isInteger(entry.unit) || entry.unit < 0 || entry.unit >= top.channels) {
      throw new RangeError(`Projection entry ${e} (image ${entry.imageIndex}, unit ${entry.unit}) is outside ${plan.examined}: ${images.length} images, ${top.channels} units`);
    }
    if (image.channels !== input.channels || image.heightPx !== input.gridPx[0] || image.widthPx !== input.gridPx[1]) {
      throw new RangeError(`Projection entry ${e}: image ${entry.imageIndex} is ${image.heightPx}x${image.widthPx}x${image.channels} but the model reads ${input.gridPx[0]}x${input.gridPx[1]}x${input.channels}`);
    }
    const placed = placeWindows(plan, entry.y, entry.x);
    cutWindow(image, placed[0]!, input.sizePx, pixels.subarray(e * perEntry, (e + 1) * perEntry));
    const topOrigin = placed.at(-1)!;
    select[e] = BigInt((entry.unit * top.sizePx[0] + entry.y - topOrigin[0]) * top.sizePx[1] + entry.x - topOrigin[1]);
    for (const l of levels) {
      const size = plan.levels[l]!.sizePx;
      valid.get(l)!.set(windowValidity(placed[l]!, size, plan.levels[l]!.gridPx), e * size[0] * size[1]);
    }
    return placed;
  });
  return { count: entries.length, pixels, select, valid, origins };
}

/** Copies the window at `origin` of an HWC image into CHW `out` (zeros outside the image). */
function cutWindow(image: HwcImage, origin: Pair, sizePx: Pair, out: Float32Array): void {
  const { data, heightPx, widthPx, channels } = image;
  for (let r = 0; r < sizePx[0]; r++) {
    const y = origin[0] + r;
    if (y < 0 || y >= heightPx) continue;
    for (let c = 0; c < sizePx[1]; c++) {
      const x = origin[1] + c;
      if (x < 0 || x >= widthPx) continue;
      const from = (y * widthPx + x) * channels;
      for (let ch = 0; ch < channels; ch++) out[(ch * sizePx[0] + r) * sizePx[1] + c] = data[from + ch]!;
    }
  }
}

/**
 * One entry's projection over its input window clipped to the image:
 * `values` [box.heightPx, box.widthPx, channels] row-major; the projection
 * is exactly zero everywhere outside `box`.
 */
export interface ProjectionWindow {
  box: PixelBox;
  channels: number;
  values: Float32Array;
}

/**
 * Entry `e`'s projection window ([C0, r0, c0] inside `projection` [E, C0, r0, c0])
 * as HWC values, clipped to the image.
 */
export function cutProjectionWindow(plan: ReachPlan, batch: WindowBatch, projection: Float32Array, e: number): ProjectionWindow {
  const input = plan.levels[0]!;
  const [rows, cols] = input.sizePx;
  const [heightPx, widthPx] = input.gridPx;
  const channels = input.channels;
  const origin = batch.origins[e]![0]!;
  const [r0, r1] = [Math.max(0, -origin[0]), Math.min(rows, heightPx - origin[0])];
  const [c0, c1] = [Math.max(0, -origin[1]), Math.min(cols, widthPx - origin[1])];
  const box: PixelBox = { top: origin[0] + r0, left: origin[1] + c0, heightPx: Math.max(0, r1 - r0), widthPx: Math.max(0, c1 - c0) };
  const values = new Float32Array(box.heightPx * box.widthPx * channels);
  const base = e * channels * rows * cols;
  for (let ch = 0; ch < channels; ch++) {
    for (let r = r0; r < r1; r++) {
      const from = base + (ch * rows + r) * cols;
      const to = ((r - r0) * box.widthPx) * channels + ch;
      for (let c = c0; c < c1; c++) values[to + (c - c0) * channels] = projection[from + c]!;
    }
  }
  return { box, channels, values };
}

/** A window placed into a full [heightPx, widthPx, C] frame, exactly zero outside it. */
export function placeWindow(window: ProjectionWindow, heightPx: number, widthPx: number): Float32Array {
  const { box, channels, values } = window;
  const frame = new Float32Array(heightPx * widthPx * channels);
  const rowValues = box.widthPx * channels;
  for (let r = 0; r < box.heightPx; r++) frame.set(values.subarray(r * rowValues, (r + 1) * rowValues), ((box.top + r) * widthPx + box.left) * channels);
  return frame;
}

/**
 * Places entry `e`'s projection window ([C0, r0, c0] inside `projection`
 * [E, C0, r0, c0]) into a full HWC frame; cells outside the window (and
 * outside the image) are exactly zero.
 * @returns [H, W, C0] row-major
 */
export function placeProjection(plan: ReachPlan, batch: WindowBatch, projection: Float32Array, e: number): Float32Array {
  const [heightPx, widthPx] = plan.levels[0]!.gridPx;
  return placeWindow(cutProjectionWindow(plan, batch, projection, e), heightPx, widthPx);
}
