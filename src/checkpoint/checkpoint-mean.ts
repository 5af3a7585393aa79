/**
 * The mean image a checkpoint was trained with, carried inside it (pure):
 *   - tensor `zfnet.mean_image`: float32 [R, R, 3] (rows, columns, RGB; 0..255
 *     scale), R = round(S * 256 / 224) for the model's input side S;
 *   - metadata `zfnet.mean`: JSON with its sha256 (of the tensor's bytes) and
 *     provenance: source (computed | fallback), dataset root, split, size,
 *     images averaged and images skipped.
 * A PyTorch reader pops the tensor before `load_state_dict` (it is not a
 * parameter) and subtracts it from the resized square before cropping.
 */
import { UsageError } from '../errors.js';
import { computeSquareSizePx } from '../data/crop-geometry.js';
import { hashMeanPixels, type MeanImage } from '../data/mean-image.js';
import type { ModelConfig } from '../model/spec.js';
import { readFloat32, type Float32Entry, type SafetensorsTensor } from './safetensors.js';

export const MEAN_TENSOR_NAME = 'zfnet.mean_image';
export const MEAN_METADATA_KEY = 'zfnet.mean';

/** The JSON stored under `zfnet.mean`. */
export interface MeanMetadata {
  formatVersion: 1;
  sha256: string;
  sizePx: number;
  layout: string;
  source: MeanImage['source'];
  dataset: string | null;
  split: string | null;
  imageCount: number;
  skipped: number;
}

/** The tensor and metadata entry that carry `mean`. */
export function encodeCheckpointMean(mean: MeanImage): { tensor: Float32Entry; metadata: string } {
  const meta: MeanMetadata = {
    formatVersion: 1, sha256: hashMeanPixels(mean.pixels), sizePx: mean.sizePx,
    layout: 'float32 [R, R, 3]: rows, columns, RGB on the 0..255 scale; subtracted from the resized R x R square before the S x S crop',
    source: mean.source, dataset: mean.dataset, split: mean.split, imageCount: mean.imageCount, skipped: mean.skipped,
  };
  return { tensor: { shape: [mean.sizePx, mean.sizePx, 3], data: mean.pixels }, metadata: JSON.stringify(meta) };
}

/**
 * The mean a checkpoint carries, or null for one written before means
 * travelled with checkpoints.
 * @throws UsageError naming the file when only one of tensor and metadata is there, the metadata is malformed,
 *   the size is not the model's, or the tensor's hash differs from the recorded one.
 */
export function decodeCheckpointMean(tensor: SafetensorsTensor | undefined, json: string | undefined, config: ModelConfig, path: string): MeanImage | null {
  if (tensor === undefined && json === undefined) return null;
  if (tensor === undefined || json === undefined) {
    throw new UsageError(`Checkpoint ${path} has ${tensor === undefined ? `${MEAN_METADATA_KEY} metadata but no ${MEAN_TENSOR_NAME} tensor` : `a ${MEAN_TENSOR_NAME} tensor but no ${MEAN_METADATA_KEY} metadata`}`);
  }
  let meta: MeanMetadata;
  try {
    meta = JSON.parse(json) as MeanMetadata;
  } catch {
    throw new UsageError(`Checkpoint ${path} has a malformed ${MEAN_METADATA_KEY}: not JSON`);
  }
  const sizePx = computeSquareSizePx(config.inputSizePx);
  if (meta?.sizePx !== sizePx || tensor.dtype !== 'F32' || tensor.shape.join(',') !== `${sizePx},${sizePx},3`) {
    throw new UsageError(`Checkpoint ${path}: ${MEAN_TENSOR_NAME} is ${tensor.dtype} [${tensor.shape.join(', ')}] (metadata ${String(meta?.sizePx)} px) but ${config.name} at ${config.inputSizePx} px needs F32 [${sizePx}, ${sizePx}, 3]`);
  }
  const pixels = readFloat32(tensor).slice();
  const sha256 = hashMeanPixels(pixels);
  if (sha256 !== meta.sha256) throw new UsageError(`Checkpoint ${path}: ${MEAN_TENSOR_NAME} has sha256 ${sha256} but ${MEAN_METADATA_KEY} records ${String(meta.sha256)}: the file is damaged`);
  const source = meta.source === 'fallback' ? 'fallback' : 'computed';
  const count = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0);
  return {
    pixels, sizePx, source, imageCount: count(meta.imageCount), skipped: count(meta.skipped), sha256, origin: 'checkpoint',
    split: typeof meta.split === 'string' ? meta.split : null, dataset: typeof meta.dataset === 'string' ? meta.dataset : null,
  };
}
