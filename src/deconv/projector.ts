/**
 * One interface for deconvnet projections, several engines (chosen once, at
 * the edge, from --backend): `project`, `mosaics`, `occlusion` and
 * `evolution` ask a Projector for the projections of entries of one layer and
 * do not know which engine computes them.
 *
 * - tfjs: projectBatch (full frame) on the active tfjs backend; the reference.
 * - onnx: the windowed deconvnet graph of each layer (src/onnx/build-deconv-graph.ts)
 *   on onnxruntime, over each unit's receptive field only (src/graph/reach-window.ts),
 *   in worker threads with one session each, or one session with intra-op threads.
 * Both return full-frame HWC projections and the recomputed activations.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { inferenceEngineOf, type BackendChoice } from '../backend-choice.js';
import { inferGraphShapes } from '../graph/graph-shapes.js';
import { lowerModelConfig } from '../graph/lower-model-config.js';
import { findLayer, type GraphWeights, type ModelGraph } from '../graph/model-graph.js';
import type { ModelParams } from '../model/params.js';
import type { ModelConfig } from '../model/spec.js';
import { buildDeconvGraph } from '../onnx/deconv-graphs.js';
import { encodeOnnxModel } from '../onnx/onnx-format.js';
import { graphWeightsFromParams } from '../onnx/graph-weights.js';
import { onnxRuntimeVersion, type ExecutionProviderName } from '../onnx/onnx-session.js';
import { projectBatch } from './deconvnet.js';
import { feedsOfBatch } from './deconv-feeds.js';
import { createDeconvSessions } from './deconv-sessions.js';
import { planReachWindows, type ReachPlan, type WindowMode } from '../graph/reach-window.js';
import { cutProjectionWindow, placeWindow, prepareWindowBatch, type HwcImage, type ProjectionWindow, type WindowEntry } from './window-inputs.js';

export type { HwcImage, ProjectionWindow, WindowEntry };

export interface ProjectorResult {
  /** Per entry, [H, W, C] row-major, before display scaling (full frames, built from `windows` when first read). */
  readonly projections: Float32Array[];
  /** Per entry, the part of the frame the projection can be non-zero in (its receptive field, clipped to the image; the whole frame on tfjs). */
  windows: ProjectionWindow[];
  /** Per entry, the recomputed activation (rectified conv output). */
  activations: Float32Array;
}

export interface Projector {
  /** One line naming the engine, e.g. "onnx (onnxruntime-node 1.30.0, ...; receptive-field windows)". */
  readonly description: string;
  /** Batches worth keeping in flight at once. */
  readonly parallelism: number;
  /**
   * Projects entries of one conv layer (`conv1` ..). Each entry names an image of `images`.
   * @throws RangeError naming the layer or the first bad entry
   */
  project(layerName: string, images: readonly HwcImage[], entries: readonly WindowEntry[]): Promise<ProjectorResult>;
  close(): Promise<void>;
}

export interface ProjectorOptions {
  /** --backend: onnx/auto choose onnxruntime, tensorflow/wasm/cpu the tfjs deconvnet. */
  backend: BackendChoice;
  config: ModelConfig;
  /** tfjs-layout parameters; read, never disposed. */
  params: ModelParams;
  executionProvider?: ExecutionProviderName;
  /** onnx: worker threads (0 = one in-process session); default one per core. */
  workers?: number;
  /** onnx, workers 0: intra-op threads; default one per core. */
  threads?: number;
  /** onnx: receptive-field windows (default) or the full frame. */
  windows?: WindowMode;
}

/** The projector of the engine `options.backend` names. */
export function createProjector(options: ProjectorOptions): Projector {
  if (inferenceEngineOf(options.backend) === 'tfjs') return createTfjsProjector(options.config, options.params);
  return createOnnxProjector(options);
}

/** The tfjs deconvnet (projectBatch) on the active backend. */
export function createTfjsProjector(config: ModelConfig, params: ModelParams): Projector {
  return {
    description: `tfjs ${tf.getBackend()} (full frame)`,
    parallelism: 1,
    async project(layerName, images, entries) {
      const s = config.inputSizePx;
      const pixels = new Float32Array(images.length * s * s * config.inputChannels);
      images.forEach((image, i) => pixels.set(image.data, i * image.data.length));
      const batch = tf.tensor4d(pixels, [images.length, s, s, config.inputChannels]);
      try {
        const result = projectBatch(config, params, batch, layerName, entries.map((e) => ({ ...e })));
        const [projected, activations] = [await result.projections.data() as Float32Array, await result.activations.data() as Float32Array];
        tf.dispose([result.projections, result.activations]);
        const n = s * s * config.inputChannels;
        const projections = entries.map((_, e) => projected.slice(e * n, (e + 1) * n));
        const box = { top: 0, left: 0, heightPx: s, widthPx: s };
        return { projections, windows: projections.map((values) => ({ box, channels: config.inputChannels, values })), activations };
      } finally {
        batch.dispose();
      }
    },
    async close() {},
  };
}

/** Batches in flight per worker thread: the one it runs and the next. */
export const BATCHES_PER_WORKER = 2;

/** The windowed deconvnet graphs on onnxruntime. */
export function createOnnxProjector(options: ProjectorOptions): Projector {
  const graph = lowerModelConfig(options.config);
  const weights = graphWeightsFromParams(options.config, options.params);
  return createGraphProjector(graph, weights, options);
}

/** The ONNX projector of any ModelGraph (imported models included). */
export function createGraphProjector(graph: ModelGraph, weights: GraphWeights, options: Omit<ProjectorOptions, 'backend' | 'config' | 'params'>): Projector {
  const cores = availableParallelism();
  const workers = options.workers ?? cores;
  const threads = options.threads ?? cores;
  const executionProvider = options.executionProvider ?? 'cpu';
  const mode = options.windows ?? 'reach';
  const sessions = createDeconvSessions({ executionProvider, workers, threads });
  const shapes = inferGraphShapes(graph);
  const plans = new Map<string, ReachPlan>();
  const planOf = (layerName: string): ReachPlan => {
    let plan = plans.get(layerName);
    if (plan === undefined) {
      plan = planReachWindows(graph, shapes, findLayer(graph, layerName).node, mode);
      plans.set(layerName, plan);
    }
    return plan;
  };
  // A worker keeps one batch queued behind the one it runs, so it never waits while the caller prepares or writes.
  const parallelism = workers === 0 ? 1 : sessions.parallelism * BATCHES_PER_WORKER;
  const layout = workers === 0 ? `1 session x ${threads} intra-op threads` : `${workers} worker threads x 1-thread sessions`;
  return {
    description: `onnx (onnxruntime-node ${onnxRuntimeVersion()}, ${executionProvider} execution provider, ${layout}; ${mode === 'reach' ? 'receptive-field windows' : 'full frame'})`,
    parallelism,
    async project(layerName, images, entries) {
      if (entries.length === 0) throw new RangeError(`Expected at least one projection entry for ${layerName} but received none`);
      const plan = planOf(layerName);
      const batch = prepareWindowBatch(plan, images, entries);
      const build = () => ({ bytes: encodeOnnxModel(buildDeconvGraph(graph, weights, plan).model), description: `deconvnet graph of ${graph.name} ${layerName}` });
      const out = await sessions.run(`${layerName}-${mode}`, build, feedsOfBatch(plan, batch));
      const windows = entries.map((_, e) => cutProjectionWindow(plan, batch, out.projection, e));
      return resultOfWindows(windows, Float32Array.from(out.activation), plan.levels[0]!.gridPx);
    },
    close: () => sessions.close(),
  };
}

/** A result whose full frames are only built when a caller reads `projections` (mosaics reads the windows). */
function resultOfWindows(windows: ProjectionWindow[], activations: Float32Array, [heightPx, widthPx]: readonly [number, number]): ProjectorResult {
  let frames: Float32Array[] | undefined;
  return {
    windows,
    activations,
    get projections() {
      frames ??= windows.map((w) => placeWindow(w, heightPx, widthPx));
      return frames;
    },
  };
}
