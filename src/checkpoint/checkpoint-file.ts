/**
 * Checkpoints on disk: safetensors files that PyTorch loads without
 * conversion (`safetensors.torch.load_file`). Tensor names `conv1.weight` ..
 * `fc8.bias`, float32 little-endian, PyTorch layout (see src/model/torch-layout.ts).
 * `__metadata__` holds:
 *   - `format`: "pt" (the layout convention tools like transformers check);
 *   - `zfnet.config`: JSON of the architecture with every layer's numbers;
 *   - `zfnet.training`: JSON training state (epoch, step, metrics), when there is one;
 *   - `zfnet.mean`: hash and provenance of the mean image the model was trained
 *     with, stored as tensor `zfnet.mean_image` (see checkpoint-mean.ts).
 *
 * Writes are atomic (temp file, fsync, rename): a crash never leaves half a
 * checkpoint under the final name.
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UsageError } from '../errors.js';
import { paramsFromTensors, type ModelParams } from '../model/params.js';
import type { ModelConfig } from '../model/spec.js';
import { encodeSafetensors, readFloat32, type Float32Entry } from './safetensors.js';
import { readSafetensorsFile } from './read-safetensors-file.js';
import type { MeanImage } from '../data/mean-image.js';
import { decodeCheckpointMean, encodeCheckpointMean, MEAN_METADATA_KEY, MEAN_TENSOR_NAME } from './checkpoint-mean.js';
import { describeConfig, parseConfigMetadata } from './config-metadata.js';
import { convertFromTorch, convertToTorch, parameterLayouts } from '../model/torch-layout.js';

export const CONFIG_METADATA_KEY = 'zfnet.config';
export const TRAINING_METADATA_KEY = 'zfnet.training';

/** Training progress saved with the weights. Trainers may add fields; these are the common ones. */
export interface TrainingState {
  epoch: number;
  step: number;
  metrics?: Record<string, number>;
  [key: string]: unknown;
}

export interface SaveCheckpointOptions {
  config: ModelConfig;
  /** tfjs layout; read, not disposed. */
  params: ModelParams;
  trainingState?: TrainingState | null;
  /** The mean image the weights were trained with (its size must be the model's square). */
  mean?: MeanImage | null;
}

export interface SaveCheckpointResult {
  path: string;
  sha256: string;
  sizeBytes: number;
}

/**
 * Writes a checkpoint atomically from tfjs-layout parameters. The parent folder is created when missing.
 * @throws RangeError naming the parameter when `params` lacks one the config needs or has the wrong shape.
 */
export function saveCheckpoint(path: string, options: SaveCheckpointOptions): SaveCheckpointResult {
  const tensors = new Map<string, Float32Array>();
  for (const layout of parameterLayouts(options.config)) {
    const variable = options.params.get(layout.name);
    if (variable === undefined) throw new RangeError(`Model parameters have no tensor ${layout.name}`);
    if (variable.shape.join(',') !== layout.tfjsShape.join(',')) {
      throw new RangeError(`Parameter ${layout.name} has shape [${variable.shape.join(', ')}] but ${options.config.name} needs [${layout.tfjsShape.join(', ')}]`);
    }
    tensors.set(layout.name, convertToTorch(layout, variable.dataSync() as Float32Array));
  }
  return saveCheckpointTensors(path, { ...options, tensors });
}

export interface SaveCheckpointTensorsOptions extends Omit<SaveCheckpointOptions, 'params'> {
  /** PyTorch layout by parameter name (what training engines hand over); read, not changed. */
  tensors: ReadonlyMap<string, Float32Array>;
}

/**
 * Writes a checkpoint atomically from PyTorch-layout tensors. The parent folder is created when missing.
 * @throws RangeError naming the tensor when one the config needs is missing or has the wrong size.
 */
export function saveCheckpointTensors(path: string, options: SaveCheckpointTensorsOptions): SaveCheckpointResult {
  const tensors = new Map<string, Float32Entry>();
  for (const layout of parameterLayouts(options.config)) {
    const data = options.tensors.get(layout.name);
    const size = layout.torchShape.reduce((a, b) => a * b, 1);
    if (data === undefined) throw new RangeError(`Model parameters have no tensor ${layout.name}`);
    if (data.length !== size) throw new RangeError(`Parameter ${layout.name} has ${data.length} values but ${options.config.name} needs [${layout.torchShape.join(', ')}]`);
    tensors.set(layout.name, { shape: layout.torchShape, data });
  }
  const metadata: Record<string, string> = { format: 'pt', [CONFIG_METADATA_KEY]: JSON.stringify(describeConfig(options.config)) };
  if (options.trainingState) metadata[TRAINING_METADATA_KEY] = JSON.stringify(options.trainingState);
  if (options.mean) {
    const encoded = encodeCheckpointMean(options.mean);
    tensors.set(MEAN_TENSOR_NAME, encoded.tensor);
    metadata[MEAN_METADATA_KEY] = encoded.metadata;
  }
  return writeChunksAtomically(path, encodeSafetensors(tensors, metadata));
}

/** Writes chunks to `path` through a temp file, fsync and rename; returns size and SHA-256. */
export function writeChunksAtomically(path: string, chunks: Uint8Array[]): SaveCheckpointResult {
  mkdirSync(dirname(path), { recursive: true });
  const tempPath = `${path}.${process.pid}.tmp`;
  const hash = createHash('sha256');
  let sizeBytes = 0;
  let fd: number | null = null;
  try {
    fd = openSync(tempPath, 'w');
    for (const chunk of chunks) {
      for (let written = 0; written < chunk.byteLength;) written += writeSync(fd, chunk, written);
      hash.update(chunk);
      sizeBytes += chunk.byteLength;
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tempPath, path);
  } finally {
    if (fd !== null) closeSync(fd);
    rmSync(tempPath, { force: true });
  }
  return { path, sha256: hash.digest('hex'), sizeBytes };
}

/** A checkpoint read and validated, without touching TensorFlow.js. */
export interface CheckpointContents {
  config: ModelConfig;
  /**
   * PyTorch layout, keyed like the file, in the config's parameter order. Read-only.
   * Only the tensors the reader kept (ReadCheckpointOptions.keepTensor; by default all).
   */
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  trainingState: TrainingState | null;
  /** The mean image it was trained with; null for checkpoints written before means travelled with them. */
  mean: MeanImage | null;
  sha256: string;
  sizeBytes: number;
}

export interface ReadCheckpointOptions {
  /**
   * Which parameter tensors to keep in memory (default: all). Every tensor is
   * still checked against the config and hashed; the ones not kept are never copied.
   */
  keepTensor?: (name: string) => boolean;
}

/** The conv layers' weights and biases: all a top-activations or deconvnet graph of the project's models reads. */
export const isConvTensor = (name: string): boolean => /^conv\d+\.(weight|bias)$/.test(name);

/**
 * Reads and validates a checkpoint file: format, config metadata, and every
 * tensor's presence, dtype and shape against the config.
 * @throws UsageError naming the file (and the tensor) when it is missing, truncated or does not match its config.
 */
export function readCheckpointFile(path: string, options: ReadCheckpointOptions = {}): CheckpointContents {
  const keep = options.keepTensor ?? (() => true);
  const file = readSafetensorsFile(path, (name) => name === MEAN_TENSOR_NAME || keep(name));
  const { metadata, entries } = file.layout;
  const stored = new Map(entries.map((e) => [e.name, e]));
  const config = parseConfigMetadata(metadata[CONFIG_METADATA_KEY], path);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const needed = new Set<string>();
  for (const layout of parameterLayouts(config)) {
    const tensor = stored.get(layout.name);
    if (tensor === undefined) throw new UsageError(`Checkpoint ${path} has no tensor ${layout.name}, which ${config.name} needs`);
    if (tensor.dtype !== 'F32') throw new UsageError(`Checkpoint ${path}: tensor ${layout.name} has dtype ${tensor.dtype}, expected F32`);
    if (tensor.shape.join(',') !== layout.torchShape.join(',')) {
      throw new UsageError(`Checkpoint ${path}: tensor ${layout.name} has shape [${tensor.shape.join(', ')}] but its config (${config.name}, ${config.numClasses} classes) needs [${layout.torchShape.join(', ')}]`);
    }
    needed.add(layout.name);
    const kept = file.kept.get(layout.name);
    if (kept !== undefined) tensors.set(layout.name, { shape: tensor.shape, data: readFloat32(kept) });
  }
  const mean = decodeCheckpointMean(file.kept.get(MEAN_TENSOR_NAME), metadata[MEAN_METADATA_KEY], config, path);
  const extra = entries.find((e) => !needed.has(e.name) && e.name !== MEAN_TENSOR_NAME);
  if (extra !== undefined) throw new UsageError(`Checkpoint ${path} has tensor ${extra.name}, which ${config.name} does not have`);
  const trainingState = parseTrainingState(metadata[TRAINING_METADATA_KEY], path);
  return { config, tensors, trainingState, mean, sha256: file.sha256, sizeBytes: file.sizeBytes };
}

function parseTrainingState(json: string | undefined, path: string): TrainingState | null {
  if (json === undefined) return null;
  let state: unknown;
  try {
    state = JSON.parse(json);
  } catch {
    throw new UsageError(`Checkpoint ${path} has a malformed ${TRAINING_METADATA_KEY}: not JSON`);
  }
  if (typeof state !== 'object' || state === null || Array.isArray(state)) {
    throw new UsageError(`Checkpoint ${path} has a malformed ${TRAINING_METADATA_KEY}: not a JSON object`);
  }
  return state as TrainingState;
}

export interface LoadedCheckpoint {
  config: ModelConfig;
  /** tfjs layout. Ownership: the caller disposes them (disposeParams). */
  params: ModelParams;
  trainingState: TrainingState | null;
  /** See CheckpointContents.mean. */
  mean: MeanImage | null;
  sha256: string;
}

/**
 * Loads a checkpoint into tf.Variables (tfjs layout) on the current backend.
 * @throws UsageError naming the file (and the tensor) when it cannot be used; see readCheckpointFile.
 */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  const contents = readCheckpointFile(path);
  return { config: contents.config, params: paramsFromCheckpoint(contents), trainingState: contents.trainingState, mean: contents.mean, sha256: contents.sha256 };
}

/**
 * tf.Variables (tfjs layout) of a checkpoint read into memory. Ownership: the caller disposes them.
 * @throws RangeError naming a parameter the reader did not keep (ReadCheckpointOptions.keepTensor)
 */
export function paramsFromCheckpoint(contents: Pick<CheckpointContents, 'config' | 'tensors'>): ModelParams {
  const tensors = new Map<string, tf.Tensor>();
  try {
    for (const layout of parameterLayouts(contents.config)) {
      const torch = contents.tensors.get(layout.name);
      if (torch === undefined) throw new RangeError(`The checkpoint was read without tensor ${layout.name}, which the tfjs model needs`);
      tensors.set(layout.name, tf.tensor(convertFromTorch(layout, torch.data), layout.tfjsShape, 'float32'));
    }
    return paramsFromTensors(tensors);
  } finally {
    for (const tensor of tensors.values()) tensor.dispose();
  }
}
