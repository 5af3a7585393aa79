/**
 * The weights a graph builder reads (GraphWeights: PyTorch layout, by name),
 * from the project's in-memory parameters (tfjs layout) or from a checkpoint
 * file's tensors (already PyTorch layout).
 */
import type { CheckpointContents } from '../checkpoint/checkpoint-file.js';
import { convertToTorch, parameterLayouts } from '../model/torch-layout.js';
import type { GraphWeights } from '../graph/model-graph.js';
import type { ModelParams } from '../model/params.js';
import type { ModelConfig } from '../model/spec.js';
import type { PackedParams } from '../model/packed-params.js';

/**
 * Weights converted on first read: a graph that needs only the conv layers
 * (top-activations) never pays for permuting the 150 M floats of fc6.
 * Each converted tensor is kept (the graph builders may read it again).
 */
class LazyGraphWeights extends Map<string, Float32Array> {
  constructor(private readonly loaders: ReadonlyMap<string, () => Float32Array>) {
    super();
  }

  override get(name: string): Float32Array | undefined {
    let data = super.get(name);
    const load = this.loaders.get(name);
    if (data === undefined && load !== undefined) {
      data = load();
      super.set(name, data);
    }
    return data;
  }

  override has(name: string): boolean {
    return this.loaders.has(name);
  }

  /** Iterating needs every tensor: convert the ones not read yet. */
  private loadAll(): void {
    for (const name of this.loaders.keys()) this.get(name);
  }

  override get size(): number {
    return this.loaders.size;
  }

  override entries(): MapIterator<[string, Float32Array]> {
    this.loadAll();
    return super.entries();
  }

  override keys(): MapIterator<string> {
    this.loadAll();
    return super.keys();
  }

  override values(): MapIterator<Float32Array> {
    this.loadAll();
    return super.values();
  }

  override forEach(callback: (value: Float32Array, key: string, map: Map<string, Float32Array>) => void, thisArg?: unknown): void {
    this.loadAll();
    super.forEach(callback, thisArg);
  }

  override [Symbol.iterator](): MapIterator<[string, Float32Array]> {
    return this.entries();
  }
}

/**
 * PyTorch-layout weights of in-memory parameters, converted when a builder
 * reads them. Reads the variables (dataSync), never disposes them: keep the
 * params alive while graphs are built.
 * @throws RangeError naming a parameter the config needs that `params` lacks.
 */
export function graphWeightsFromParams(config: ModelConfig, params: ModelParams): GraphWeights {
  const loaders = new Map<string, () => Float32Array>();
  for (const layout of parameterLayouts(config)) {
    const variable = params.get(layout.name);
    if (variable === undefined) throw new RangeError(`Model parameters have no tensor ${layout.name}`);
    loaders.set(layout.name, () => convertToTorch(layout, variable.dataSync() as Float32Array));
  }
  return new LazyGraphWeights(loaders);
}

/**
 * PyTorch-layout weights of parameters packed for worker threads (tfjs
 * layout in one SharedArrayBuffer), converted when a builder reads them.
 * @throws RangeError naming a parameter the config needs that the pack lacks.
 */
export function graphWeightsFromPacked(config: ModelConfig, packed: PackedParams): GraphWeights {
  const entries = new Map(packed.entries.map((entry) => [entry.name, entry]));
  const loaders = new Map<string, () => Float32Array>();
  for (const layout of parameterLayouts(config)) {
    const entry = entries.get(layout.name);
    if (entry === undefined) throw new RangeError(`Model parameters have no tensor ${layout.name}`);
    loaders.set(layout.name, () => convertToTorch(layout, new Float32Array(packed.buffer, entry.offsetFloats * 4, entry.lengthFloats)));
  }
  return new LazyGraphWeights(loaders);
}

/** The tensors of a checkpoint read by readCheckpointFile (views, not copies). */
export function graphWeightsFromCheckpoint(contents: Pick<CheckpointContents, 'tensors'>): GraphWeights {
  return new Map([...contents.tensors].map(([name, tensor]) => [name, tensor.data]));
}
