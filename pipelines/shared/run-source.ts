/**
 * What `mosaics` reads before drawing: the finished top-activations run, its
 * model (the run's checkpoint, an override, or its seeded random init), its
 * dataset's mean image, and batches of top-k entries projected (by the
 * engine's Projector) with the check before drawing (the recomputed activation
 * must equal the stored one). Shared: preferred-inputs reads the same run,
 * model and mean, and serve projects a unit's top-k as mosaics draws them.
 */
import { loadCheckpoint } from '../../src/checkpoint/checkpoint-file.js';
import { computeSquareSizePx } from '../../src/data/crop-geometry.js';
import { findDataset } from '../../src/store/image-index.js';
import type { MeanImage } from '../../src/data/mean-image.js';
import { createFallbackMean } from '../../src/data/mean-image.js';
import { formatMeanHint, listStoredMeans } from '../../src/store/mean-store.js';
import { chooseRunMean } from '../../src/data/run-mean.js';
import { checkStoredActivation } from '../../src/deconv/check-activation.js';
import type { ProjectionWindow, Projector } from '../../src/deconv/projector.js';
import { UsageError } from '../../src/errors.js';
import { prepareCentreInput } from '../../src/experiments/experiment-inputs.js';
import { initParams, type ModelParams } from '../../src/model/params.js';
import type { ModelConfig } from '../../src/model/spec.js';
import type { Store } from '../../src/store/open-store.js';
import { getTopActivationRun, isImportedPassModel, listTopActivationRuns, type TopActivationRun, type TopRowView } from '../../src/store/top-activations-store.js';

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
  /** The mean image the checkpoint carries (null: random weights, or a checkpoint from before means travelled with it). */
  checkpointMean: MeanImage | null;
}

/**
 * The project architecture a run analysed.
 * @throws UsageError for a run over an imported model (drawn from the imported model, not from a checkpoint).
 */
export function projectConfigOf(run: TopActivationRun): ModelConfig {
  if (isImportedPassModel(run.modelConfig)) throw new UsageError(`Run ${run.runId} analysed the imported model ${run.modelConfig.imported.name}; this command draws the project's own architectures only`);
  return run.modelConfig;
}

/**
 * The weights the run used: its checkpoint (or `checkpointOverride`), or its random init.
 * @throws UsageError when the run used a checkpoint and none can be found, or the architecture differs
 */
export function loadRunModel(run: TopActivationRun, checkpointOverride: string | undefined, log: (line: string) => void): RunModel {
  const config = projectConfigOf(run);
  const randomSeed = /^random-init:(\d+)$/.exec(run.weights);
  if (checkpointOverride === undefined && randomSeed !== null) {
    return { config: config, params: initParams(config, Number(randomSeed[1])), description: `random weights (seed ${randomSeed[1]}), as the run`, fingerprint: run.weights, checkpointMean: null };
  }
  const path = checkpointOverride ?? run.checkpointPath;
  if (path === null) throw new UsageError(`Run ${run.runId} names no checkpoint file: pass --checkpoint FILE`);
  const loaded = loadCheckpoint(path);
  if (loaded.config.name !== config.name || loaded.config.inputSizePx !== config.inputSizePx) {
    throw new UsageError(`Checkpoint ${path} is ${loaded.config.name} at ${loaded.config.inputSizePx} px but run ${run.runId} used ${config.name} at ${config.inputSizePx} px`);
  }
  if (loaded.sha256 !== run.checkpointSha256) log(`checkpoint ${path} differs from the one run ${run.runId} used (sha256 ${loaded.sha256.slice(0, 12)} vs ${String(run.checkpointSha256).slice(0, 12)}): every stored value is checked before drawing`);
  return { config: loaded.config, params: loaded.params, description: `checkpoint ${path}`, fingerprint: loaded.sha256, checkpointMean: loaded.mean };
}

/**
 * The mean image the run subtracted: of the checkpoint's own, this store's
 * means of the run's dataset at its size, and the fallback, the one whose
 * sha256 the run recorded (announced through `log`).
 * @throws UsageError naming both hashes when none of them is the run's
 */
export function loadRunMean(db: Store, run: TopActivationRun, model: Pick<RunModel, 'checkpointMean'> | null = null, log: (line: string) => void = () => {}): MeanImage {
  const config = projectConfigOf(run);
  const sizePx = computeSquareSizePx(config.inputSizePx);
  const stored = findDataset(db, run.datasetRoot) === undefined ? [] : listStoredMeans(db, run.datasetRoot).filter((m) => m.sizePx === sizePx);
  const first = stored.find((m) => m.split === 'train') ?? stored[0];
  const candidates = [model?.checkpointMean ?? null, first ?? null, ...stored, createFallbackMean(sizePx)].filter((m): m is MeanImage => m !== null);
  const recorded = (run.preprocessing['meanImage'] as { sha256?: unknown } | undefined)?.sha256;
  const choice = chooseRunMean(run.runId, typeof recorded === 'string' ? recorded : null, candidates, formatMeanHint(config));
  log(choice.line);
  return choice.mean;
}

export interface ProjectedEntry {
  row: TopRowView;
  /** The projection values over its window (zero outside it; src/deconv/projector.ts). */
  projection: ProjectionWindow;
  /** [S, S, 3] the crop the model saw, 0..255. */
  display: Uint8Array;
  recomputed: number;
}

export interface ProjectRowsContext {
  runId: string;
  projector: Projector;
  /** Prepared inputs by image path (shared by batches and layers). */
  inputs: InputCache;
}

/** An image ready for the model: its input and the crop it saw (prepareCentreInput, prepareModelInput). */
export interface CachedInput {
  /** [S, S, C] the model input. */
  input: Float32Array;
  /** [S, S, 3] the crop the model saw, 0..255. */
  display: Uint8Array;
  sizePx: number;
}

/** The most recently used prepared inputs, by path (an image is often in the top-9 of several units). */
export interface InputCache {
  get(path: string): Promise<CachedInput>;
}

/**
 * A cache of up to `capacity` inputs of the project's models (about 0.6 MB each at 224 px).
 * A failed read is not kept, so the next request reports it again.
 */
export function createInputCache(sizePx: number, mean: MeanImage, capacity = 256): InputCache {
  return createInputCacheOf((path) => prepareCentreInput(path, sizePx, mean), capacity);
}

/** A cache of up to `capacity` inputs made by `prepare`; a failed one is not kept. */
export function createInputCacheOf(prepare: (path: string) => Promise<CachedInput>, capacity = 256): InputCache {
  const kept = new Map<string, Promise<CachedInput>>();
  return {
    get(path) {
      let input = kept.get(path);
      if (input !== undefined) {
        kept.delete(path);
      } else {
        input = prepare(path);
        input.catch(() => kept.delete(path));
      }
      kept.set(path, input);
      if (kept.size > capacity) kept.delete(kept.keys().next().value!);
      return input;
    },
  };
}

/**
 * Projects a batch of top-k rows of one layer (one forward and one pass down),
 * checking each recomputed activation against the stored value first.
 * @throws UsageError naming run, layer, unit and image when a value differs, or an image cannot be read
 */
export async function projectRows(ctx: ProjectRowsContext, layerName: string, rows: readonly TopRowView[]): Promise<ProjectedEntry[]> {
  const paths = [...new Set(rows.map((r) => r.path))];
  const inputs = await Promise.all(paths.map((p) => ctx.inputs.get(p)));
  const images = inputs.map(({ input, sizePx }) => ({ data: input, heightPx: sizePx, widthPx: sizePx, channels: input.length / (sizePx * sizePx) }));
  const entries = rows.map((r) => ({ imageIndex: paths.indexOf(r.path), unit: r.unit, y: r.y, x: r.x }));
  const result = await ctx.projector.project(layerName, images, entries);
  rows.forEach((row, i) => checkStoredActivation({ runId: ctx.runId, layer: layerName, unit: row.unit, imageId: row.imageId, imageName: row.path, value: row.value }, result.activations[i]!));
  return rows.map((row, i) => ({ row, projection: result.windows[i]!, display: inputs[paths.indexOf(row.path)]!.display, recomputed: result.activations[i]! }));
}
