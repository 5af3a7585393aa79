/**
 * `npm run bench -- kernels`: the project's wasm backward kernels against
 * tfjs-backend-wasm's own, at full-size zfnet layer shapes, in one process:
 * - conv2dTranspose (Conv2DBackpropInput) for conv1 (7x7/2, 96 filters, 224
 *   px input, pad 1) and conv2 (5x5/2 on 55x55x96): wasm's scalar kernel vs
 *   the project's phase-decomposed XNNPACK conv; ratio original/ours;
 * - tf.grads of one conv layer (its forward, dx and dW) with the
 *   project's kernels (wasm has no Conv2DBackpropFilter of its own), as a
 *   multiple of the forward conv's time.
 *
 * - MaxPoolGrad at pool1: wasm's own (wrong for all-negative windows, last
 *   maximum on ties) vs the project's (cpu's answer), as a time ratio.
 *
 * Flags: --batch=4 (images per call)  --reps=3 (timed calls of the project's
 * kernels; the original scalar kernel is timed once: it takes seconds).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/select-backend.js';
import { registerWasmKernels, unregisterWasmKernels } from '../src/kernels/register-wasm-kernels.js';
import '../src/train/register-gradients.js';
import type { BenchResult, BenchRow } from './bench-types.js';

interface LayerShape {
  name: string;
  input: [number, number, number, number];
  filter: [number, number, number, number];
  stride: number;
  pad: 'valid' | [[number, number], [number, number], [number, number], [number, number]];
}

const LAYERS: Omit<LayerShape, 'input'>[] = [
  { name: 'zfnet conv1 7x7/2 3->96 on 224', filter: [7, 7, 3, 96], stride: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { name: 'zfnet conv2 5x5/2 96->256 on 55', filter: [5, 5, 96, 256], stride: 2, pad: 'valid' },
];
const INPUT_PX: Record<string, [number, number]> = { 'zfnet conv1 7x7/2 3->96 on 224': [224, 3], 'zfnet conv2 5x5/2 96->256 on 55': [55, 96] };

const peakRssMiB = (): number => process.resourceUsage().maxRSS / 1024;

function parseFlags(args: string[]): { batch: number; reps: number } {
  const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return { batch: Number(flag('batch') ?? 4), reps: Number(flag('reps') ?? 3) };
}

/** Milliseconds per call of `work` (its result read back and disposed), after one warm-up call. */
function timeMs(work: () => tf.Tensor | tf.Tensor[], reps: number, warmup: boolean): number {
  const run = (): void => {
    const out = work();
    for (const t of Array.isArray(out) ? out : [out]) t.dataSync();
    tf.dispose(out);
  };
  if (warmup) run();
  const start = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) run();
  return Number(process.hrtime.bigint() - start) / 1e6 / reps;
}

function measureLayer(layer: LayerShape, reps: number): BenchRow[] {
  const x = tf.randomNormal(layer.input, 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal(layer.filter, 0, 0.01, 'float32', 2) as tf.Tensor4D;
  const outShape = tf.tidy(() => tf.conv2d(x, w, layer.stride, layer.pad).shape);
  const dy = tf.randomNormal(outShape, 0, 1, 'float32', 3) as tf.Tensor4D;
  const transpose = (): tf.Tensor => tf.conv2dTranspose(dy, w, layer.input, layer.stride, layer.pad);
  const batch = layer.input[0];
  try {
    unregisterWasmKernels();
    const originalMs = timeMs(transpose, 1, false);
    const originalRss = peakRssMiB();
    registerWasmKernels();
    const oursMs = timeMs(transpose, reps, true);
    const oursRss = peakRssMiB();
    const forwardMs = timeMs(() => tf.conv2d(x, w, layer.stride, layer.pad), reps, true);
    const grads = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, layer.stride, layer.pad), dy)));
    const backwardMs = timeMs(() => grads([x, w]), reps, true);
    const filterMs = timeMs(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: layer.stride, pad: layer.pad, dataFormat: 'NHWC', filterShape: layer.filter } as unknown as tf.NamedAttrMap) as tf.Tensor, reps, true);
    const at = `${layer.name}, batch ${batch}`;
    return [
      { name: `conv2dTranspose wasm original: ${at}`, value: originalMs, unit: 'ms', peakRssMiB: originalRss },
      { name: `conv2dTranspose project kernel: ${at}`, value: oursMs, unit: 'ms', peakRssMiB: oursRss },
      { name: `conv2dTranspose speed-up original/project: ${at}`, value: originalMs / oursMs, unit: 'x' },
      { name: `forward conv2d: ${at}`, value: forwardMs, unit: 'ms' },
      { name: `Conv2DBackpropFilter project kernel: ${at}`, value: filterMs, unit: 'ms' },
      { name: `tf.grads of one conv layer (forward + dx + dW), project: ${at}`, value: backwardMs, unit: 'ms', peakRssMiB: peakRssMiB() },
      { name: `tf.grads / forward conv: ${at}`, value: backwardMs / forwardMs, unit: 'x' },
    ];
  } finally {
    registerWasmKernels();
    tf.dispose([x, w, dy]);
  }
}

/** MaxPoolGrad at zfnet pool1 (3x3/2 on the ceil-padded 111x111x96 conv1 map): wasm's own vs the project's. */
function measurePoolGrad(batch: number, reps: number): BenchRow[] {
  const x = tf.relu(tf.randomNormal([batch, 111, 111, 96], 0, 1, 'float32', 4)) as tf.Tensor4D;
  const dy = tf.randomNormal([batch, 55, 55, 96], 0, 1, 'float32', 5) as tf.Tensor4D;
  const grad = (): tf.Tensor => tf.engine().runKernel('MaxPoolGrad', { dy, input: x }, { filterSize: 3, strides: 2, pad: 'valid' } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const at = `zfnet pool1 3x3/2 on 111x111x96, batch ${batch}`;
  try {
    unregisterWasmKernels();
    const originalMs = timeMs(grad, reps, true);
    registerWasmKernels();
    const oursMs = timeMs(grad, reps, true);
    const forwardMs = timeMs(() => tf.maxPool(x, 3, 2, 'valid'), reps, true);
    return [
      { name: `MaxPoolGrad wasm original (differs from cpu): ${at}`, value: originalMs, unit: 'ms' },
      { name: `MaxPoolGrad project kernel: ${at}`, value: oursMs, unit: 'ms', peakRssMiB: peakRssMiB() },
      { name: `MaxPoolGrad project / original: ${at}`, value: oursMs / originalMs, unit: 'x' },
      { name: `forward maxPool: ${at}`, value: forwardMs, unit: 'ms' },
    ];
  } finally {
    registerWasmKernels();
    tf.dispose([x, dy]);
  }
}

/** Runs the kernel comparison on wasm. */
export async function runBenchmark(args: string[]): Promise<BenchResult> {
  const { batch, reps } = parseFlags(args);
  await initBackend('wasm');
  const rows: BenchRow[] = [];
  for (const layer of LAYERS) {
    const [px, channels] = INPUT_PX[layer.name]!;
    rows.push(...measureLayer({ ...layer, input: [batch, px, px, channels] }, reps));
  }
  rows.push(...measurePoolGrad(batch, reps));
  return {
    rows,
    notes: [
      'original = tfjs-backend-wasm 4.22 Conv2DBackpropInput (scalar C++ loop), timed once; project = src/kernels (XNNPACK conv + data movement)',
      'wasm has no Conv2DBackpropFilter of its own: without the project kernels, conv gradients fail on wasm',
      'wasm\'s own MaxPoolGrad sends the gradient of an all-negative window to its first cell and breaks ties by the last maximum; the project kernel matches cpu',
    ],
  };
}
