/**
 * `npm run bench -- mosaics`: every projection of N units per layer of full
 * zfnet (224 px, seeded random weights; the work does not depend on them), 9
 * entries per unit, each entry in its own image as a mosaics run mostly gets
 * them, through the Projector the `mosaics` command uses, and the estimated
 * time of a whole run's 12,384 projections (top-9 of 96+256+384+384+256 units).
 *
 * Cases: onnx over receptive-field windows in worker threads (one 1-thread
 * session per core: what `mosaics` uses), the same in one session with
 * intra-op threads, and onnx over the full frame (what the windows save).
 * The tfjs figures are `npm run bench -- project` (run both in one call for
 * a side-by-side table). Image decoding is not included.
 *
 * Flags: --units=2 (per layer)  --batch=16  --cases=workers,intra,full
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createProjector, type HwcImage, type Projector, type WindowEntry } from '../src/deconv/projector.js';
import { buildModelConfig } from '../src/model/architectures.js';
import { computeGeometry } from '../src/model/geometry.js';
import { disposeParams, initParams } from '../src/model/params.js';
import type { ModelConfig } from '../src/model/spec.js';
import type { BenchResult, BenchRow } from './bench-types.js';

const LAYERS = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'];
const TOP_K = 9;

function flag(args: string[], name: string, fallback: string): string {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
}

/** Smooth, image-like inputs (mean-subtracted scale): a few random blobs and gradients, seeded. */
function makeImages(count: number, sizePx: number): HwcImage[] {
  return Array.from({ length: count }, (_, i) => {
    const data = tf.tidy(() => {
      const noise = tf.randomUniform([1, sizePx / 8, sizePx / 8, 3], -110, 110, 'float32', 100 + i);
      return tf.image.resizeBilinear(noise as tf.Tensor4D, [sizePx, sizePx]).dataSync() as Float32Array;
    });
    return { data, heightPx: sizePx, widthPx: sizePx, channels: 3 };
  });
}

/** The entries of `units` units of a layer: 9 per unit, each in its own image, cells spread over the grid. */
function layerEntries(config: ModelConfig, layer: string, units: number): WindowEntry[] {
  const g = computeGeometry(config).find((x) => x.name === layer)!;
  const [h, w, c] = g.outputShape as [number, number, number];
  return Array.from({ length: units * TOP_K }, (_, i) => ({ imageIndex: i % TOP_K, unit: (Math.floor(i / TOP_K) * 37) % c, y: (i * 5) % h, x: (i * 7) % w }));
}

/** Seconds for all entries in batches, `parallelism` batches in flight; one warm-up batch per lane first (every worker creates its session), not timed. */
async function timeLayer(projector: Projector, layer: string, images: HwcImage[], entries: WindowEntry[], batch: number): Promise<number> {
  const warmUp = entries.slice(0, Math.min(batch, entries.length));
  await Promise.all(Array.from({ length: projector.parallelism }, () => projector.project(layer, images, warmUp)));
  const batches: WindowEntry[][] = [];
  for (let i = 0; i < entries.length; i += batch) batches.push(entries.slice(i, i + batch));
  const start = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < batches.length) await projector.project(layer, images, batches[next++]!);
  };
  await Promise.all(Array.from({ length: projector.parallelism }, lane));
  return (performance.now() - start) / 1000;
}

export async function runBenchmark(args: string[]): Promise<BenchResult> {
  const units = Number(flag(args, 'units', '2'));
  const batch = Number(flag(args, 'batch', '16'));
  const cases = flag(args, 'cases', 'workers,intra,full').split(',');
  await tf.setBackend('cpu');
  const config = buildModelConfig('zfnet');
  const params = initParams(config, 1);
  const images = makeImages(TOP_K, config.inputSizePx);
  const cores = availableParallelism();
  const geometry = computeGeometry(config);
  const rows: BenchRow[] = [];
  const settings: Record<string, Parameters<typeof createProjector>[0]> = {
    workers: { backend: 'onnx', config, params, workers: cores },
    intra: { backend: 'onnx', config, params, workers: 0, threads: cores },
    full: { backend: 'onnx', config, params, workers: cores, windows: 'full' },
  };
  for (const name of cases) {
    const projector = createProjector(settings[name]!);
    let totalSeconds = 0;
    for (const layer of name === 'full' ? ['conv2', 'conv5'] : LAYERS) {
      const entries = layerEntries(config, layer, units);
      const seconds = await timeLayer(projector, layer, images, entries, batch);
      const rate = entries.length / seconds;
      const [, , c] = geometry.find((g) => g.name === layer)!.outputShape as [number, number, number];
      totalSeconds += (c * TOP_K) / rate;
      rows.push({ name: `mosaics zfnet ${layer} onnx ${name} batch ${batch}`, value: rate, unit: 'proj/s', backend: 'onnx', peakRssMiB: process.resourceUsage().maxRSS / 1024 });
    }
    if (name !== 'full') rows.push({ name: `estimate: all 12,384 projections of a zfnet run (onnx ${name})`, value: totalSeconds / 60, unit: 'minutes', backend: 'onnx' });
    await projector.close();
  }
  disposeParams(params);
  return {
    rows,
    notes: [
      `${units} units x ${TOP_K} entries per layer, ${cores} cores; "workers" = ${cores} worker threads with a 1-thread session each (the mosaics default), "intra" = one session with ${cores} intra-op threads, "full" = workers over the whole frame instead of the receptive field`,
      'estimate = sum over layers of (units x 9) / (proj/s of that layer); image decoding and PNG writing are not included',
    ],
  };
}
