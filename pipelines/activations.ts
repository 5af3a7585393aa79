/**
 * run-pipeline activations: one image through the model, written for numpy
 * users: the preprocessed input and each requested tap as `.npy` (NHWC
 * float32, C order, batch of 1: the exact tensors the model saw) with a JSON
 * sidecar naming shapes, tap definitions, weights and preprocessing.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initBackend, type BackendChoice } from '../src/backend/select-backend.js';
import { computeSquareSizePx } from '../src/data/crop-geometry.js';
import { decodeSquare, describeDecodeError } from '../src/data/decode-image.js';
import { createImageReader, type ImageRecord } from '../src/data/image-index.js';
import { createFallbackMean, describeMean, type MeanImage } from '../src/data/mean-image.js';
import { loadMeanImage } from '../src/data/mean-store.js';
import { UsageError } from '../src/errors.js';
import { disposeParams } from '../src/model/params.js';
import { LRN_FORMULA, type ModelConfig, type TapName } from '../src/model/spec.js';
import { augmentImage } from '../src/stages/augment-stage.js';
import type { Store } from '../src/store/open-store.js';
import { encodeNpyFloat32 } from '../src/topk/encode-npy.js';
import type { TapArray } from '../src/workers/batch-reducers.js';
import { createForwardExecutor } from '../src/workers/forward-executor.js';
import { prepareDataset } from './input-stream.js';
import { describePreprocessing, loadModel } from './pass-model.js';

export interface ActivationsOptions {
  db: Store;
  /** An image file, or an image id of the dataset index (with `data`). */
  image: { path: string } | { imageId: number };
  data?: string;
  checkpoint?: string;
  model?: string;
  initSeed: number;
  taps: TapName[];
  outDir: string;
  backend: BackendChoice;
  log?: (line: string) => void;
}

export interface ActivationsResult {
  files: string[];
  sidecarPath: string;
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

/** The image's record: the given file, or the dataset's image with that id. */
async function resolveImage(options: ActivationsOptions, log: (line: string) => void): Promise<{ record: ImageRecord; mean: (sizePx: number) => MeanImage; classKeys: string[] | null }> {
  if ('path' in options.image && options.data === undefined) {
    log('no --data given: subtracting the fallback mean (ImageNet per-channel RGB means); give --data to use a dataset\'s mean image');
    return { record: { imageId: -1, label: null, relPath: options.image.path, path: resolve(options.image.path) }, mean: createFallbackMean, classKeys: null };
  }
  const { dataset } = await prepareDataset({ db: options.db, data: options.data, splits: [], log });
  const mean = (sizePx: number): MeanImage => loadMeanImage(options.db, dataset.id, sizePx);
  const classKeys = dataset.classes.map((c) => c.key);
  if ('path' in options.image) return { record: { imageId: -1, label: null, relPath: options.image.path, path: resolve(options.image.path) }, mean, classKeys };
  const record = createImageReader(options.db, dataset)([options.image.imageId])[0];
  if (record === undefined) throw new UsageError(`No image with id ${options.image.imageId} in the index of ${dataset.root}`);
  return { record, mean, classKeys };
}

/** Decodes and preprocesses exactly as the evaluation stream does: [S, S, 3] centre crop minus the mean. */
async function preprocessImage(record: ImageRecord, inputSizePx: number, mean: MeanImage): Promise<Float32Array> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(record.path);
  } catch (error) {
    throw new UsageError(`Cannot read image ${record.path}: ${(error as Error).message}`);
  }
  const squarePx = computeSquareSizePx(inputSizePx);
  let square: Uint8Array;
  try {
    square = (await decodeSquare(bytes, { squarePx })).pixels;
  } catch (error) {
    throw new UsageError(`Cannot decode image ${record.path}: ${describeDecodeError(error)}`);
  }
  return augmentImage({ record, square, squarePx }, { cropMode: 'centre', cropPx: inputSizePx, meanSquare: mean.pixels, seed: 1, epoch: 0 }).crops;
}

/**
 * Writes input.npy, one `<tap>.npy` per tap and activations.json under outDir.
 * @throws UsageError for an unreadable image, an unknown image id or an unusable checkpoint.
 */
export async function writeActivations(options: ActivationsOptions): Promise<ActivationsResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const backend = await initBackend(options.backend, { log, purpose: 'inference' });
  const image = await resolveImage(options, log);
  const model = loadModel(options, image.classKeys, log);
  try {
    const { config } = model;
    // The checkpoint's own mean first: it is what the weights were trained with.
    const mean = model.checkpointMean ?? image.mean(computeSquareSizePx(config.inputSizePx));
    log(describeMean(mean));
    const pixels = await preprocessImage(image.record, config.inputSizePx, mean);
    mkdirSync(options.outDir, { recursive: true });
    const files = [join(options.outDir, 'input.npy')];
    writeFileSync(files[0]!, encodeNpyFloat32(pixels, [1, config.inputSizePx, config.inputSizePx, 3]));
    const tapShapes: Record<string, { shape: number[]; file: string; definition: string }> = {};
    // The engine --backend picks for forward passes (onnx under auto); taps come back NHWC on every engine.
    const executor = await createForwardExecutor({ workers: 1, backend: options.backend, model: { kind: 'params', config, params: model.params }, graphCacheDir: null });
    let taps: Partial<Record<TapName, TapArray>>;
    try {
      taps = (await executor.run({ pixels, shape: [1, config.inputSizePx, config.inputSizePx, 3] }, { reducer: 'taps', taps: options.taps })).taps;
    } finally {
      await executor.close();
    }
    for (const name of options.taps) {
      const tap = taps[name]!;
      const file = join(options.outDir, `${name}.npy`);
      writeFileSync(file, encodeNpyFloat32(tap.data, tap.shape));
      files.push(file);
      tapShapes[name] = { shape: tap.shape.slice(), file: `${name}.npy`, definition: defineTap(config, name) };
    }
    const sidecarPath = join(options.outDir, 'activations.json');
    writeFileSync(sidecarPath, `${JSON.stringify({
      image: { path: image.record.path, imageId: image.record.imageId >= 0 ? image.record.imageId : null, label: image.record.label },
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
