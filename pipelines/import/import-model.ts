/**
 * `run-pipeline import`: a user's model -> a converted model file under
 * out/models/ and a record in the store. Accepts an ONNX file, a torchvision
 * state_dict saved as safetensors (with --arch), or one of the project's own
 * checkpoints. The preprocessing is fixed here and travels with the model.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { UsageError } from '../../src/errors.js';
import { readCheckpointFile } from '../../src/checkpoint/checkpoint-file.js';
import { decodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { IMAGENET_MEAN_RGB } from '../../src/data/mean-image.js';
import { describeGraph, type GraphReport } from '../../src/graph/describe-graph.js';
import { inferGraphShapes } from '../../src/graph/graph-shapes.js';
import { lowerModelConfig } from '../../src/graph/lower-model-config.js';
import type { ModelGraph } from '../../src/graph/model-graph.js';
import { isImportedModelMetadata, saveImportedModel, type ImportOrigin } from '../../src/import/imported-model-file.js';
import { importOnnxModel } from '../../src/import/onnx-import.js';
import { PLAIN_PREPROCESSING, resolvePreprocessing, TORCHVISION_PREPROCESSING, type Preprocessing, type PreprocessingOptions } from '../../src/import/preprocessing.js';
import { importTorchvisionStateDict } from '../../src/import/torchvision-import.js';
import { TORCHVISION_NAMES } from '../../src/import/torchvision-architectures.js';
import { graphWeightsFromCheckpoint } from '../../src/onnx/graph-weights.js';
import { saveImportedModelRecord, type ImportedModelRecord } from '../../src/store/imported-models-store.js';
import type { Store } from '../../src/store/open-store.js';

export const PRESETS: Readonly<Record<string, Readonly<Preprocessing>>> = Object.freeze({
  torchvision: TORCHVISION_PREPROCESSING,
  plain: PLAIN_PREPROCESSING,
  caffe: Object.freeze<Preprocessing>({ ...PLAIN_PREPROCESSING, channelOrder: 'bgr', mean: [103.939, 116.779, 123.68] }),
});

export interface ImportModelOptions {
  db: Store;
  file: string;
  /** torchvision architecture of a state_dict. */
  arch?: string;
  name?: string;
  preset?: string;
  preprocessing: PreprocessingOptions;
  /** One class name per line, in logit order. */
  labels?: string;
  /** Default out/models. */
  outDir?: string;
}

export interface ImportModelResult {
  record: ImportedModelRecord;
  report: GraphReport;
}

interface Converted { graph: ModelGraph; weights: Map<string, Float32Array>; format: ImportOrigin['format']; architecture: string | null; inputLayout: 'nchw' | 'nhwc'; producer: string; defaults: Readonly<Preprocessing> }

function readSource(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError((error as NodeJS.ErrnoException).code === 'ENOENT' ? `Model file ${path} does not exist` : `Cannot read model file ${path}: ${(error as Error).message}`);
  }
}

/** Safetensors files start with an 8-byte header length, then the JSON header's `{`. */
const looksLikeSafetensors = (bytes: Uint8Array): boolean => bytes.byteLength > 9 && bytes[8] === 0x7b;

function convertSafetensors(bytes: Uint8Array, options: ImportModelOptions): Converted {
  const { metadata } = decodeSafetensors(bytes, options.file);
  if (isImportedModelMetadata(metadata)) throw new UsageError(`${options.file} is already an imported model file; use it with --model after importing its source`);
  if (metadata['zfnet.config'] !== undefined) {
    const contents = readCheckpointFile(options.file);
    const graph = lowerModelConfig(contents.config);
    const lazy = graphWeightsFromCheckpoint(contents);
    const weights = new Map(Object.keys(graph.weightShapes).map((name) => [name, lazy.get(name)!]));
    return {
      graph, weights, format: 'project-checkpoint', architecture: contents.config.name, inputLayout: 'nchw', producer: 'zfnet-pipeline',
      // The project subtracts its dataset's mean image; a record holds the documented fallback, the ImageNet RGB mean.
      defaults: { ...PLAIN_PREPROCESSING, mean: [...IMAGENET_MEAN_RGB], inputSizePx: contents.config.inputSizePx, resizePx: Math.round((contents.config.inputSizePx * 256) / 224) } };
  }
  if (options.arch === undefined) throw new UsageError(`${options.file} is a state_dict without an architecture: give --arch (${TORCHVISION_NAMES.join(', ')})`);
  const inputSizePx = options.preprocessing.inputSize === undefined ? undefined : Number(options.preprocessing.inputSize);
  const { graph, weights } = importTorchvisionStateDict(bytes, { source: options.file, architecture: options.arch, inputSizePx });
  return { graph, weights, format: 'torchvision-state-dict', architecture: options.arch, inputLayout: 'nchw', producer: 'torchvision state_dict', defaults: TORCHVISION_PREPROCESSING };
}

/** What import reads, for a file that is neither: a state_dict is the likely intent (a .pt/.pth file), and it needs --arch. */
export const IMPORT_FORMATS_HINT = 'run-pipeline import reads an ONNX file (torch.onnx.export, tf2onnx) or a safetensors file: a checkpoint of this project, or a torchvision state_dict '
  + `with --arch (${TORCHVISION_NAMES.join(', ')}); save a PyTorch state_dict as safetensors first (safetensors.torch.save_file(model.state_dict(), "model.safetensors"))`;

function convert(bytes: Uint8Array, options: ImportModelOptions): Converted {
  if (looksLikeSafetensors(bytes)) return convertSafetensors(bytes, options);
  if (options.arch !== undefined) throw new UsageError(`--arch names the architecture of a state_dict, but ${options.file} is not a safetensors file`);
  const inputSizePx = options.preprocessing.inputSize === undefined ? undefined : Number(options.preprocessing.inputSize);
  const imported = importOnnxModel(bytes, { source: options.file, name: options.name, inputSizePx, unreadableHint: IMPORT_FORMATS_HINT });
  return { ...imported, format: 'onnx', architecture: null, defaults: { ...PLAIN_PREPROCESSING, inputSizePx: imported.graph.input.sizePx, resizePx: Math.round((imported.graph.input.sizePx * 256) / 224) } };
}

function readLabels(path: string, classes: number): string[] {
  const labels = readSource(path).toString().split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  if (labels.length !== classes) throw new UsageError(`Labels file ${path} has ${labels.length} names but the model has ${classes} classes`);
  return labels;
}

function choosePreprocessing(converted: Converted, options: ImportModelOptions): Preprocessing {
  const preset = options.preset === undefined ? converted.defaults : PRESETS[options.preset];
  if (preset === undefined) throw new UsageError(`Expected one of ${Object.keys(PRESETS).join(', ')} for --preset but received ${JSON.stringify(options.preset)}`);
  const sized = { ...preset, inputSizePx: converted.graph.input.sizePx, resizePx: Math.round((converted.graph.input.sizePx * preset.resizePx) / preset.inputSizePx) };
  const spec = resolvePreprocessing(options.preprocessing, sized);
  if (spec.inputSizePx !== converted.graph.input.sizePx) throw new UsageError(`--input-size ${spec.inputSizePx} does not match the model's fixed input of ${converted.graph.input.sizePx} px`);
  return spec;
}

/**
 * Imports a model: converts it, writes out/models/<name>.safetensors, records it.
 * @throws UsageError for an unreadable or unsupported file (see the importers), a labels file of the wrong length, bad options.
 */
export function importModel(options: ImportModelOptions): ImportModelResult {
  const bytes = readSource(options.file);
  const sourceSha256 = createHash('sha256').update(bytes).digest('hex');
  const converted = convert(bytes, options);
  const name = options.name ?? basename(options.file, extname(options.file));
  const graph = { ...converted.graph, name };
  const preprocessing = choosePreprocessing(converted, options);
  const classes = inferGraphShapes(graph).get(graph.logits)![0]!;
  const classLabels = options.labels === undefined ? null : readLabels(options.labels, classes);
  const origin: ImportOrigin = { format: converted.format, architecture: converted.architecture, sourcePath: resolve(options.file), sourceSha256, inputLayout: converted.inputLayout, producer: converted.producer, classLabels };
  const modelPath = resolve(join(options.outDir ?? 'out/models', `${name}.safetensors`));
  const saved = saveImportedModel(modelPath, { graph, weights: converted.weights, preprocessing, origin });
  const report = describeGraph(graph);
  const record: ImportedModelRecord = {
    name, format: converted.format, architecture: converted.architecture, sourcePath: origin.sourcePath, sourceSha256,
    modelPath, modelSha256: saved.sha256, inputSizePx: graph.input.sizePx, preprocessingJson: JSON.stringify(preprocessing),
    layersJson: JSON.stringify(report.layers.map((l) => ({ name: l.name, kind: l.kind, units: l.units, receptiveFieldPx: l.receptiveFieldPx, aliases: l.aliases }))),
    classLabelsJson: classLabels === null ? null : JSON.stringify(classLabels), importedAt: new Date().toISOString(),
  };
  saveImportedModelRecord(options.db, record);
  return { record, report };
}
