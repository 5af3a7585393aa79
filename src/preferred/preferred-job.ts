/**
 * One batch of preferred inputs on onnxruntime: the optimisation over the
 * input-gradient graph (src/train-graph/build-input-gradient-graph.ts), then
 * the measurement of every optimised image and of each unit's top-1 dataset
 * image by one forward graph (the top-activations graph's spatial maximum and
 * mean of the unit, after its ReLU). The same code runs in a worker thread
 * (preferred-worker.ts) and in-process (preferred-runner.ts). IO: sessions.
 */
import * as ort from 'onnxruntime-node';
import { GRADIENT_OUTPUT, OBJECTIVE_OUTPUT, UNIT_INPUT } from '../train-graph/train-graphs.js';
import { PIXELS_INPUT, reductionOutputNames } from '../onnx/forward-graphs.js';
import type { InputMapping } from './input-mapping.js';
import { windowGradientFn } from './objective-window.js';
import { optimiseBatch, type InputGradientFn, type OptimisedImage, type PreferredRow } from './optimise-batch.js';
import type { PreferredSettings } from './preferred-settings.js';

/** What a batch needs besides its two graphs (plain data: it crosses the thread boundary). */
export interface PreferredJob {
  rows: PreferredRow[];
  settings: PreferredSettings;
  mapping: InputMapping;
  /** Model input channels (3). */
  channels: number;
  /** The analysed layer's name in the measure graph's outputs. */
  measureLayer: string;
  /** [R, S, S, C] the top-1 dataset inputs of the rows that have one (R may be 0). */
  references: Float32Array;
  /** For each reference, its row. */
  referenceRows: number[];
  /** The crop of the view the gradient graph reads (null: the whole view). */
  window: { startPx: number; sizePx: number } | null;
}

/** A unit's values measured after its ReLU by the forward graph. */
export interface UnitMeasure {
  /** Spatial maximum (an image's activation, as top-activations ranks them). */
  max: number;
  mean: number;
}

export interface PreferredJobResult {
  images: OptimisedImage[];
  /** Per row, its optimised image. */
  optimised: UnitMeasure[];
  /** Per reference, its top-1 image. */
  references: UnitMeasure[];
}

/** The input-gradient function of a session of the input-gradient graph. */
export function sessionGradientFn(session: ort.InferenceSession, sizePx: number, channels: number): InputGradientFn {
  return async (pixels, units) => {
    const out = await session.run({
      [PIXELS_INPUT]: new ort.Tensor('float32', pixels, [units.length, sizePx, sizePx, channels]),
      [UNIT_INPUT]: new ort.Tensor('int64', BigInt64Array.from(units.map(BigInt)), [units.length]),
    });
    return { objective: out[OBJECTIVE_OUTPUT]!.data as Float32Array, gradient: out[GRADIENT_OUTPUT]!.data as Float32Array };
  };
}

/** The unit's maximum and mean of each image of `pixels` [N, S, S, C], unit of image i: units[i]. */
async function measureUnits(session: ort.InferenceSession, layer: string, pixels: Float32Array, units: readonly number[], sizePx: number, channels: number): Promise<UnitMeasure[]> {
  if (units.length === 0) return [];
  const names = reductionOutputNames(layer);
  const out = await session.run({ [PIXELS_INPUT]: new ort.Tensor('float32', pixels, [units.length, sizePx, sizePx, channels]) });
  const max = out[names.max]!, mean = out[names.mean]!;
  const count = max.dims[1]!;
  return units.map((unit, i) => ({ max: (max.data as Float32Array)[i * count + unit]!, mean: (mean.data as Float32Array)[i * count + unit]! }));
}

/**
 * Optimises the job's rows and measures them and their top-1 images.
 * @param onStep called after each optimisation step with the steps done
 */
export async function runPreferredJob(sessions: { gradient: ort.InferenceSession; measure: ort.InferenceSession }, job: PreferredJob, onStep?: (done: number) => void): Promise<PreferredJobResult> {
  const { sizePx } = job.mapping;
  const gradientOf = job.window === null
    ? sessionGradientFn(sessions.gradient, sizePx, job.channels)
    : windowGradientFn(job.window, sizePx, job.channels, sessionGradientFn(sessions.gradient, job.window.sizePx, job.channels));
  const images = await optimiseBatch(job.rows, job.settings, job.mapping, gradientOf, onStep);
  const n = sizePx * sizePx * job.channels;
  const pixels = new Float32Array((images.length + job.referenceRows.length) * n);
  images.forEach((image, b) => pixels.set(image.input, b * n));
  pixels.set(job.references, images.length * n);
  const units = [...images.map((i) => i.unit), ...job.referenceRows.map((row) => job.rows[row]!.unit)];
  const measured = await measureUnits(sessions.measure, job.measureLayer, pixels, units, sizePx, job.channels);
  return { images, optimised: measured.slice(0, images.length), references: measured.slice(images.length) };
}
