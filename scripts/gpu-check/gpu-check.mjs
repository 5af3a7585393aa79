/**
 * The GPU check of the onnx engine, run by on-device.sh on a machine with a
 * GPU and no Node.js of its own (the bundle carries node, onnxruntime-node and
 * the compiled graph builders). For each execution provider (cpu, webgpu,
 * cuda): a few SGD steps of full-size zfnet at batch 32 on the project's
 * training graph, and one top-activations batch (conv1-conv5 reductions), with
 * img/s and the loss or values against the cpu provider from the same inputs.
 * webgpu is also run with the weights and momentum kept on the GPU between
 * steps (preferredOutputLocation 'gpu-buffer'). Writes $OUT/gpu-check.json.
 *
 * Usage: node scripts/gpu-check/gpu-check.mjs [steps] [batch]
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { lowerModelConfig } from '../../dist/src/graph/lower-model-config.js';
import { buildModelConfig } from '../../dist/src/model/architectures.js';
import { buildTopActivationsGraph } from '../../dist/src/onnx/forward-graphs.js';
import { encodeOnnxModel } from '../../dist/src/onnx/onnx-format.js';
import { buildTrainStepGraph, dropoutMasks, nextVelocityName, nextWeightName, trainableWeights, velocityInputName } from '../../dist/src/train-graph/train-graphs.js';

const steps = Number(process.argv[2] ?? 6);
const batch = Number(process.argv[3] ?? 32);
const threads = availableParallelism();
const config = buildModelConfig('zfnet');
const graph = lowerModelConfig(config);
const weightsList = trainableWeights(graph);

/** mulberry32, so every provider starts from the same numbers. */
function rng(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function normal(count, std, seed) {
  const next = rng(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next())) * std;
    const a = 2 * Math.PI * next();
    out[i] = r * Math.cos(a);
    if (i + 1 < count) out[i + 1] = r * Math.sin(a);
  }
  return out;
}
const size = (shape) => shape.reduce((a, b) => a * b, 1);
const startWeights = new Map(weightsList.map(({ name, shape }, i) => [name, name.endsWith('.bias') ? new Float32Array(size(shape)) : normal(size(shape), 0.01, 100 + i)]));
const s = config.inputSizePx;
const pixelsOf = (k) => { const next = rng(7 + k); return Float32Array.from({ length: batch * s * s * 3 }, () => next() * 255 - 128); };
const masksOf = (k) => Object.fromEntries(dropoutMasks(graph).map((m, j) => { const next = rng(1000 * k + j); return [m.input, new ort.Tensor('float32', Float32Array.from({ length: batch * m.shape[0] }, () => (next() < m.rate ? 0 : 1 / (1 - m.rate))), [batch, ...m.shape])]; }));
const scalar = (v) => new ort.Tensor('float32', Float32Array.of(v), []);

function sessionOptions(provider, extra = {}) {
  return { executionProviders: provider === 'cpu' ? ['cpu'] : [provider], intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', logSeverityLevel: 3, ...extra };
}

async function trainSteps(provider, resident) {
  const bytes = encodeOnnxModel(buildTrainStepGraph(graph, { kind: 'step', filterRadius: 0.1, weightDecay: false }));
  const started = performance.now();
  const locations = resident ? Object.fromEntries(weightsList.flatMap(({ name }) => [[nextWeightName(name), 'gpu-buffer'], [nextVelocityName(name), 'gpu-buffer']])) : undefined;
  const session = await ort.InferenceSession.create(bytes, sessionOptions(provider, locations === undefined ? {} : { preferredOutputLocation: locations }));
  const sessionMs = performance.now() - started;
  const state = Object.fromEntries(weightsList.flatMap(({ name, shape }) => [[name, new ort.Tensor('float32', startWeights.get(name).slice(), shape)], [velocityInputName(name), new ort.Tensor('float32', new Float32Array(size(shape)), shape)]]));
  const losses = [];
  const stepMs = [];
  for (let k = 0; k < steps; k++) {
    const feeds = { ...state, ...masksOf(k), pixels: new ort.Tensor('float32', pixelsOf(k % 2), [batch, s, s, 3]), labels: new ort.Tensor('int64', BigInt64Array.from({ length: batch }, (_, i) => BigInt((i * 37 + k) % 1000)), [batch]), 'loss-scale': scalar(1 / batch), lr: scalar(0.01), momentum: scalar(0.9) };
    const t = performance.now();
    const out = await session.run(feeds);
    losses.push(out.loss.data[0]);
    stepMs.push(performance.now() - t);
    for (const { name } of weightsList) {
      for (const [input, output] of [[name, nextWeightName(name)], [velocityInputName(name), nextVelocityName(name)]]) {
        if (resident) state[input].dispose?.();
        state[input] = out[output];
      }
    }
  }
  const conv1 = resident ? await state['conv1.weight'].getData() : state['conv1.weight'].data;
  await session.release();
  const timed = stepMs.slice(2);
  const meanMs = timed.reduce((a, b) => a + b, 0) / Math.max(1, timed.length);
  return { sessionMs, stepMs, imagesPerS: (batch * 1000) / meanMs, losses, conv1Sample: Array.from(conv1.slice(0, 8)) };
}

async function topActivationsBatch(provider) {
  const weights = new Map([...startWeights].filter(([name]) => name.startsWith('conv')));
  const bytes = encodeOnnxModel(buildTopActivationsGraph(graph, weights, { layers: ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'], lrn: 'pool' }));
  const session = await ort.InferenceSession.create(bytes, sessionOptions(provider));
  const feeds = { pixels: new ort.Tensor('float32', pixelsOf(0), [batch, s, s, 3]) };
  await session.run(feeds);
  const t = performance.now();
  const out = await session.run(feeds);
  const ms = performance.now() - t;
  const max5 = out['top/conv5/max'].data;
  await session.release();
  return { ms, imagesPerS: (batch * 1000) / ms, conv5Max: Array.from(max5.slice(0, 256)) };
}

function relativeError(a, b) {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) { diff = Math.max(diff, Math.abs(a[i] - b[i])); scale = Math.max(scale, Math.abs(b[i])); }
  return scale === 0 ? diff : diff / scale;
}

const report = { node: process.version, onnxruntime: ort.env.versions, threads, batch, steps, model: 'zfnet (224 px, 1000 classes)', runs: [] };
const runs = [['cpu', false], ['webgpu', false], ['webgpu', true], ['cuda', false]];
let cpu = null;
for (const [provider, resident] of runs) {
  const label = `${provider}${resident ? ' (weights resident on the GPU)' : ''}`;
  const entry = { provider: label };
  try {
    entry.train = await trainSteps(provider, resident);
    if (!resident) entry.topActivations = await topActivationsBatch(provider);
    if (provider === 'cpu') cpu = entry;
    else if (cpu !== null) {
      entry.lossVsCpu = relativeError(entry.train.losses, cpu.train.losses);
      entry.speedupVsCpu = entry.train.imagesPerS / cpu.train.imagesPerS;
      if (entry.topActivations) entry.conv5MaxVsCpu = relativeError(entry.topActivations.conv5Max, cpu.topActivations.conv5Max);
    }
    console.log(`${label}: train ${entry.train.imagesPerS.toFixed(1)} img/s (session ${entry.train.sessionMs.toFixed(0)} ms), losses ${entry.train.losses.map((l) => l.toFixed(4)).join(' ')}`
      + (entry.topActivations ? `; top-activations ${entry.topActivations.imagesPerS.toFixed(1)} img/s` : '') + (entry.lossVsCpu === undefined ? '' : `; loss vs cpu ${entry.lossVsCpu.toExponential(2)}`));
  } catch (error) {
    entry.error = String(error?.message ?? error).split('\n')[0];
    console.log(`${label}: ${entry.error}`);
  }
  report.runs.push(entry);
}
const out = process.env.OUT ?? '.';
writeFileSync(join(out, 'gpu-check.json'), `${JSON.stringify(report, null, 2)}\n`);
console.log(`wrote ${join(out, 'gpu-check.json')}`);
