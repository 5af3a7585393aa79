/**
 * `npm run bench -- train`: training throughput (forward with dropout,
 * softmax cross-entropy, backward, SGD-momentum update, filter
 * renormalisation: the step `run-pipeline train` takes) in images/s on
 * synthetic input, so these are each engine's ceiling (decode and start-up
 * are in `npm run bench -- train-vs-torch`):
 * - the onnx engine: one session with N intra-op threads (what train runs),
 *   and two training threads of one intra-op thread each stepping half the
 *   batch at the same time (the ceiling of data parallelism: no gradient
 *   exchange, which the real thing would add), so the choice is measured;
 * - tfjs (wasm by default; --backends=wasm,cpu), in-process, one thread;
 * - Debian's PyTorch (bench/torch-train.py), the same step at the same batch and threads.
 * All in one process run, so the ratios compare.
 *
 * Flags: --batch=32 --steps=3 (timed, after 2 warm-up steps; full zfnet on
 * tfjs: 1 step, no warm-up) --models=zfnet,zfnet-small --backends=wasm --threads=N
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../src/backend/select-backend.js';
import { parameterLayouts } from '../src/model/torch-layout.js';
import { createRng } from '../src/data/seeded-rng.js';
import { buildModelConfig } from '../src/model/architectures.js';
import { disposeParams, initParams } from '../src/model/params.js';
import type { ModelConfig } from '../src/model/spec.js';
import { drawDropoutMasks, listDropoutLayers } from '../src/train/dropout-masks.js';
import { PAPER_FILTER_RADIUS } from '../src/train/filter-renorm.js';
import { chooseMicroBatchSize } from '../src/train/micro-batch.js';
import { createOnnxTrainSession } from '../src/train/onnx-train-session.js';
import { createOnnxTrainer } from '../src/train/onnx-trainer.js';
import { PAPER_SGD } from '../src/train/sgd-momentum.js';
import { createTfjsTrainer, torchTensorsOf } from '../src/train/tfjs-trainer.js';
import type { Trainer, TrainTensors } from '../src/train/trainer.js';
import type { StepInput } from '../src/train/train-step.js';
import type { BenchResult, BenchRow } from './bench-types.js';
import { findTorchPython, PYTHON_CANDIDATES } from './throughput.js';

interface TrainBenchFlags {
  batch: number;
  steps: number;
  models: string[];
  backends: BackendName[];
  threads: number;
}

function parseFlags(args: string[]): TrainBenchFlags {
  const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return {
    batch: Number(flag('batch') ?? 32),
    steps: Number(flag('steps') ?? 3),
    models: (flag('models') ?? 'zfnet,zfnet-small').split(','),
    backends: (flag('backends') ?? 'wasm').split(',').filter((b) => b !== '') as BackendName[],
    threads: Number(flag('threads') ?? availableParallelism()),
  };
}

/** A synthetic batch: values on the mean-subtracted 0..255 scale, labels cycling over the classes. */
function makeBatch(config: ModelConfig, rows: number, seed = 7): StepInput {
  const rng = createRng(seed);
  const s = config.inputSizePx;
  const pixels = new Float32Array(rows * s * s * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.next() * 255 - 128;
  return { pixels, shape: [rows, s, s, 3], labels: Array.from({ length: rows }, (_, i) => i % config.numClasses) };
}

/** The paper's init (seed 1) and zero momentum, PyTorch layout. */
async function startingTensors(config: ModelConfig): Promise<TrainTensors> {
  await initBackend('cpu', { log: () => undefined });
  const params = initParams(config, 1);
  const weights = torchTensorsOf(config, params);
  disposeParams(params);
  return { weights, velocities: new Map(parameterLayouts(config).map((l) => [l.name, new Float32Array(weights.get(l.name)!.length)])) };
}

/** Timed steps after `warmups`; every trainer steps its own batch of `rows`, all at once. */
async function timeSteps(trainers: Trainer[] | Array<{ step: Trainer['step'] }>, config: ModelConfig, rows: number, warmups: number, steps: number): Promise<number> {
  const layers = listDropoutLayers(config);
  const stepAll = (k: number): Promise<unknown> => Promise.all(trainers.map((t, i) => t.step(makeBatch(config, rows, 7 + i), { ...PAPER_SGD, dropoutMasks: drawDropoutMasks(layers, k * 10 + i, rows) })));
  for (let k = 0; k < warmups; k++) await stepAll(k);
  const startNs = process.hrtime.bigint();
  for (let k = 0; k < steps; k++) await stepAll(warmups + k);
  return Number(process.hrtime.bigint() - startNs) / 1e9;
}

const row = (name: string, images: number, seconds: number, backend: string, extra: Record<string, unknown>): BenchRow => ({
  name, value: images / seconds, unit: 'img/s', backend, peakRssMiB: process.resourceUsage().maxRSS / 1024, extra: { ...extra, secondsPerStep: seconds / (extra['steps'] as number) },
});

async function onnxRows(model: string, flags: TrainBenchFlags): Promise<BenchRow[]> {
  const config = buildModelConfig(model);
  const common = { config, filterRadius: PAPER_FILTER_RADIUS, weightDecay: false, executionProvider: 'cpu' as const };
  const one = await createOnnxTrainSession({ ...common, microBatchSize: flags.batch, intraOpThreads: flags.threads }, await startingTensors(config));
  let seconds: number;
  try {
    seconds = await timeSteps([one], config, flags.batch, 2, flags.steps);
  } finally {
    await one.release();
  }
  const half = Math.max(1, flags.batch >> 1);
  const pair = await Promise.all([0, 1].map(async () => createOnnxTrainer({ ...common, microBatchSize: half, intraOpThreads: 1 }, await startingTensors(config))));
  let pairSeconds: number;
  try {
    pairSeconds = await timeSteps(pair, config, half, 2, flags.steps);
  } finally {
    await Promise.all(pair.map((t) => t.close()));
  }
  const label = `train step ${model} ${config.inputSizePx}px onnx batch ${flags.batch}`;
  return [
    row(`${label}, 1 session x ${flags.threads} threads`, flags.batch * flags.steps, seconds, 'onnx', { steps: flags.steps }),
    row(`${label}, 2 threads x 1 stepping half each (no exchange)`, 2 * half * flags.steps, pairSeconds, 'onnx', { steps: flags.steps }),
  ];
}

async function tfjsRow(model: string, backend: BackendName, flags: TrainBenchFlags): Promise<BenchRow> {
  const config = buildModelConfig(model);
  const tensors = await startingTensors(config);
  await initBackend(backend, { log: () => {} });
  const slow = model === 'zfnet';
  const steps = slow ? 1 : flags.steps;
  const microBatchSize = chooseMicroBatchSize(config, flags.batch, backend);
  const trainer = createTfjsTrainer({ config, filterRadius: PAPER_FILTER_RADIUS, microBatchSize }, tensors);
  try {
    const tensorsBefore = tf.memory().numTensors;
    const seconds = await timeSteps([trainer], config, flags.batch, slow ? 0 : 1, steps);
    return row(`train step ${model} ${config.inputSizePx}px ${backend} batch ${flags.batch}${microBatchSize < flags.batch ? ` (passes of ${microBatchSize})` : ''}`, flags.batch * steps, seconds, backend, { steps, warmup: !slow, leakedTensors: tf.memory().numTensors - tensorsBefore });
  } finally {
    await trainer.close();
  }
}

/** Debian's PyTorch doing the same step (bench/torch-train.py); null when no Python imports torch. */
export function measureTorchTraining(model: string, batch: number, steps: number, threads: number, classes: number): BenchRow | null {
  const python = findTorchPython();
  if (python === null) return null;
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'torch-train.py');
  const out = execFileSync(python, [script, String(batch), String(steps), String(threads), String(classes), model === 'zfnet' ? 'full' : 'small'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const result = JSON.parse(out.trim().split('\n').pop()!) as { imagesPerSecond: number; secondsPerStep: number; peakRssMiB: number; threads: number; version: string };
  return {
    name: `train step ${model} PyTorch ${result.version} CPU, ${result.threads} threads, batch ${batch}`, value: result.imagesPerSecond, unit: 'img/s',
    peakRssMiB: result.peakRssMiB, backend: 'torch', extra: { steps, secondsPerStep: result.secondsPerStep },
  };
}

export async function runBenchmark(args: string[]): Promise<BenchResult> {
  const flags = parseFlags(args);
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const loads = [loadavg()[0]!.toFixed(1)];
  for (const model of flags.models) {
    const config = buildModelConfig(model);
    const onnx = await onnxRows(model, flags);
    const torch = measureTorchTraining(model, flags.batch, flags.steps, flags.threads, config.numClasses);
    const tfjs: BenchRow[] = [];
    for (const backend of flags.backends) tfjs.push(await tfjsRow(model, backend, flags));
    rows.push(...onnx, ...tfjs, ...(torch === null ? [] : [torch]));
    for (const r of rows.slice(-onnx.length - tfjs.length - (torch === null ? 0 : 1))) process.stderr.write(`${r.name}: ${r.value.toFixed(2)} img/s\n`);
    const ratios = [
      `2 half-batch threads / 1 session: ${(onnx[1]!.value / onnx[0]!.value).toFixed(2)}x`,
      ...tfjs.map((t) => `onnx / ${t.backend}: ${(onnx[0]!.value / t.value).toFixed(2)}x`),
      ...(torch === null ? [`PyTorch row skipped: none of ${PYTHON_CANDIDATES.join(', ')} imports torch (Debian: apt-get install python3-torch)`] : [`onnx / PyTorch: ${(onnx[0]!.value / torch.value).toFixed(2)}x`]),
    ];
    notes.push(`${model}: ${ratios.join('; ')}`);
    loads.push(loadavg()[0]!.toFixed(1));
  }
  notes.push(
    'synthetic input (no decode); one step = forward with dropout, softmax cross-entropy, gradients, SGD-momentum update, conv filter renormalisation',
    'peak RSS is the process maximum so far (rows later in the table include earlier ones)',
    `load average (1 min) before and after each model: ${loads.join(', ')}; ${availableParallelism()} cores shared with other work`,
    'wasm splits a batch into passes that fit its 4 GiB heap (src/train/micro-batch.ts); gradients are summed, one update per batch',
  );
  return { rows, notes };
}
