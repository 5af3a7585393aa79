/**
 * `npm run bench -- project`: deconvnet projections/s of full-size zfnet
 * (224 px) per layer on wasm, batched as mosaics batches them (one forward of
 * the batch's images, one pass down), and the estimated time of a whole run's
 * 12,384 projections (top-9 of 96+256+384+384+256 units). Also times the way
 * down's transposed convolutions on wasm with the project's registered
 * Conv2DBackpropInput and with tfjs-backend-wasm 4.22's own (a scalar loop),
 * and the forward pass alone.
 *
 * Flags: --backend=wasm|cpu|tensorflow  --batch=8  --repeats=2
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../src/backend/select-backend.js';
import { projectBatch } from '../src/deconv/deconvnet.js';
import { registerWasmKernels, unregisterWasmKernels } from '../src/kernels/register-wasm-kernels.js';
import { transposeConv } from '../src/deconv/project-down.js';
import { buildModelConfig } from '../src/model/architectures.js';
import { computeGeometry } from '../src/model/geometry.js';
import { forward } from '../src/model/network.js';
import { disposeParams, getParam, initParams } from '../src/model/params.js';
import type { BenchResult, BenchRow } from './bench-types.js';

const peakRssMiB = (): number => process.resourceUsage().maxRSS / 1024;

function flag(args: string[], name: string, fallback: string): string {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
}

/** Mean seconds of `repeats` runs after one warm-up run. */
async function timeIt(repeats: number, work: () => tf.Tensor[]): Promise<number> {
  tf.dispose(await Promise.all(work().map(async (t) => { await t.data(); return t; })));
  const start = performance.now();
  for (let i = 0; i < repeats; i++) {
    const out = work();
    for (const t of out) await t.data();
    tf.dispose(out);
  }
  return (performance.now() - start) / 1000 / repeats;
}

export async function runBenchmark(args: string[]): Promise<BenchResult> {
  const backend = flag(args, 'backend', 'wasm') as BackendName;
  const batch = Number(flag(args, 'batch', '8'));
  const repeats = Number(flag(args, 'repeats', '2'));
  await initBackend(backend, { log: () => {} });
  const config = buildModelConfig('zfnet');
  const params = initParams(config, 1);
  const images = tf.randomUniform([batch, 224, 224, 3], -120, 120, 'float32', 7) as tf.Tensor4D;
  const geometry = computeGeometry(config);
  const rows: BenchRow[] = [];
  let totalSeconds = 0;
  const forwardSeconds = await timeIt(repeats, () => Object.values(forward(config, params, images, { taps: ['conv5'] })) as tf.Tensor[]);
  rows.push({ name: `forward zfnet to conv5 ${backend} batch ${batch}`, value: batch / forwardSeconds, unit: 'images/s', peakRssMiB: peakRssMiB() });
  for (const layer of ['conv1', 'conv2', 'conv3', 'conv4', 'conv5']) {
    const g = geometry.find((x) => x.name === layer)!;
    const [h, w, units] = g.outputShape as [number, number, number];
    const entries = Array.from({ length: batch }, (_, i) => ({ imageIndex: i, unit: (i * 37) % units, y: (i * 5) % h, x: (i * 7) % w }));
    const seconds = await timeIt(repeats, () => Object.values(projectBatch(config, params, images, layer, entries)));
    const rate = batch / seconds;
    totalSeconds += (units * 9) / rate;
    rows.push({ name: `project zfnet ${layer} ${backend} batch ${batch}`, value: rate, unit: 'proj/s', peakRssMiB: peakRssMiB(), extra: { secondsPerBatch: seconds } });
  }
  rows.push({ name: `estimate: all 12,384 projections of a zfnet run (${backend})`, value: totalSeconds / 3600, unit: 'hours' });
  for (const [layer, inputPx] of backend === 'wasm' ? [['conv1', 224], ['conv2', 55]] as const : []) {
    const g = geometry.find((x) => x.name === layer)!;
    const weight = getParam(params, `${layer}.weight`) as tf.Tensor as tf.Tensor4D;
    const spec = config.layers.find((l) => l.name === layer)!;
    const stride = spec.kind === 'conv' ? spec.stride : 1;
    const y = tf.randomUniform([batch, ...g.outputShape] as [number, number, number, number]) as tf.Tensor4D;
    const undo = (): tf.Tensor[] => [transposeConv(y, weight, stride, g.effectivePadding, [inputPx, inputPx])];
    const ours = await timeIt(repeats, undo);
    unregisterWasmKernels();
    const theirs = await timeIt(1, undo);
    registerWasmKernels();
    rows.push({ name: `undo ${layer} (registered kernels) ${backend} batch ${batch}`, value: ours * 1000, unit: 'ms' });
    rows.push({ name: `undo ${layer} (tfjs's own kernel) ${backend} batch ${batch}`, value: theirs * 1000, unit: 'ms' });
    y.dispose();
  }
  images.dispose();
  disposeParams(params);
  return {
    rows,
    notes: [
      'a projection = one forward share of its image + one pass down; batches are one entry per image, as mosaics mostly gets them',
      `estimate = sum over layers of (units x 9) / (proj/s of that layer), at batch ${batch}`,
    ],
  };
}
