/**
 * The invariance transforms of Fig. 5 (vertical translation, scale, rotation)
 * as pure functions on the model input, [S, S, C] row-major, mean-subtracted.
 *
 * Project choice: the transforms act on the preprocessed input array, not on
 * the source image with sharp. Every copy then shares the preprocessing of
 * the original (same resize, crop and mean), the geometry is exact and
 * testable, and no image is decoded twice. Pixels that come from outside the
 * crop take the value 0, i.e. the dataset mean (no signal).
 *
 * Coordinates: pixel (x, y) has its centre at (x + 0.5, y + 0.5); transforms
 * act about the image centre (S / 2, S / 2); each output pixel is sampled
 * bilinearly at the inverse-mapped source point.
 */

/**
 * - `translate`: content moves down by `dyPx` (negative: up);
 * - `scale`: content is magnified by `factor` about the centre (1 = identity);
 * - `rotate`: content turns clockwise on screen by `degrees`.
 */
export type InvarianceTransform =
  | { kind: 'translate'; dyPx: number }
  | { kind: 'scale'; factor: number }
  | { kind: 'rotate'; degrees: number };

export type InvarianceKind = InvarianceTransform['kind'];
export const INVARIANCE_KINDS: readonly InvarianceKind[] = ['translate', 'scale', 'rotate'];

/** The transform's amount as one number (px, factor, degrees). */
export function transformAmount(t: InvarianceTransform): number {
  return t.kind === 'translate' ? t.dyPx : t.kind === 'scale' ? t.factor : t.degrees;
}

/** Builds a transform of `kind` with `amount`. */
export function makeTransform(kind: InvarianceKind, amount: number): InvarianceTransform {
  if (kind === 'translate') return { kind, dyPx: amount };
  if (kind === 'scale') return { kind, factor: amount };
  return { kind, degrees: amount };
}

/**
 * Source point (continuous pixel coordinates, centre convention) that output
 * point (x, y) samples under `t`.
 */
export function computeSourcePoint(t: InvarianceTransform, sizePx: number, x: number, y: number): [number, number] {
  const c = sizePx / 2;
  switch (t.kind) {
    case 'translate':
      return [x, y - t.dyPx];
    case 'scale':
      return [c + (x - c) / t.factor, c + (y - c) / t.factor];
    case 'rotate': {
      // Clockwise on screen (y down) is the matrix [cos -sin; sin cos]; its inverse turns back by -theta.
      const theta = (t.degrees * Math.PI) / 180;
      const cos = Math.cos(theta);
      const sin = Math.sin(theta);
      const dx = x - c;
      const dy = y - c;
      return [c + cos * dx + sin * dy, c - sin * dx + cos * dy];
    }
  }
}

/** Bilinear sample of channel `ch` at continuous pixel-centre coordinates; 0 outside. */
function sampleBilinear(input: ArrayLike<number>, sizePx: number, channels: number, sx: number, sy: number, ch: number): number {
  const fx = sx - 0.5;
  const fy = sy - 0.5;
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const ax = fx - x0;
  const ay = fy - y0;
  let value = 0;
  for (const [yy, wy] of [[y0, 1 - ay], [y0 + 1, ay]] as const) {
    if (wy === 0 || yy < 0 || yy >= sizePx) continue;
    for (const [xx, wx] of [[x0, 1 - ax], [x0 + 1, ax]] as const) {
      if (wx === 0 || xx < 0 || xx >= sizePx) continue;
      value += wy * wx * input[(yy * sizePx + xx) * channels + ch]!;
    }
  }
  return value;
}

/**
 * Writes `input` transformed by `t` into `out` at `outOffset`.
 * @param input [S, S, channels]
 * @throws RangeError when `out` is too small.
 */
export function applyTransform(
  input: ArrayLike<number>, sizePx: number, channels: number, t: InvarianceTransform, out: Float32Array, outOffset = 0,
): void {
  if (outOffset + sizePx * sizePx * channels > out.length) {
    throw new RangeError(`Output of ${out.length} floats is too small for an image at ${outOffset}`);
  }
  let o = outOffset;
  for (let y = 0; y < sizePx; y++) {
    for (let x = 0; x < sizePx; x++) {
      const [sx, sy] = computeSourcePoint(t, sizePx, x + 0.5, y + 0.5);
      for (let ch = 0; ch < channels; ch++) out[o++] = sampleBilinear(input, sizePx, channels, sx, sy, ch);
    }
  }
}

/**
 * The values start, start + step, ... up to stop (inclusive, within 1e-9 of
 * a step), rounded to 10 significant digits so 1 + 8 * 0.1 prints as 1.8.
 * @throws RangeError when step is not positive or stop < start.
 */
export function expandRange(start: number, stop: number, step: number): number[] {
  if (!(step > 0) || !(stop >= start)) throw new RangeError(`Expected a range start:stop:step with step > 0 and stop >= start but received ${start}:${stop}:${step}`);
  const count = Math.floor((stop - start) / step + 1e-9) + 1;
  return Array.from({ length: count }, (_, i) => Number((start + i * step).toPrecision(10)));
}
