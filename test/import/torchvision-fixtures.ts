/**
 * Test fixtures: random state_dicts of torchvision architectures, saved as
 * safetensors the way `safetensors.torch.save_file(model.state_dict())` does
 * (BatchNorm's num_batches_tracked included), at narrowed widths.
 */
import { encodeSafetensors, type Float32Entry } from '../../src/checkpoint/safetensors.js';
import type { ModelGraph } from '../../src/graph/model-graph.js';
import { seededFloats } from './graph-reference.js';

/** Values like a trained net's: He-scaled weights, variances near 1, small biases. */
function tensorFor(name: string, shape: number[], seed: number): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (name.endsWith('running_var')) return seededFloats(count, seed, 0.5).map((v) => 1 + v);
  if (name.endsWith('running_mean') || name.endsWith('.bias')) return seededFloats(count, seed, 0.1);
  if (shape.length === 1) return seededFloats(count, seed, 0.3).map((v) => 1 + v); // bn weight
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  return seededFloats(count, seed, Math.sqrt(6 / fanIn));
}

/** A state_dict file with every tensor the graph names, plus num_batches_tracked per BatchNorm. */
export function writeStateDict(graph: ModelGraph, options: { prefix?: string; seed?: number } = {}): Uint8Array {
  const tensors = new Map<string, Float32Entry>();
  let seed = options.seed ?? 1;
  for (const [name, shape] of Object.entries(graph.weightShapes)) {
    tensors.set(`${options.prefix ?? ''}${name}`, { shape, data: tensorFor(name, shape, seed++) });
    if (name.endsWith('.running_var')) tensors.set(`${options.prefix ?? ''}${name.replace(/running_var$/, 'num_batches_tracked')}`, { shape: [], data: Float32Array.of(0) });
  }
  return new Uint8Array(Buffer.concat(encodeSafetensors(tensors).map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))));
}
