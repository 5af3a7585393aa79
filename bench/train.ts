/**
 * `npm run bench -- train`: training throughput (forward + backward +
 * SGD-momentum update + filter renormalization, the step `run-pipeline train`
 * takes) in images/s, for full-size zfnet and the demo's zfnet-small, on wasm
 * and cpu, in one process so the ratios compare. Input is synthetic (decode
 * is measured by the input benchmark), so this is the model's ceiling.
 *
 * Flags: --batch=32  --steps=2 (timed steps after one warm-up; cpu full-size
 * zfnet is timed on one step without warm-up: it takes minutes)
 * --models=zfnet,zfnet-small  --backends=wasm,cpu
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../src/backend/select-backend.js';
import { buildModelConfig } from '../src/model/architectures.js';
import { disposeParams, initParams } from '../src/model/params.js';
import { createMomentumBuffers, disposeMomentumBuffers, PAPER_SGD } from '../src/train/sgd-momentum.js';
import { PAPER_FILTER_RADIUS } from '../src/train/filter-renorm.js';
import { runTrainStep, type StepInput } from '../src/train/train-step.js';
import { chooseMicroBatchSize } from '../src/train/micro-batch.js';
import { drawDropoutMasks, listDropoutLayers } from '../src/train/dropout-masks.js';
import { createRng } from '../src/data/seeded-rng.js';
import type { BenchResult, BenchRow } from './main.js';

interface TrainBenchFlags {
  batch: number;
  steps: number;
  models: string[];
  backends: BackendName[];
}

function parseFlags(args: string[]): TrainBenchFlags {
  const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return {
    batch: Number(flag('batch') ?? 32),
    steps: Number(flag('steps') ?? 2),
    models: (flag('models') ?? 'zfnet,zfnet-small').split(','),
    backends: (flag('backends') ?? 'wasm,cpu').split(',') as BackendName[],
  };
}

/** A synthetic batch: values on the mean-subtracted 0..255 scale, labels cycling over the classes. */
function makeBatch(sizePx: number, batch: number, numClasses: number): StepInput {
  const rng = createRng(7);
  const pixels = new Float32Array(batch * sizePx * sizePx * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.next() * 255 - 128;
  return { pixels, shape: [batch, sizePx, sizePx, 3], labels: Array.from({ length: batch }, (_, i) => i % numClasses) };
}

function measure(model: string, backend: BackendName, flags: TrainBenchFlags): BenchRow {
  const config = buildModelConfig(model);
  const params = initParams(config, 1);
  const buffers = createMomentumBuffers(params);
  const input = makeBatch(config.inputSizePx, flags.batch, config.numClasses);
  const slow = backend === 'cpu' && model === 'zfnet';
  const steps = slow ? 1 : flags.steps;
  const microBatchSize = chooseMicroBatchSize(config, flags.batch, backend);
  const step = (i: number) => runTrainStep(config, params, buffers, input, { ...PAPER_SGD, filterRadius: PAPER_FILTER_RADIUS, dropoutMasks: drawDropoutMasks(listDropoutLayers(config), i, flags.batch), microBatchSize });
  try {
    if (!slow) step(0);
    const tensorsBefore = tf.memory().numTensors;
    const startNs = process.hrtime.bigint();
    for (let i = 1; i <= steps; i++) step(i);
    const seconds = Number(process.hrtime.bigint() - startNs) / 1e9;
    return {
      name: `train step ${model} ${config.inputSizePx}px ${backend} batch ${flags.batch}${microBatchSize < flags.batch ? ` (passes of ${microBatchSize})` : ''}`,
      value: (flags.batch * steps) / seconds, unit: 'img/s', peakRssMiB: process.resourceUsage().maxRSS / 1024,
      extra: { steps, secondsPerStep: seconds / steps, warmup: !slow, leakedTensors: tf.memory().numTensors - tensorsBefore },
    };
  } finally {
    disposeMomentumBuffers(buffers);
    disposeParams(params);
  }
}

export async function runBenchmark(args: string[]): Promise<BenchResult> {
  const flags = parseFlags(args);
  const rows: BenchRow[] = [];
  for (const backend of flags.backends) {
    await initBackend(backend, { log: () => {} });
    for (const model of flags.models) {
      const row = measure(model, backend, flags);
      process.stderr.write(`${row.name}: ${row.value.toFixed(2)} img/s\n`);
      rows.push(row);
    }
  }
  return {
    rows,
    notes: [
      'synthetic input (no decode); one step = forward, softmax cross-entropy, gradients, SGD-momentum update, conv filter renormalization',
      'peak RSS is the process maximum so far (rows later in the table include earlier ones)',
      'wasm and cpu compute on one thread in Node; compare ratios measured in one run',
      'wasm splits a batch into passes that fit its 4 GiB heap (src/train/micro-batch.ts); gradients are summed, one update per batch',
    ],
  };
}
