/**
 * `npm run bench -- forward`: forward-pass images/s of full-size zfnet at
 * 224x224 on each available backend at batch 1, 8 and 32, and training
 * images/s (forward + backward + SGD-momentum step, the project's
 * runTrainStep) on zfnet-small for wasm and cpu.
 *
 * Flags: --backends=tensorflow,wasm,cpu  --batches=1,8,32  --train-batch=32
 * The cpu backend is plain JavaScript (seconds per image): one timed
 * iteration per row, no warm-up, and training at batch 8 at most.
 * Peak RSS is the process's peak so far (getrusage), so read it row by row.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, NATIVE_PACKAGES, type BackendName } from '../src/backend/select-backend.js';
import { buildModelConfig } from '../src/model/architectures.js';
import { forward } from '../src/model/network.js';
import { disposeParams, initParams, type ModelParams } from '../src/model/params.js';
import type { ModelConfig } from '../src/model/spec.js';
import { createMomentumBuffers, disposeMomentumBuffers, PAPER_SGD } from '../src/train/sgd-momentum.js';
import { runTrainStep } from '../src/train/train-step.js';
import { drawDropoutMasks, listDropoutLayers } from '../src/train/dropout-masks.js';
import type { BenchResult, BenchRow } from './bench-types.js';

interface ForwardBenchOptions {
  backends: BackendName[];
  batches: number[];
  trainBatch: number;
}

function parseFlags(args: string[]): ForwardBenchOptions {
  const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const list = (name: string, fallback: string): string[] => (flag(name) ?? fallback).split(',').filter((s) => s !== '');
  return {
    backends: list('backends', 'tensorflow,wasm,cpu') as BackendName[],
    batches: list('batches', '1,8,32').map(Number),
    trainBatch: Number(flag('train-batch') ?? 32),
  };
}

/** A cpu training step at batch 32 takes minutes; images/s hardly depends on the batch there. */
const CPU_MAX_TRAIN_BATCH = 8;

const peakRssMiB = (): number => process.resourceUsage().maxRSS / 1024;

/** Wall and process CPU seconds per iteration. */
interface Timing {
  wallSeconds: number;
  cpuSeconds: number;
}

/**
 * Runs `work` `iterations` times after `warmups` untimed runs. CPU time is
 * reported too: on a shared machine, wall time measures the neighbours as
 * well, while single-threaded backends use about one CPU-second per wall-second when alone.
 */
function timeIterations(work: () => void, iterations: number, warmups: number): Timing {
  for (let i = 0; i < warmups; i++) work();
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) work();
  const wallSeconds = Number(process.hrtime.bigint() - start) / 1e9 / iterations;
  const cpu = process.cpuUsage(cpuStart);
  return { wallSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 / iterations };
}

/** One images/s row on wall time and one images per CPU-second row. */
function timingRows(name: string, batch: number, timing: Timing, extra: Record<string, unknown>): BenchRow[] {
  const peak = peakRssMiB();
  return [
    { name, value: batch / timing.wallSeconds, unit: 'images/s', peakRssMiB: peak, extra: { ...extra, msPerBatch: timing.wallSeconds * 1000 } },
    { name: `${name} (CPU time)`, value: batch / timing.cpuSeconds, unit: 'images/cpu-s', peakRssMiB: peak, extra: { ...extra, cpuMsPerBatch: timing.cpuSeconds * 1000 } },
  ];
}

/** The cpu backend compiles nothing, so it gets no warm-up run and one timed iteration. */
function iterationsFor(backend: BackendName, wanted: number): { iterations: number; warmups: number } {
  return backend === 'cpu' ? { iterations: 1, warmups: 0 } : { iterations: wanted, warmups: 1 };
}

function measureForward(config: ModelConfig, params: ModelParams, batch: number, runs: { iterations: number; warmups: number }): Timing {
  const input = tf.randomNormal([batch, config.inputSizePx, config.inputSizePx, 3], 0, 60, 'float32', 1) as tf.Tensor4D;
  try {
    return timeIterations(() => {
      const { logits } = forward(config, params, input, { taps: ['logits'] });
      logits!.dataSync();
      logits!.dispose();
    }, runs.iterations, runs.warmups);
  } finally {
    input.dispose();
  }
}

function measureTraining(config: ModelConfig, params: ModelParams, batch: number, runs: { iterations: number; warmups: number }): Timing {
  const size = config.inputSizePx;
  const pixels = Float32Array.from({ length: batch * size * size * 3 }, (_, i) => Math.sin(i) * 60);
  const labels = Array.from({ length: batch }, (_, i) => i % config.numClasses);
  const buffers = createMomentumBuffers(params);
  let step = 0;
  try {
    return timeIterations(() => {
      runTrainStep(config, params, buffers, { pixels, shape: [batch, size, size, 3], labels }, { ...PAPER_SGD, dropoutMasks: drawDropoutMasks(listDropoutLayers(config), step++, batch), filterRadius: 0.1 });
    }, runs.iterations, runs.warmups);
  } finally {
    disposeMomentumBuffers(buffers);
  }
}

/** Backends that start here; tensorflow only when a native package is installed. */
async function availableBackends(wanted: BackendName[], notes: string[]): Promise<BackendName[]> {
  const available: BackendName[] = [];
  for (const name of wanted) {
    try {
      const info = await initBackend(name);
      available.push(name);
      notes.push(`${name}: ${info.detail}`);
    } catch (error) {
      notes.push(`${name}: not available (${(error as Error).message.split(';')[0]}); tried ${NATIVE_PACKAGES.join(', ')}`);
    }
  }
  return available;
}

async function benchForward(backends: BackendName[], batches: number[], rows: BenchRow[]): Promise<void> {
  const config = buildModelConfig('zfnet');
  for (const backend of backends) {
    await initBackend(backend);
    const params = initParams(config, 1);
    for (const batch of batches) {
      const runs = iterationsFor(backend, Math.max(2, Math.ceil(32 / batch)));
      rows.push(...timingRows(`forward zfnet 224 ${backend} batch ${batch}`, batch, measureForward(config, params, batch, runs), runs));
    }
    disposeParams(params);
  }
}

async function benchTraining(backends: BackendName[], trainBatch: number, rows: BenchRow[], notes: string[]): Promise<void> {
  const config = buildModelConfig('zfnet-small');
  for (const backend of backends) {
    const batch = backend === 'cpu' ? Math.min(trainBatch, CPU_MAX_TRAIN_BATCH) : trainBatch;
    await initBackend(backend);
    const params = initParams(config, 1);
    try {
      const runs = iterationsFor(backend, 3);
      rows.push(...timingRows(`train zfnet-small 112 ${backend} batch ${batch}`, batch, measureTraining(config, params, batch, runs), runs));
    } catch (error) {
      notes.push(`train ${backend}: failed: ${(error as Error).message.split('\n')[0]}`);
    } finally {
      disposeParams(params);
    }
  }
}

/** Entry point called by bench/main.ts. */
export async function runBenchmark(args: string[]): Promise<BenchResult> {
  const options = parseFlags(args);
  const notes: string[] = [];
  const rows: BenchRow[] = [];
  const backends = await availableBackends(options.backends, notes);
  await benchForward(backends, options.batches, rows);
  await benchTraining(backends, options.trainBatch, rows, notes);
  notes.push('peak RSS = process peak so far (getrusage maxRSS), in row order');
  return { rows, notes };
}
