/**
 * What `mosaics` reads before drawing: the finished top-activations run, its
 * model (the run's checkpoint, an override, or its seeded random init), its
 * dataset's mean image, and batches of top-k entries projected with the check
 * before drawing (the recomputed activation must equal the stored one).
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint } from '../src/checkpoint/checkpoint-file.js';
import { computeSquareSizePx } from '../src/data/crop-geometry.js';
import { findDataset } from '../src/data/image-index.js';
import type { MeanImage } from '../src/data/mean-image.js';
import { loadMeanImage } from '../src/data/mean-store.js';
import { checkStoredActivation } from '../src/deconv/check-activation.js';
import { projectBatch } from '../src/deconv/deconvnet.js';
import { UsageError } from '../src/errors.js';
import { prepareCentreInput, type PreparedInput } from '../src/experiments/experiment-inputs.js';
import { initParams, type ModelParams } from '../src/model/params.js';
import type { ModelConfig } from '../src/model/spec.js';
import type { Store } from '../src/store/open-store.js';
import { getTopActivationRun, listTopActivationRuns, type TopActivationRun, type TopRowView } from '../src/store/top-activations-store.js';

/**
 * The run named by --run, else the newest finished top-activations run.
 * @throws UsageError when there is none, or the run is not finished
 */
export function findSourceRun(db: Store, runId: string | undefined): TopActivationRun {
  if (runId === undefined) {
    const finished = listTopActivationRuns(db).filter((r) => r.run.status === 'finished');
    if (finished.length === 0) throw new UsageError('No finished top-activations run in this store: run `run-pipeline top-activations` first, or pass --run ID');
    return finished.at(-1)!;
  }
  const run = getTopActivationRun(db, runId);
  if (run === undefined) throw new UsageError(`No top-activations run ${runId} in this store`);
  if (run.run.status !== 'finished') throw new UsageError(`Top-activations run ${runId} is ${run.run.status}, not finished: resume it first`);
  return run;
}

export interface RunModel {
  config: ModelConfig;
  /** Ownership: the caller disposes them (disposeParams). */
  params: ModelParams;
  description: string;
  /** The weights' identity: `random-init:<seed>` or the checkpoint's sha256. */
  fingerprint: string;
}

/**
 * The weights the run used: its checkpoint (or `checkpointOverride`), or its random init.
 * @throws UsageError when the run used a checkpoint and none can be found, or the architecture differs
 */
export function loadRunModel(run: TopActivationRun, checkpointOverride: string | undefined, log: (line: string) => void): RunModel {
  const randomSeed = /^random-init:(\d+)$/.exec(run.weights);
  if (checkpointOverride === undefined && randomSeed !== null) {
    return { config: run.modelConfig, params: initParams(run.modelConfig, Number(randomSeed[1])), description: `random weights (seed ${randomSeed[1]}), as the run`, fingerprint: run.weights };
  }
  const path = checkpointOverride ?? run.checkpointPath;
  if (path === null) throw new UsageError(`Run ${run.runId} names no checkpoint file: pass --checkpoint FILE`);
  const loaded = loadCheckpoint(path);
  if (loaded.config.name !== run.modelConfig.name || loaded.config.inputSizePx !== run.modelConfig.inputSizePx) {
    throw new UsageError(`Checkpoint ${path} is ${loaded.config.name} at ${loaded.config.inputSizePx} px but run ${run.runId} used ${run.modelConfig.name} at ${run.modelConfig.inputSizePx} px`);
  }
  if (loaded.sha256 !== run.checkpointSha256) log(`checkpoint ${path} differs from the one run ${run.runId} used (sha256 ${loaded.sha256.slice(0, 12)} vs ${String(run.checkpointSha256).slice(0, 12)}): every stored value is checked before drawing`);
  return { config: loaded.config, params: loaded.params, description: `checkpoint ${path}`, fingerprint: loaded.sha256 };
}

/**
 * The mean image the run subtracted (this store's, for the run's dataset).
 * @throws UsageError when the run's dataset is not registered in this store
 */
export function loadRunMean(db: Store, run: TopActivationRun): MeanImage {
  const dataset = findDataset(db, run.datasetRoot);
  if (dataset === undefined) throw new UsageError(`Dataset ${run.datasetRoot} of run ${run.runId} is not registered in this store`);
  return loadMeanImage(db, dataset.id, computeSquareSizePx(run.modelConfig.inputSizePx));
}

export interface ProjectedEntry {
  row: TopRowView;
  /** [S, S, 3] projection values. */
  projection: Float32Array;
  /** [S, S, 3] the crop the model saw, 0..255. */
  display: Uint8Array;
  recomputed: number;
}

export interface ProjectRowsContext {
  runId: string;
  config: ModelConfig;
  params: ModelParams;
  mean: MeanImage;
}

/**
 * Projects a batch of top-k rows of one layer (one forward and one pass down),
 * checking each recomputed activation against the stored value first.
 * @throws UsageError naming run, layer, unit and image when a value differs, or an image cannot be read
 */
export async function projectRows(ctx: ProjectRowsContext, layerName: string, rows: readonly TopRowView[]): Promise<ProjectedEntry[]> {
  const sizePx = ctx.config.inputSizePx;
  const inputs = new Map<string, PreparedInput>();
  for (const row of rows) if (!inputs.has(row.path)) inputs.set(row.path, await prepareCentreInput(row.path, sizePx, ctx.mean));
  const paths = [...inputs.keys()];
  const pixels = new Float32Array(paths.length * sizePx * sizePx * 3);
  paths.forEach((p, i) => pixels.set(inputs.get(p)!.input, i * sizePx * sizePx * 3));
  const images = tf.tensor4d(pixels, [paths.length, sizePx, sizePx, 3]);
  const entries = rows.map((r) => ({ imageIndex: paths.indexOf(r.path), unit: r.unit, y: r.y, x: r.x }));
  const result = projectBatch(ctx.config, ctx.params, images, layerName, entries);
  const [values, projections] = [await result.activations.data(), await result.projections.data()];
  tf.dispose([images, result.activations, result.projections]);
  rows.forEach((row, i) => checkStoredActivation({ runId: ctx.runId, layer: layerName, unit: row.unit, imageId: row.imageId, imageName: row.path, value: row.value }, values[i]!));
  const n = sizePx * sizePx * 3;
  return rows.map((row, i) => ({ row, projection: projections.slice(i * n, (i + 1) * n) as Float32Array, display: inputs.get(row.path)!.display, recomputed: values[i]! }));
}
