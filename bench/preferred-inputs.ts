/**
 * `npm run bench -- preferred-inputs`: the optimisation rate of preferred
 * inputs on full zfnet (224 px, seeded random weights: the work does not
 * depend on them), conv5, through the runner `preferred-inputs` uses (worker
 * threads with 1-thread onnxruntime sessions of the exact input-gradient
 * graph, the optimisation's arithmetic beside each), in unit-steps per
 * second (one unit's image advanced one step), with the estimate for the
 * issue's target (16 units x 256 steps) and the share of the step spent in
 * the optimisation's own arithmetic (parameterisation, view warp, their
 * adjoints, Adam) measured alone on the main thread.
 *
 * Flags: --units=16  --steps=32 (timed; the estimate scales to 256)  --batch=8  --workers=N (default one per core)
 */
import { availableParallelism } from 'node:os';
import { lowerModelConfig } from '../src/graph/lower-model-config.js';
import { buildModelConfig } from '../src/model/architectures.js';
import { disposeParams, initParams } from '../src/model/params.js';
import { graphWeightsFromParams } from '../src/onnx/graph-weights.js';
import { probeInputMapping } from '../src/preferred/input-mapping.js';
import { optimiseBatch } from '../src/preferred/optimise-batch.js';
import { preferredGraphsOf } from '../src/preferred/preferred-graphs.js';
import { createPreferredRunner } from '../src/preferred/preferred-runner.js';
import { resolvePreferredSettings } from '../src/preferred/preferred-settings.js';
import { initBackend } from '../src/backend/select-backend.js';
import type { BenchResult } from './bench-types.js';

function flag(args: string[], name: string, fallback: string): string {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
}

/** ms per image-step of the optimisation's own arithmetic (a gradient function that returns zeros). */
async function timeArithmetic(sizePx: number, steps: number): Promise<number> {
  const settings = resolvePreferredSettings({ steps }, sizePx);
  const mapping = probeInputMapping(sizePx, (rgb) => rgb.map((v) => v - 120));
  const rows = [{ unit: 0, seed: 1 }, { unit: 1, seed: 2 }];
  const zeros = async (pixels: Float32Array, units: readonly number[]) => ({ objective: new Float32Array(units.length), gradient: new Float32Array(pixels.length) });
  const start = performance.now();
  await optimiseBatch(rows, settings, mapping, zeros);
  return (performance.now() - start) / (rows.length * (steps + 2));
}

export async function runBenchmark(args: string[]): Promise<BenchResult> {
  const units = Number(flag(args, 'units', '16'));
  const steps = Number(flag(args, 'steps', '32'));
  const batch = Number(flag(args, 'batch', '8'));
  const workers = Number(flag(args, 'workers', String(availableParallelism())));
  await initBackend('cpu', { log: () => undefined });
  const config = buildModelConfig('zfnet');
  const params = initParams(config, 1);
  try {
    const graph = lowerModelConfig(config);
    const weights = graphWeightsFromParams(config, params);
    const settings = resolvePreferredSettings({ steps }, config.inputSizePx);
    const graphs = preferredGraphsOf(graph, weights, 'bench', 'conv5', settings);
    const mapping = probeInputMapping(config.inputSizePx, (rgb) => rgb.map((v) => v - 120));
    const runner = createPreferredRunner({ executionProvider: 'cpu', workers });
    try {
      const job = (from: number, count: number) => ({ rows: Array.from({ length: count }, (_, i) => ({ unit: from + i, seed: from + i })), settings: { ...settings, steps: 1 }, mapping, channels: 3, measureLayer: 'conv5', references: new Float32Array(0), referenceRows: [], window: graphs.window });
      const perBatch = Math.min(batch, Math.ceil(units / runner.parallelism));
      // Not timed: every worker builds its sessions, sizes their buffers for a whole batch and compiles the loop's code.
      await Promise.all(Array.from({ length: runner.parallelism }, () => runner.run(graphs, { ...job(0, perBatch), settings: { ...settings, steps: 4 } })));
      const start = performance.now();
      const cpuStart = process.cpuUsage();
      const jobs = [];
      for (let u = 0; u < units; u += perBatch) jobs.push(runner.run(graphs, { ...job(u, Math.min(perBatch, units - u)), settings }));
      await Promise.all(jobs);
      const seconds = (performance.now() - start) / 1000;
      const cpu = process.cpuUsage(cpuStart);
      const cpuMsPerStep = (cpu.user + cpu.system) / 1000 / (units * steps);
      const rate = (units * steps) / seconds;
      const arithmeticMs = await timeArithmetic(config.inputSizePx, 8);
      return {
        rows: [
          { name: `preferred-inputs zfnet 224 conv5 centre, ${units} units, ${runner.description}, batch ${perBatch}`, value: rate, unit: 'unit-steps/s', backend: 'onnx' },
          { name: 'estimate: 16 units x 256 steps', value: (16 * 256) / rate / 60, unit: 'min', backend: 'onnx' },
          { name: 'CPU time per unit-step, every thread (what the load average does not change)', value: cpuMsPerStep, unit: 'ms', backend: 'onnx' },
          { name: `estimate: 16 units x 256 steps with ${runner.parallelism} cores to itself`, value: (16 * 256 * cpuMsPerStep) / 1000 / runner.parallelism / 60, unit: 'min', backend: 'onnx' },
          { name: 'optimisation arithmetic (Fourier 256 px canvas, warp, adjoints, Adam), main thread', value: arithmeticMs, unit: 'ms/unit-step' },
        ],
        notes: [`${steps} steps timed per unit (plus a start and a final evaluation per batch) after a warm-up batch of 4 steps per worker; the measurement of images against their top-1 is not included`],
      };
    } finally {
      await runner.close();
    }
  } finally {
    disposeParams(params);
  }
}
