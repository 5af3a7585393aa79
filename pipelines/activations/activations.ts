/**
 * run-pipeline activations: one image through the model, written for numpy
 * users: the preprocessed input and each requested tap as `.npy` (float32,
 * C order, batch of 1: the exact tensors the model saw) with a JSON sidecar
 * naming shapes, tap definitions, weights and preprocessing.
 *
 * The project's own architectures write NHWC (their tfjs layout) and take the
 * project's tap names. An imported model (`--model NAME` of `run-pipeline
 * import`) writes NCHW, the layout of the framework it came from, so a file
 * compares directly with PyTorch's output of the same module; its taps are
 * its layers by their own names (see activations-imported.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, type BackendChoice } from '../../src/backend/select-backend.js';
import { computeSquareSizePx } from '../../src/data/crop-geometry.js';
import { createFallbackMean, describeMean, type MeanImage } from '../../src/data/mean-image.js';
import { loadMeanImage } from '../../src/store/mean-store.js';
import { invalidParameterError } from '../../src/errors.js';
import { disposeParams } from '../../src/model/params.js';
import { LRN_FORMULA, TAP_NAMES, type ModelConfig, type TapName } from '../../src/model/spec.js';
import type { Store } from '../../src/store/open-store.js';
import { encodeNpyFloat32 } from '../../src/topk/encode-npy.js';
import type { TapArray } from '../../src/workers/batch-reducers.js';
import { createForwardExecutor } from '../../src/workers/forward-executor.js';
import { writeImportedActivations } from './activations-imported.js';
import { cropCentre, describeImage, resolveImage, type ImageOptions, type ResolvedImage } from './activations-input.js';
import { describePreprocessing, loadModel, openImportedModelOption } from '../shared/pass-model.js';

/** The taps a project model writes when --taps is not given. */
export const DEFAULT_PROJECT_TAPS = 'conv1,conv5,fc7';

export interface ActivationsOptions extends ImageOptions {
  checkpoint?: string;
  /** An architecture (random init), or an imported model's name. */
  model?: string;
  initSeed: number;
  /**
   * Comma-separated: the project's tap names (default conv1,conv5,fc7), or an
   * imported model's layer names, aliases, globs or numbers (default its conv layers).
   */
  taps?: string;
  outDir: string;
  backend: BackendChoice;
  log?: (line: string) => void;
}

export interface ActivationsResult {
  files: string[];
  sidecarPath: string;
}

/**
 * Parses --taps "conv1,conv5,fc7".
 * @throws RangeError (usage error) naming the first unknown tap.
 */
export function parseTapList(value: unknown): TapName[] {
  const names = String(value).split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw invalidParameterError('taps', `a comma-separated list of ${TAP_NAMES.join(', ')}`, value);
  for (const name of names) if (!(TAP_NAMES as readonly string[]).includes(name)) throw invalidParameterError('taps', `tap names among ${TAP_NAMES.join(', ')}`, name);
  return [...new Set(names)] as TapName[];
}

/** What each tap is, for the sidecar (zfnet-paper.md's project choices). */
export function defineTap(config: ModelConfig, tap: TapName): string {
  if (/^conv\d$/.test(tap)) return `${tap}: convolution + bias, then ReLU (the rectified conv output, before pooling and normalization)`;
  if (/^pool\d$/.test(tap)) return `${tap}: max pool 3x3 stride 2 of the preceding layer${tap === 'pool5' ? '' : ' (ceil mode for zfnet)'}`;
  if (/^norm\d$/.test(tap)) return `${tap}: local response normalization across channels, ${LRN_FORMULA}`;
  if (tap === 'logits') return `logits: fc8 output before softmax (${config.numClasses} classes)`;
  if (tap === 'probs') return 'probs: softmax of the logits';
  return `${tap}: dense layer + bias, then ReLU, no dropout (inference)`;
}

/** The mean a project model's input is centred with: the checkpoint's, else the dataset's, else the constant fallback. */
function chooseMean(checkpointMean: MeanImage | null, image: ResolvedImage, db: Store, squarePx: number, log: (line: string) => void): MeanImage {
  // The checkpoint's own mean first: it is what the weights were trained with.
  if (checkpointMean !== null) return checkpointMean;
  if (image.dataset !== null) return loadMeanImage(db, image.dataset.id, squarePx);
  log('no --data given: subtracting the fallback mean (ImageNet per-channel RGB means); give --data to use a dataset\'s mean image');
  return createFallbackMean(squarePx);
}

async function writeProjectActivations(options: ActivationsOptions, taps: TapName[], log: (line: string) => void): Promise<ActivationsResult> {
  const backend = await initBackend(options.backend, { log, purpose: 'inference' });
  const image = await resolveImage(options, log);
  const model = loadModel(options, image.dataset === null ? null : image.dataset.classes.map((c) => c.key), log);
  try {
    const { config } = model;
    const squarePx = computeSquareSizePx(config.inputSizePx);
    const mean = chooseMean(model.checkpointMean, image, options.db, squarePx, log);
    log(describeMean(mean));
    const pixels = await cropCentre(image.record, squarePx, config.inputSizePx, mean.pixels);
    mkdirSync(options.outDir, { recursive: true });
    const files = [join(options.outDir, 'input.npy')];
    writeFileSync(files[0]!, encodeNpyFloat32(pixels, [1, config.inputSizePx, config.inputSizePx, 3]));
    const tapShapes: Record<string, { shape: number[]; file: string; definition: string }> = {};
    // The engine --backend picks for forward passes (onnx under auto); taps come back NHWC on every engine.
    const executor = await createForwardExecutor({ workers: 1, backend: options.backend, model: { kind: 'params', config, params: model.params }, graphCacheDir: null });
    let outputs: Partial<Record<string, TapArray>>;
    try {
      outputs = (await executor.run({ pixels, shape: [1, config.inputSizePx, config.inputSizePx, 3] }, { reducer: 'taps', taps })).taps;
    } finally {
      await executor.close();
    }
    for (const name of taps) {
      const tap = outputs[name]!;
      const file = join(options.outDir, `${name}.npy`);
      writeFileSync(file, encodeNpyFloat32(tap.data, tap.shape));
      files.push(file);
      tapShapes[name] = { shape: tap.shape.slice(), file: `${name}.npy`, definition: defineTap(config, name) };
    }
    const sidecarPath = join(options.outDir, 'activations.json');
    writeFileSync(sidecarPath, `${JSON.stringify({
      image: describeImage(image.record),
      model: config.name, weights: model.weights, checkpoint: options.checkpoint ?? null, backend: backend.name,
      layout: 'NHWC float32, C order, batch of 1 (numpy: np.load(file))',
      input: { shape: [1, config.inputSizePx, config.inputSizePx, 3], file: 'input.npy', definition: 'the preprocessed input the model saw' },
      preprocessing: describePreprocessing(config.inputSizePx, mean),
      taps: tapShapes, modelConfig: config,
    }, null, 2)}\n`);
    return { files, sidecarPath };
  } finally {
    disposeParams(model.params);
  }
}

/**
 * Writes input.npy, one `<tap>.npy` per tap and activations.json under outDir.
 * @throws UsageError for an unreadable image, an unknown image id, an unknown
 *   tap or layer, an unknown model or an unusable checkpoint or model file.
 */
export async function writeActivations(options: ActivationsOptions): Promise<ActivationsResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const imported = openImportedModelOption(options.db, options);
  if (imported !== undefined) {
    return writeImportedActivations({ ...options, model: imported, log });
  }
  return writeProjectActivations(options, parseTapList(options.taps ?? DEFAULT_PROJECT_TAPS), log);
}
