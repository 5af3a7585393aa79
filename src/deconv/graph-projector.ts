/**
 * A Projector over the generic projection graph of any ModelGraph
 * (src/onnx/build-graph-projection.ts: one rule per op, residual joins,
 * batch norm, concat, average pools), with the deconvnet, guided
 * backpropagation or the plain gradient as the ReLU rule. Full frame: each
 * entry runs the forward up to its layer and the way down over the whole
 * image; outside the unit's receptive field the result is exactly zero, since
 * no rule spreads a signal beyond the inputs an output reads. Batches run on
 * onnxruntime in the same worker threads (or in-process session) as the
 * windowed deconvnet (src/deconv/deconv-sessions.ts).
 */
import { availableParallelism } from 'node:os';
import { inferGraphShapes } from '../graph/graph-shapes.js';
import { findLayer, type GraphWeights, type ModelGraph } from '../graph/model-graph.js';
import { buildGraphProjection, type DeconvMethod } from '../onnx/deconv-graphs.js';
import { encodeOnnxModel } from '../onnx/onnx-format.js';
import { onnxRuntimeVersion, type ExecutionProviderName } from '../onnx/onnx-session.js';
import type { DeconvFeeds } from './deconv-feeds.js';
import { createDeconvSessions } from './deconv-sessions.js';
import { BATCHES_PER_WORKER, type Projector } from './projector.js';
import type { HwcImage, WindowEntry } from './window-inputs.js';

export interface GraphProjectorOptions {
  executionProvider?: ExecutionProviderName;
  /** Worker threads (0 = one in-process session with `threads` intra-op threads); default one per core. */
  workers?: number;
  threads?: number;
}

/** The examined node of a layer and its map [C, H, W]. */
interface ExaminedMap { node: string; shape: [number, number, number] }

/**
 * The pixels [E, S, S, C] (each entry's image) and select [E, 1] (flat index into the
 * examined map) of a batch.
 * @throws RangeError naming the first entry outside the images, the units or the map
 */
export function feedsOfEntries(graph: ModelGraph, layerName: string, map: ExaminedMap, images: readonly HwcImage[], entries: readonly WindowEntry[]): DeconvFeeds {
  const { channels, sizePx: s } = graph.input;
  const [units, h, w] = map.shape;
  const perImage = s * s * channels;
  const pixels = new Float32Array(entries.length * perImage);
  const select = new BigInt64Array(entries.length);
  entries.forEach((entry, e) => {
    const image = images[entry.imageIndex];
    if (image === undefined || !Number.isInteger(entry.unit) || entry.unit < 0 || entry.unit >= units || !(entry.y >= 0 && entry.y < h && entry.x >= 0 && entry.x < w)) {
      throw new RangeError(`Projection entry ${e} (image ${entry.imageIndex}, unit ${entry.unit}, cell ${entry.y},${entry.x}) is outside ${layerName}: ${images.length} images, ${units} units, ${h}x${w} map`);
    }
    if (image.channels !== channels || image.heightPx !== s || image.widthPx !== s) {
      throw new RangeError(`Projection entry ${e}: image ${entry.imageIndex} is ${image.heightPx}x${image.widthPx}x${image.channels} but ${graph.name} reads ${s}x${s}x${channels}`);
    }
    pixels.set(image.data, e * perImage);
    select[e] = BigInt((entry.unit * h + entry.y) * w + entry.x);
  });
  return { count: entries.length, pixels, pixelsDims: [entries.length, s, s, channels], select, valid: [] };
}

/** Entry `e` of a [E, C, S, S] projection as an [S, S, C] frame. */
function toHwcFrame(projection: Float32Array, e: number, channels: number, s: number): Float32Array {
  const plane = s * s;
  const frame = new Float32Array(plane * channels);
  const base = e * channels * plane;
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < plane; i++) frame[i * channels + c] = projection[base + c * plane + i]!;
  }
  return frame;
}

/**
 * The projector of `method` over any graph; layers by their names or aliases.
 * @throws RangeError naming the layer when it is unknown or not a map, or when workers/threads are out of range
 */
export function createFullFrameProjector(graph: ModelGraph, weights: GraphWeights, method: DeconvMethod, options: GraphProjectorOptions = {}): Projector {
  const cores = availableParallelism();
  const workers = options.workers ?? cores;
  const threads = options.threads ?? cores;
  const executionProvider = options.executionProvider ?? 'cpu';
  const sessions = createDeconvSessions({ executionProvider, workers, threads });
  const shapes = inferGraphShapes(graph);
  const mapOf = (layerName: string): ExaminedMap => {
    const node = findLayer(graph, layerName).node;
    const shape = shapes.get(node)!;
    if (shape.length !== 3) throw new RangeError(`Layer ${layerName} of ${graph.name} is not a map ([${shape.join(', ')}]); projections need [C, H, W] layers`);
    return { node, shape: shape as [number, number, number] };
  };
  const layout = workers === 0 ? `1 session x ${threads} intra-op threads` : `${workers} worker threads x 1-thread sessions`;
  return {
    description: `onnx (onnxruntime-node ${onnxRuntimeVersion()}, ${executionProvider} execution provider, ${layout}; ${method} through the graph's rules, full frame)`,
    // As the windowed engine: a worker keeps one batch queued behind the one it runs.
    parallelism: workers === 0 ? 1 : sessions.parallelism * BATCHES_PER_WORKER,
    async project(layerName, images, entries) {
      if (entries.length === 0) throw new RangeError(`Expected at least one projection entry for ${layerName} but received none`);
      const map = mapOf(layerName);
      const feeds = feedsOfEntries(graph, layerName, map, images, entries);
      const build = () => ({ bytes: encodeOnnxModel(buildGraphProjection(graph, weights, map.node, method)), description: `${method} projection graph of ${graph.name} ${layerName}` });
      const out = await sessions.run(`${map.node}-${method}-full-graph`, build, feeds);
      const { channels, sizePx } = graph.input;
      const projections = entries.map((_, e) => toHwcFrame(out.projection, e, channels, sizePx));
      const box = { top: 0, left: 0, heightPx: sizePx, widthPx: sizePx };
      return { projections, windows: projections.map((values) => ({ box, channels, values })), activations: Float32Array.from(out.activation) };
    },
    close: () => sessions.close(),
  };
}
