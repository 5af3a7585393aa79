/**
 * Test fixture: narrow torchvision-shaped models written as ONNX by the
 * project's own builder and imported like a user's file (torchvision
 * preprocessing), and the direct reference of a stored top-k entry's
 * projection: the image decoded, cropped and normalised here, then autodiff
 * on tfjs through the graph with the method's ReLU rule.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { importModel } from '../../pipelines/import/import-model.js';
import { computePaperCropBox, extractCrop } from '../../src/data/crop-geometry.js';
import { decodeSquare } from '../../src/data/decode-image.js';
import type { AnalysedLayer } from '../../src/graph/analysed-layers.js';
import { loadImportedModel, type LoadedImportedModel } from '../../src/import/imported-model-file.js';
import { normalizePixels } from '../../src/import/preprocessing.js';
import { buildTorchvisionGraph } from '../../src/import/torchvision-architectures.js';
import { importTorchvisionStateDict } from '../../src/import/torchvision-import.js';
import { buildClassifierGraph } from '../../src/onnx/build-classifier-graph.js';
import type { DeconvMethod } from '../../src/onnx/deconv-down-rules.js';
import { encodeOnnxModel } from '../../src/onnx/onnx-codec.js';
import type { Store } from '../../src/store/open-store.js';
import type { TopRowView } from '../../src/store/top-activations-store.js';
import { writeStateDict } from '../import/torchvision-fixtures.js';
import { referenceProjection } from '../onnx/projection-reference.js';

/** Writes `<dir>/<name>.onnx`: a narrow (widths / 16) torchvision architecture with seeded weights and `numClasses` logits; returns its path. */
export function writeNarrowOnnx(dir: string, name: string, architecture: 'resnet18' | 'alexnet', inputSizePx: number, seed: number, numClasses = 3): string {
  const small = buildTorchvisionGraph(architecture, { widthDivisor: 16, inputSizePx, numClasses });
  const { graph, weights } = importTorchvisionStateDict(writeStateDict(small, { seed }), { source: 'x', architecture, widthDivisor: 16, inputSizePx });
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, encodeOnnxModel(buildClassifierGraph(graph, weights, { outputs: ['logits'], lrn: 'pool' })));
  return path;
}

/** Imports a narrow model into the store (models under `<dir>/models`); returns the converted file's path. */
export function importNarrowModel(db: Store, dir: string, name: string, architecture: 'resnet18' | 'alexnet', inputSizePx: number, seed: number): string {
  const file = writeNarrowOnnx(dir, name, architecture, inputSizePx, seed);
  return importModel({ db, file, name, preset: 'torchvision', preprocessing: {}, outDir: join(dir, 'models') }).record.modelPath;
}

/** The model input of an image as the model's preprocessing says: [S, S, 3] normalised. */
async function modelInputOf(model: LoadedImportedModel, path: string): Promise<Float32Array> {
  const { inputSizePx: s, resizePx, resample } = model.preprocessing;
  const square = (await decodeSquare(readFileSync(path), { squarePx: resizePx, resample, cropPx: s })).pixels;
  const crop = new Float32Array(s * s * 3);
  extractCrop(square, resizePx, computePaperCropBox('centre', resizePx, s, false), null, crop);
  return normalizePixels(crop, model.preprocessing);
}

/** Per row, the reference projection as an [S, S, 3] frame (rows of one layer). */
export async function referenceOfRows(modelPath: string, layer: AnalysedLayer, rows: readonly TopRowView[], method: DeconvMethod): Promise<Float32Array[]> {
  const model = loadImportedModel(modelPath);
  const s = model.preprocessing.inputSizePx;
  const frames: Float32Array[] = [];
  for (let start = 0; start < rows.length; start += 8) {
    const batch = rows.slice(start, start + 8);
    const nhwc = new Float32Array(batch.length * s * s * 3);
    for (const [i, row] of batch.entries()) nhwc.set(await modelInputOf(model, row.path), i * s * s * 3);
    const nchw = tf.tidy(() => tf.transpose(tf.tensor4d(nhwc, [batch.length, s, s, 3]), [0, 3, 1, 2]) as tf.Tensor4D);
    const selects = batch.map((r) => (r.unit * layer.mapHeight + r.y) * layer.mapWidth + r.x);
    const grad = referenceProjection(model.graph, model.weights, nchw, layer.node, selects, method);
    nchw.dispose();
    batch.forEach((_, e) => {
      const frame = new Float32Array(s * s * 3);
      for (let c = 0; c < 3; c++) for (let i = 0; i < s * s; i++) frame[i * 3 + c] = grad[(e * 3 + c) * s * s + i]!;
      frames.push(frame);
    });
  }
  return frames;
}

/** The values of a float32 .npy file. */
export function readNpyValues(path: string): Float32Array {
  const bytes = readFileSync(path);
  const headerEnd = 10 + bytes.readUInt16LE(8);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset + headerEnd, bytes.byteOffset + bytes.length));
}
