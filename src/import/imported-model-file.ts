/**
 * An imported model on disk: one safetensors file (PyTorch loads it) with the
 * graph's weights in PyTorch layout under their graph names, and in
 * `__metadata__`:
 *   - `zfnet.graph`: the ModelGraph as JSON (nodes with the model's own names);
 *   - `zfnet.preprocessing`: the Preprocessing every command applies;
 *   - `zfnet.import`: where it came from (format, architecture, source path and
 *     SHA-256, input layout, producer, class labels).
 * Written atomically; read back with every weight checked against the graph.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';
import { writeChunksAtomically, type SaveCheckpointResult } from '../checkpoint/checkpoint-file.js';
import { decodeSafetensors, encodeSafetensors, readFloat32, type Float32Entry } from '../checkpoint/safetensors.js';
import { inferGraphShapes } from '../graph/graph-shapes.js';
import { validateGraph, type ModelGraph } from '../graph/model-graph.js';
import type { Preprocessing } from './preprocessing.js';

export const GRAPH_METADATA_KEY = 'zfnet.graph';
export const PREPROCESSING_METADATA_KEY = 'zfnet.preprocessing';
export const IMPORT_METADATA_KEY = 'zfnet.import';

export interface ImportOrigin {
  format: 'onnx' | 'torchvision-state-dict' | 'project-checkpoint';
  architecture: string | null;
  sourcePath: string;
  sourceSha256: string;
  inputLayout: 'nchw' | 'nhwc';
  producer: string;
  /** Class names in logit order, when a labels file was given. */
  classLabels: string[] | null;
}

export interface ImportedModel {
  graph: ModelGraph;
  weights: Map<string, Float32Array>;
  preprocessing: Preprocessing;
  origin: ImportOrigin;
}

export interface LoadedImportedModel extends ImportedModel {
  path: string;
  sha256: string;
  sizeBytes: number;
}

/** Writes the model file atomically. @throws RangeError naming a weight the graph names but the map lacks. */
export function saveImportedModel(path: string, model: ImportedModel): SaveCheckpointResult {
  const tensors = new Map<string, Float32Entry>();
  for (const [name, shape] of Object.entries(model.graph.weightShapes)) {
    const data = model.weights.get(name);
    if (data === undefined) throw new RangeError(`Imported model ${model.graph.name} has no weight ${name}`);
    tensors.set(name, { shape, data });
  }
  const metadata = {
    format: 'pt',
    [GRAPH_METADATA_KEY]: JSON.stringify(model.graph),
    [PREPROCESSING_METADATA_KEY]: JSON.stringify(model.preprocessing),
    [IMPORT_METADATA_KEY]: JSON.stringify(model.origin),
  };
  return writeChunksAtomically(path, encodeSafetensors(tensors, metadata));
}

/** True when safetensors metadata marks an imported model file. */
export function isImportedModelMetadata(metadata: Record<string, string>): boolean {
  return metadata[GRAPH_METADATA_KEY] !== undefined;
}

function parseJson<T>(metadata: Record<string, string>, key: string, path: string): T {
  try {
    return JSON.parse(metadata[key] ?? '') as T;
  } catch {
    throw new UsageError(`Model file ${path} is not an imported model: its metadata ${key} is missing or not JSON (import it with run-pipeline import)`);
  }
}

/** Files written before the resize method was recorded resized with sharp's lanczos3. */
function withResample(preprocessing: Partial<Preprocessing>): Preprocessing {
  return { ...preprocessing, resample: preprocessing.resample ?? 'sharp-lanczos3' } as Preprocessing;
}

/**
 * Reads an imported model file and checks it: the graph is valid, shapes infer, every weight is there with its shape.
 * @throws UsageError naming the file (and the weight) otherwise.
 */
export function loadImportedModel(path: string): LoadedImportedModel {
  let file: Uint8Array;
  try {
    file = readFileSync(path);
  } catch (error) {
    throw new UsageError((error as NodeJS.ErrnoException).code === 'ENOENT' ? `Model file ${path} does not exist` : `Cannot read model file ${path}: ${(error as Error).message}`);
  }
  const { tensors, metadata } = decodeSafetensors(file, path);
  const graph = parseJson<ModelGraph>(metadata, GRAPH_METADATA_KEY, path);
  try {
    validateGraph(graph);
    inferGraphShapes(graph);
  } catch (error) {
    throw new UsageError(`Model file ${path} holds a broken graph: ${(error as Error).message}`);
  }
  const weights = new Map<string, Float32Array>();
  for (const [name, shape] of Object.entries(graph.weightShapes)) {
    const tensor = tensors.get(name);
    if (tensor === undefined || tensor.dtype !== 'F32' || tensor.shape.join(',') !== shape.join(',')) {
      throw new UsageError(`Model file ${path}: weight ${name} is ${tensor === undefined ? 'missing' : `${tensor.dtype} [${tensor.shape.join(', ')}]`} but the graph needs F32 [${shape.join(', ')}]`);
    }
    weights.set(name, readFloat32(tensor));
  }
  return {
    graph, weights, path, sha256: createHash('sha256').update(file).digest('hex'), sizeBytes: file.byteLength,
    preprocessing: withResample(parseJson<Preprocessing>(metadata, PREPROCESSING_METADATA_KEY, path)),
    origin: parseJson<ImportOrigin>(metadata, IMPORT_METADATA_KEY, path),
  };
}
