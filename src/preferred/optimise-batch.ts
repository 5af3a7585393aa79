/**
 * Activation maximisation of a batch of units at once: B images, row b
 * optimised for its own unit, each step one run of the input-gradient
 * function on all B views. Each row draws its start and its view transforms
 * from its own seeded stream, so a row's result does not depend on which
 * rows share its batch, on the worker, or on resuming.
 *
 * One step per row: parameters -> canvas (image-param.ts) -> random view
 * (view-transforms.ts) -> model input (input-mapping.ts); the gradient of
 * the objective with respect to the model input comes back from
 * `gradientOf` and goes back the same way, transposed; then the update
 * (ascent.ts) and, for the DeepVis pixels, decay, blur and clipping.
 * `gradientOf` is the only IO: onnxruntime running the exact backward
 * graph of src/train-graph/ in the command, a tfjs reference in tests.
 */
import { createRng } from '../data/seeded-rng.js';
import { createAscent, type Ascent } from './ascent.js';
import { createImageParam, type ImageParam } from './image-param.js';
import { mapGradientToRgb, mapToModelInput, neutralRgb01, type InputMapping } from './input-mapping.js';
import { canvasSizeOf, hasViewTransforms, transformRangesOf, type PreferredSettings } from './preferred-settings.js';
import { createWarp, drawViewTransform, gaussianBlur, IDENTITY_VIEW, warpAdjoint, warpForward, type Warp } from './view-transforms.js';

/** The objective of each row and its gradient with respect to the model input. */
export interface InputGradient {
  /** [B] */
  objective: Float32Array;
  /** [B, S, S, C] NHWC, in the model's input scale */
  gradient: Float32Array;
}

/** `pixels` [B, S, S, C] model inputs, `units` [B] the unit of each row. */
export type InputGradientFn = (pixels: Float32Array, units: readonly number[]) => Promise<InputGradient>;

export interface PreferredRow {
  unit: number;
  /** The row's own stream (deriveSeed(run seed, layer, unit)). */
  seed: number;
}

export interface OptimisedImage {
  unit: number;
  /** [S, S, 3] RGB 0..1 the unit prefers (the canvas under the unmoved view). */
  rgb01: Float32Array;
  /** [S, S, 3] the same as the model's input. */
  input: Float32Array;
  /** The objective of the starting and the final image (unmoved view). */
  startObjective: number;
  objective: number;
  /** [steps] the objective at each step's (moved) view. */
  history: Float32Array;
}

/** Lucid pads the canvas with this grey before moving it; views reading off the canvas see it. */
const FILL_RGB = 0.5;

interface RowState {
  row: PreferredRow;
  param: ImageParam;
  ascent: Ascent;
  rng: ReturnType<typeof createRng>;
  warp: Warp;
  history: Float32Array;
}

/** The B views of the current values into `pixels`; each row's warp is kept for the way back. */
function renderViews(rows: RowState[], settings: PreferredSettings, mapping: InputMapping, pixels: Float32Array, moved: boolean, view: Float32Array): void {
  const n = mapping.sizePx * mapping.sizePx * 3;
  const ranges = transformRangesOf(settings);
  rows.forEach((state, b) => {
    const transform = moved && hasViewTransforms(settings) ? drawViewTransform(ranges, state.rng) : IDENTITY_VIEW;
    state.warp = createWarp(state.param.canvasPx, mapping.sizePx, transform);
    warpForward(state.warp, state.param.render(), FILL_RGB, view);
    mapToModelInput(mapping, view, pixels.subarray(b * n, (b + 1) * n));
  });
}

/** The update of one row from its gradient, with DeepVis's decay, blur and clipping on the rgb canvas. */
function updateRow(state: RowState, settings: PreferredSettings, mapping: InputMapping, inputGrad: Float32Array, step: number, buffers: { viewGrad: Float32Array; canvasGrad: Float32Array }, meanRgb: readonly number[]): void {
  mapGradientToRgb(mapping, inputGrad, buffers.viewGrad);
  warpAdjoint(state.warp, buffers.viewGrad, buffers.canvasGrad);
  const { param } = state;
  state.ascent.step(param.values, param.backward(buffers.canvasGrad));
  if (param.kind !== 'rgb') return;
  const values = param.values;
  if (settings.decay > 0) for (let i = 0; i < values.length; i++) values[i] = meanRgb[i % 3]! + (values[i]! - meanRgb[i % 3]!) * (1 - settings.decay);
  if (settings.blurSigmaPx > 0 && step % settings.blurEvery === 0) gaussianBlur(values, param.canvasPx, settings.blurSigmaPx);
  for (let i = 0; i < values.length; i++) values[i] = Math.min(1, Math.max(0, values[i]!));
}

/**
 * Optimises one image per row for `settings.steps` steps.
 * @param onStep called after each step with the steps done
 * @throws whatever `gradientOf` throws; RangeError when the mapping's input is not what the rows need
 */
export async function optimiseBatch(rows: readonly PreferredRow[], settings: PreferredSettings, mapping: InputMapping, gradientOf: InputGradientFn, onStep?: (done: number) => void): Promise<OptimisedImage[]> {
  const S = mapping.sizePx;
  const n = S * S * 3;
  const canvasPx = canvasSizeOf(settings, S);
  const meanRgb = neutralRgb01(mapping);
  const states: RowState[] = rows.map((row) => {
    const rng = createRng(row.seed);
    const param = createImageParam({ kind: settings.param, canvasPx, decorrelate: settings.decorrelate, meanRgb }, rng);
    return { row, param, rng, ascent: createAscent(settings.optimiser, param.values.length, settings.learningRate), warp: createWarp(canvasPx, S, IDENTITY_VIEW), history: new Float32Array(settings.steps) };
  });
  const units = rows.map((r) => r.unit);
  const pixels = new Float32Array(rows.length * n);
  const view = new Float32Array(n);
  const buffers = { viewGrad: new Float32Array(n), canvasGrad: new Float32Array(canvasPx * canvasPx * 3) };
  renderViews(states, settings, mapping, pixels, false, view);
  const start = await gradientOf(pixels, units);
  const startObjective = Float32Array.from(start.objective);
  for (let step = 0; step < settings.steps; step++) {
    renderViews(states, settings, mapping, pixels, true, view);
    const { objective, gradient } = await gradientOf(pixels, units);
    states.forEach((state, b) => {
      state.history[step] = objective[b]!;
      updateRow(state, settings, mapping, gradient.subarray(b * n, (b + 1) * n), step, buffers, meanRgb);
    });
    onStep?.(step + 1);
  }
  renderViews(states, settings, mapping, pixels, false, view);
  const final = await gradientOf(pixels, units);
  return states.map((state, b) => {
    const rgb01 = new Float32Array(n);
    warpForward(state.warp, state.param.render(), FILL_RGB, rgb01);
    return { unit: state.row.unit, rgb01, input: pixels.slice(b * n, (b + 1) * n), startObjective: startObjective[b]!, objective: final.objective[b]!, history: state.history };
  });
}
