/**
 * Runs the project's forward requests (src/workers/batch-reducers.ts:
 * top-activations, logits, taps, distances) on onnxruntime: each request kind maps to
 * one graph builder, each distinct request (kind, layers) gets one session,
 * built on first use and kept. Results have the same shapes, layouts and
 * types as the tfjs reducers', so pipelines cannot tell the engines apart.
 *
 * With a cache folder and the weights' SHA-256, built graphs are kept on disk
 * as `<cacheDir>/<sha>-<builder>-<kind>-<options>.onnx` and read back instead of
 * rebuilt (`<builder>`: graphBuilderFingerprint, so another build of the
 * builders never reads them); a cached file onnxruntime refuses is rebuilt once.
 */
import * as ort from 'onnxruntime-node';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { graphBuilderFingerprint } from '../onnx/graph-builder-fingerprint.js';
import { join } from 'node:path';
import type { GraphWeights, ModelGraph } from '../graph/model-graph.js';
import type { LayerBatchReduction } from '../topk/reduce-conv-tap.js';
import type { BatchPixels, ForwardRequest, ForwardResultOf, TapArray } from './batch-reducers.js';
import { findAnalysedLayer, listAnalysedLayers, type AnalysedLayer, type LayerNumbering } from '../graph/analysed-layers.js';
import { buildClassifierGraph, buildDistancesGraph, buildTapsGraph, buildTopActivationsGraph, distanceOutputNames, type LrnForm, PIXELS_INPUT, reductionOutputNames, tapOutputName } from '../onnx/forward-graphs.js';
import { encodeOnnxModel, type OnnxModel } from '../onnx/onnx-format.js';
import { createOnnxSession, type OnnxSessionOptions } from '../onnx/onnx-session.js';

export interface OnnxForwardRunnerOptions {
  graph: ModelGraph;
  weights: GraphWeights;
  session: OnnxSessionOptions;
  lrn?: LrnForm;
  /** Folder of the graph cache (e.g. out/onnx-cache); needs weightsSha256. */
  cacheDir?: string;
  /** SHA-256 of the checkpoint the weights came from. */
  weightsSha256?: string;
  /** How top-activations requests number layers: conv-index for the project's graphs (default), position for imported ones. */
  numbering?: LayerNumbering;
}

export interface OnnxForwardRunner {
  /** Runs one batch. @throws RangeError for a batch whose size does not match the model. */
  run<R extends ForwardRequest>(batch: BatchPixels, request: R): Promise<ForwardResultOf<R>>;
  /** Releases every session. */
  release(): Promise<void>;
}

/** How each request kind becomes a graph and its outputs become a result. */
interface RequestPlan {
  key: string;
  build: () => OnnxModel;
  read: (outputs: ort.InferenceSession.ReturnType, numImages: number) => unknown;
}

function readTap(tensor: ort.Tensor): TapArray {
  return { shape: tensor.dims.slice(), data: tensor.data as Float32Array };
}

function readTaps(outputs: ort.InferenceSession.ReturnType, taps: readonly string[]): Partial<Record<string, TapArray>> {
  const result: Partial<Record<string, TapArray>> = {};
  for (const tap of taps) result[tap] = readTap(outputs[tapOutputName(tap)]!);
  return result;
}

/** The distances request: per measured layer, distances to the batch's first image ([N] float64) and its norm. */
function planDistances(options: OnnxForwardRunnerOptions, request: Extract<ForwardRequest, { reducer: 'distances' }>, lrn: LrnForm): RequestPlan {
  const features = [...new Set(request.features)];
  const taps = [...new Set(request.taps)];
  return {
    // "first": distances to the batch's first image (earlier forms of this graph took reference inputs, or gave every image's norm; their cached files keep their names).
    key: `distances-first32-${features.join('.')}-taps-${taps.join('.')}-lrn-${lrn}`,
    build: () => buildDistancesGraph(options.graph, options.weights, { features, taps, lrn }),
    read: (outputs) => ({
      distances: Object.fromEntries(features.map((tap) => [tap, outputs[distanceOutputNames(tap).distance]!.data as Float64Array])),
      norms: Object.fromEntries(features.map((tap) => [tap, (outputs[distanceOutputNames(tap).norm]!.data as Float64Array)[0]!])),
      taps: readTaps(outputs, taps),
    }),
  };
}

function planRequest(options: OnnxForwardRunnerOptions, analysed: () => AnalysedLayer[], request: ForwardRequest): RequestPlan {
  const { graph, weights } = options;
  const lrn = options.lrn ?? 'pool';
  switch (request.reducer) {
    case 'top-activations': {
      const layers = request.layers.map((layer) => findAnalysedLayer(analysed(), layer));
      const names = layers.map((layer) => layer.name);
      return {
        key: `top-${names.join('.')}-lrn-${lrn}`,
        build: () => buildTopActivationsGraph(graph, weights, { layers: names, lrn }),
        read: (outputs, numImages) => ({
          layers: layers.map((layer): LayerBatchReduction => {
            const out = reductionOutputNames(layer.name);
            return {
              layer: layer.number, numImages, numUnits: layer.units, mapHeight: layer.mapHeight, mapWidth: layer.mapWidth,
              maxValues: outputs[out.max]!.data as Float32Array,
              argmaxIndex: outputs[out.argmax]!.data as Int32Array,
              meanValues: outputs[out.mean]!.data as Float32Array,
            };
          }),
        }),
      };
    }
    case 'logits':
      return {
        key: `classifier-logits-lrn-${lrn}`,
        build: () => buildClassifierGraph(graph, weights, { outputs: ['logits'], lrn }),
        read: (outputs) => ({ logits: readTap(outputs[tapOutputName('logits')]!) }),
      };
    case 'taps': {
      const taps = [...new Set(request.taps)];
      return {
        key: `taps-${taps.join('.')}-nhwc-lrn-${lrn}`,
        build: () => buildTapsGraph(graph, weights, { layers: taps, lrn, layout: 'nhwc' }),
        read: (outputs) => ({ taps: readTaps(outputs, taps) }),
      };
    }
    case 'distances':
      return planDistances(options, request, lrn);
  }
}

/** The plan key as a file name part: as it is when short, else its kind and a hash (many layer names make names too long for the file system). */
function cacheFileKey(key: string): string {
  return key.length <= 96 ? key : `${key.split('-')[0]}-${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
}

function writeAtomically(path: string, bytes: Uint8Array): void {
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fd = openSync(temp, 'w');
  try {
    for (let written = 0; written < bytes.byteLength;) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

async function openPlanSession(options: OnnxForwardRunnerOptions, plan: RequestPlan): Promise<ort.InferenceSession> {
  const description = `${plan.key.split('-')[0]} graph of ${options.graph.name}`;
  if (options.cacheDir === undefined || options.weightsSha256 === undefined) {
    return createOnnxSession(encodeOnnxModel(plan.build()), options.session, { description });
  }
  const path = join(options.cacheDir, `${options.weightsSha256}-${graphBuilderFingerprint()}-${cacheFileKey(plan.key)}.onnx`);
  if (existsSync(path)) {
    try {
      return await createOnnxSession(path, options.session, { description, path });
    } catch (error) {
      if (options.session.executionProvider !== 'cpu' && (error as Error).name === 'UsageError') throw error;
      rmSync(path, { force: true }); // a damaged cache entry: build it again below
    }
  }
  const bytes = encodeOnnxModel(plan.build());
  mkdirSync(options.cacheDir, { recursive: true });
  writeAtomically(path, bytes);
  return createOnnxSession(bytes, options.session, { description, path });
}

/**
 * A runner for one model. Sessions are created on the first request of each
 * kind and layer set.
 * @throws (from run) the errors of createOnnxSession when a graph cannot be loaded.
 */
export function createOnnxForwardRunner(options: OnnxForwardRunnerOptions): OnnxForwardRunner {
  const sessions = new Map<string, Promise<ort.InferenceSession>>();
  const s = options.graph.input.sizePx;
  const c = options.graph.input.channels;
  let layers: AnalysedLayer[] | null = null;
  const analysed = (): AnalysedLayer[] => (layers ??= listAnalysedLayers(options.graph, options.numbering ?? 'conv-index'));
  return {
    async run(batch, request) {
      const [n, h, w, ch] = batch.shape;
      if (h !== s || w !== s || ch !== c) throw new RangeError(`Expected input [N, ${s}, ${s}, ${c}] for ${options.graph.name} but received [${batch.shape.join(', ')}]`);
      if (batch.pixels.length !== n * h * w * ch) throw new RangeError(`Batch of shape [${batch.shape.join(', ')}] needs ${n * h * w * ch} floats but has ${batch.pixels.length}`);
      const plan = planRequest(options, analysed, request);
      let session = sessions.get(plan.key);
      if (session === undefined) {
        session = openPlanSession(options, plan);
        sessions.set(plan.key, session);
        session.catch(() => sessions.delete(plan.key));
      }
      const outputs = await (await session).run({ [PIXELS_INPUT]: new ort.Tensor('float32', batch.pixels, batch.shape) });
      return plan.read(outputs, n) as ForwardResultOf<typeof request>;
    },
    async release() {
      const open = [...sessions.values()];
      sessions.clear();
      for (const session of await Promise.allSettled(open)) if (session.status === 'fulfilled') await session.value.release();
    },
  };
}
