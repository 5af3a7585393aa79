/**
 * The initial weights of an architecture as plain arrays in PyTorch layout
 * (the checkpoint's), drawn by the project's seeded RNG: the paper's
 * N(0, 0.01^2) for every weight, biases 0. Each tensor draws from its own
 * stream (seed, its index), so a tensor's values do not depend on the
 * others. Every engine starts from these numbers (tfjs converts them to its
 * layout, see params.ts). Pure and fast: full zfnet's 62M draws take about a
 * second, where tfjs's randomNormal took 15 s on the shared machine.
 */
import { deriveSeed } from '../data/seeded-rng.js';
import { parameterShapes } from './geometry.js';
import type { ModelConfig } from './spec.js';

/** The paper's weight init: N(0, 0.01^2); biases 0. */
export const INIT_WEIGHT_STD = 0.01;

/** Purpose tag of the initialisation streams, apart from the input's and dropout's. */
const INIT_SEED_PURPOSE = 103;

/**
 * `count` samples of N(0, std^2): Box-Muller on the uniform stream of
 * createRng(seed) (src/data/seeded-rng.ts), its mulberry32 step written out
 * here because a call per draw made zfnet's init several times slower.
 */
export function drawNormal(count: number, std: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  const TWO_PI = 2 * Math.PI;
  for (let i = 0; i < count; i += 2) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    state = (state + 0x6d2b79f5) >>> 0;
    t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const v = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    const radius = Math.sqrt(-2 * Math.log(1 - u)) * std;
    out[i] = radius * Math.cos(TWO_PI * v);
    if (i + 1 < count) out[i + 1] = radius * Math.sin(TWO_PI * v);
  }
  return out;
}

/** The paper's initialisation of every parameter, PyTorch layout, by name in layer order. */
export function drawInitWeights(config: ModelConfig, seed: number): Map<string, Float32Array> {
  const weights = new Map<string, Float32Array>();
  let index = 0;
  for (const [name, shape] of parameterShapes(config)) {
    const count = shape.reduce((a, b) => a * b, 1);
    weights.set(name, name.endsWith('.bias') ? new Float32Array(count) : drawNormal(count, INIT_WEIGHT_STD, deriveSeed(seed, INIT_SEED_PURPOSE, index)));
    index += 1;
  }
  return weights;
}
