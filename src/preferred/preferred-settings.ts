/**
 * What a preferred-inputs run optimises and how: the objective, the steps,
 * the image parameterisation and the regularisers, with two presets
 * (`lucid`, the default, and `deepvis`) that any single option overrides.
 * The settings are recorded with the run (part of its resume key). Pure.
 *
 * Defaults and why:
 * - objective `centre`: the unit's value at the centre cell of its map
 *   (floor(H/2), floor(W/2)), as the DeepVis toolbox and Lucid's `neuron`
 *   objective do. One cell is what a dataset image's activation is (its
 *   spatial maximum: one cell), so the optimised image's value compares like
 *   for like with the top-1 image's, and the picture under the centre cell's
 *   receptive field sits at the scale of the top-9 patches beside it. `mean`
 *   (Lucid's `channel`) optimises the spatial mean instead: a texture
 *   repeating the feature over the whole frame.
 * - the unit's value before its ReLU (when the examined layer is a ReLU):
 *   after it, a unit that is silent on the starting image has a zero
 *   gradient and never moves (Lucid optimises `*_pre_relu` tensors for the
 *   same reason); every value reported is measured after the ReLU, as
 *   everywhere else in the project.
 * - `lucid`: Fourier parameterisation with decorrelated colour and a sigmoid,
 *   Adam at 0.05 (Lucid's render_vis), Lucid's scales and angles, 256 steps,
 *   and shifts of up to S/14 px (16 px at 224, 8 at 112): Lucid's two
 *   jitters add up to 6 px of its 128 px images (5%); on the demo model
 *   shifts of 7% drew larger, steadier strokes than 3.6% (S/28), with every
 *   unit still past its top-1.
 * - `deepvis` (Yosinski et al. 2015): the pixels themselves, gradient ascent,
 *   L2 decay 1e-4 towards the mean colour, a Gaussian blur of 1 px every 4
 *   steps (the toolbox's example settings), no view transforms. The step is
 *   lr * g / rms(g) (project choice: the toolbox's fixed lr * g needs a rate
 *   per model, since gradients differ by orders of magnitude between models).
 */
import { invalidParameterError } from '../errors.js';
import { OBJECTIVE_KINDS, type ObjectiveKind } from '../train-graph/train-graphs.js';
import { nextFftSize } from './fft.js';
import { PARAM_KINDS, type ParamKind } from './image-param.js';
import { LUCID_ANGLES_DEG, LUCID_SCALES } from './view-transforms.js';

export { OBJECTIVE_KINDS, type ObjectiveKind };
export type PresetName = 'lucid' | 'deepvis';
export const PRESET_NAMES: readonly PresetName[] = Object.freeze(['lucid', 'deepvis']);
export type OptimiserKind = 'adam' | 'normalised-ascent';

export interface PreferredSettings {
  preset: PresetName;
  objective: ObjectiveKind;
  /** Optimise the value before the examined layer's ReLU (see the header). */
  preRelu: boolean;
  steps: number;
  param: ParamKind;
  decorrelate: boolean;
  optimiser: OptimiserKind;
  learningRate: number;
  /** Largest shift in px (0: none). */
  jitterPx: number;
  /** Random scales and angles each step (Lucid's lists) or none. */
  scaleAndRotate: boolean;
  /** DeepVis L2 decay per step (0: none). */
  decay: number;
  /** DeepVis blur: sigma in px (0: none), every `blurEvery` steps. */
  blurSigmaPx: number;
  blurEvery: number;
}

/** Options as the command line gives them; undefined keeps the preset's value. */
export interface PreferredSettingsOptions {
  preset?: unknown;
  objective?: unknown;
  preRelu?: unknown;
  steps?: unknown;
  param?: unknown;
  decorrelate?: unknown;
  learningRate?: unknown;
  jitterPx?: unknown;
  scaleAndRotate?: unknown;
  decay?: unknown;
  blurSigmaPx?: unknown;
  blurEvery?: unknown;
}

function presetSettings(preset: PresetName, inputSizePx: number): PreferredSettings {
  const jitterPx = Math.max(1, Math.round(inputSizePx / 14));
  const common = { preset, objective: 'centre' as const, preRelu: true, steps: 256 };
  if (preset === 'deepvis') {
    return { ...common, param: 'rgb', decorrelate: false, optimiser: 'normalised-ascent', learningRate: 0.01, jitterPx: 0, scaleAndRotate: false, decay: 1e-4, blurSigmaPx: 1, blurEvery: 4 };
  }
  return { ...common, param: 'fourier', decorrelate: true, optimiser: 'adam', learningRate: 0.05, jitterPx, scaleAndRotate: true, decay: 0, blurSigmaPx: 0, blurEvery: 1 };
}

function toNumber(name: string, value: unknown, min: number, max: number, integer: boolean): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw invalidParameterError(name, `${integer ? 'integer' : 'number'} between ${min} and ${max}`, value);
  }
  return n;
}

function toBoolean(name: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw invalidParameterError(name, 'true or false', value);
}

function toChoice<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) throw invalidParameterError(name, `one of ${choices.join(', ')}`, value);
  return value as T;
}

/**
 * The settings of a run: the preset's, with each given option over it.
 * @throws RangeError (a usage error) naming the option and the value
 */
export function resolvePreferredSettings(options: PreferredSettingsOptions, inputSizePx: number): PreferredSettings {
  const preset = options.preset === undefined ? 'lucid' : toChoice('--preset', options.preset, PRESET_NAMES);
  const s = presetSettings(preset, inputSizePx);
  const param = options.param === undefined ? s.param : toChoice('--param', options.param, PARAM_KINDS);
  return {
    preset,
    objective: options.objective === undefined ? s.objective : toChoice('--objective', options.objective, OBJECTIVE_KINDS),
    preRelu: options.preRelu === undefined ? s.preRelu : toBoolean('--pre-relu', options.preRelu),
    steps: options.steps === undefined ? s.steps : toNumber('--steps', options.steps, 1, 100_000, true),
    param,
    decorrelate: options.decorrelate === undefined ? s.decorrelate : toBoolean('--decorrelate', options.decorrelate),
    // the rgb canvas moves by plain ascent, the others by Adam
    optimiser: param === 'rgb' ? 'normalised-ascent' : 'adam',
    learningRate: options.learningRate === undefined ? (param === s.param ? s.learningRate : param === 'rgb' ? 0.01 : 0.05) : toNumber('--lr', options.learningRate, 1e-9, 1e6, false),
    jitterPx: options.jitterPx === undefined ? s.jitterPx : toNumber('--jitter', options.jitterPx, 0, Math.floor(inputSizePx / 4), true),
    scaleAndRotate: options.scaleAndRotate === undefined ? s.scaleAndRotate : toBoolean('--scale-rotate', options.scaleAndRotate),
    decay: options.decay === undefined ? s.decay : toNumber('--decay', options.decay, 0, 0.5, false),
    blurSigmaPx: options.blurSigmaPx === undefined ? s.blurSigmaPx : toNumber('--blur', options.blurSigmaPx, 0, 16, false),
    blurEvery: options.blurEvery === undefined ? s.blurEvery : toNumber('--blur-every', options.blurEvery, 1, 1000, true),
  };
}

/** The view transforms of the settings (Lucid's lists, or identity scale and angle). */
export function transformRangesOf(settings: PreferredSettings): { jitterPx: number; scales: readonly number[]; anglesDeg: readonly number[] } {
  return { jitterPx: settings.jitterPx, scales: settings.scaleAndRotate ? LUCID_SCALES : [1], anglesDeg: settings.scaleAndRotate ? LUCID_ANGLES_DEG : [0] };
}

/** True when some step moves the view (shift, scale or angle). */
export function hasViewTransforms(settings: PreferredSettings): boolean {
  return settings.jitterPx > 0 || settings.scaleAndRotate;
}

/**
 * The canvas side for an S px input: room for the largest shift on each side,
 * rounded up to an even FFT-friendly size, or to the next power of two when
 * that costs at most 15% more side (its transforms are radix 4 only, about
 * twice as fast: 256 for 224 px, 128 for 112 px).
 */
export function canvasSizeOf(settings: PreferredSettings, inputSizePx: number): number {
  const minimum = inputSizePx + 2 * settings.jitterPx;
  const power = 2 ** Math.ceil(Math.log2(minimum));
  return power <= 1.15 * minimum ? power : nextFftSize(minimum);
}

/** One line for logs and pages. */
export function describeSettings(s: PreferredSettings): string {
  const regularisers = [
    s.param === 'fourier' ? `Fourier parameterisation${s.decorrelate ? ', decorrelated colour' : ''}` : s.param === 'pixel' ? `pixel parameterisation${s.decorrelate ? ', decorrelated colour' : ''}` : 'pixels clipped to 0..255',
    s.jitterPx > 0 ? `shifts up to ${s.jitterPx} px` : '',
    s.scaleAndRotate ? 'scales 0.9-1.1 and rotations -10..10 degrees' : '',
    s.decay > 0 ? `L2 decay ${s.decay}` : '',
    s.blurSigmaPx > 0 ? `blur ${s.blurSigmaPx} px every ${s.blurEvery} steps` : '',
  ].filter((t) => t !== '');
  return `${s.objective === 'centre' ? 'centre cell' : 'spatial mean'}${s.preRelu ? ' (before the ReLU)' : ''}, ${s.steps} steps, ${s.optimiser === 'adam' ? 'Adam' : 'normalised ascent'} lr ${s.learningRate}; ${regularisers.join(', ')} (preset ${s.preset})`;
}
