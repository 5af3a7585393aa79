/**
 * `run-pipeline evolution` (Fig. 4): for each kept epoch checkpoint of a
 * training run, one pass over the training split (or its first --limit
 * images, centre crops in id order) finds each chosen unit's strongest
 * activation; the deconvnet projects it; one mosaic per layer shows a row per
 * unit and a column per epoch. Numbers go to the store (evolution_entries,
 * one transaction per epoch and layer) and entries.csv.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { initBackend, type BackendChoice } from '../src/backend/select-backend.js';
import { loadCheckpoint } from '../src/checkpoint/checkpoint-file.js';
import { computeSquareSizePx } from '../src/data/crop-geometry.js';
import { loadMeanImage } from '../src/data/mean-store.js';
import { findConvLayer, projectBatch } from '../src/deconv/deconvnet.js';
import { UsageError } from '../src/errors.js';
import { prepareCentreInput } from '../src/experiments/experiment-inputs.js';
import { writeTextFile } from '../src/mosaic/render-sheet.js';
import { formatCsv } from '../src/experiments/result-files.js';
import { createStrongestTracker, updateStrongest, type StrongestActivation } from '../src/experiments/strongest-tracker.js';
import { makeEntryTiles } from '../src/mosaic/entry-tiles.js';
import { resolveUnits, type UnitSelection } from '../src/mosaic/unit-selection.js';
import { forward } from '../src/model/network.js';
import { disposeParams, type ModelParams } from '../src/model/params.js';
import type { ModelConfig, TapName } from '../src/model/spec.js';
import { svgText } from '../src/plot/svg-text.js';
import type { Store } from '../src/store/open-store.js';
import { createRun, getRun, makeRunId, setRunStatus, uniqueRunId } from '../src/store/runs.js';
import { createTrainingStore } from '../src/store/training-store.js';
import { createBatchStream, prepareDataset } from './input-stream.js';

export interface EvolutionPipelineOptions {
  db: Store;
  /** The training run whose kept epoch checkpoints are examined. */
  trainRunId: string;
  /** --data; default the training run's dataset. */
  data?: string;
  split: string;
  /** Images of the split examined (first in id order); undefined: all. */
  limit?: number;
  /** Conv layers 1..5. */
  layers: number[];
  units: UnitSelection;
  seed: number;
  batchSize: number;
  backend: BackendChoice;
  outDir?: string;
  log?: (line: string) => void;
}

export interface EvolutionPipelineResult {
  runId: string;
  outDir: string;
  epochs: number[];
  mosaics: string[];
}

const CELL_PX = 64;

/**
 * Runs the evolution experiment.
 * @throws UsageError when the training run is unknown or has no kept checkpoints.
 */
export async function runEvolutionPipeline(options: EvolutionPipelineOptions): Promise<EvolutionPipelineResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const trainRun = getRun(options.db, options.trainRunId);
  if (trainRun === undefined || trainRun.kind !== 'train') throw new UsageError(`No training run ${options.trainRunId} in the store`);
  const epochs = createTrainingStore(options.db).listEpochs(options.trainRunId).filter((e) => e.checkpointKept && e.checkpointPath !== null);
  if (epochs.length === 0) throw new UsageError(`Training run ${options.trainRunId} has no kept epoch checkpoints`);
  const backendInfo = await initBackend(options.backend, { log });
  const recordedData = (trainRun.options['data'] as string | null | undefined) ?? undefined;
  const { dataset } = await prepareDataset({ db: options.db, data: options.data ?? recordedData, splits: [options.split], log });
  const runId = uniqueRunId(options.db, makeRunId('evolution', new Date(), options.trainRunId));
  const outDir = options.outDir ?? join('out', 'evolution', runId);
  createRun(options.db, { id: runId, kind: 'evolution', model: trainRun.model, backend: backendInfo.name, backendInfo: { ...backendInfo }, options: { trainRunId: options.trainRunId, split: options.split, limit: options.limit ?? null, layers: options.layers, units: options.units, seed: options.seed } });
  const columns = new Map<string, Array<{ epoch: number; entries: Array<StrongestActivation & { tile: Uint8Array; tileWidthPx: number; tileHeightPx: number }> }>>();
  const csv: Array<Array<string | number>> = [];
  try {
    for (const epoch of epochs) {
      const loaded = loadCheckpoint(epoch.checkpointPath!);
      try {
        const S = loaded.config.inputSizePx;
        const mean = loadMeanImage(options.db, dataset.id, computeSquareSizePx(S));
        const layerNames = options.layers.map((l) => `conv${l}`);
        const trackers = new Map(layerNames.map((name) => [name, createStrongestTracker(resolveUnits(options.units, findConvLayer(loaded.config, name).spec.filters, name, options.seed))]));
        await scanSplit(options, loaded.config, loaded.params, dataset, mean, trackers);
        for (const [layer, tracker] of trackers) {
          const found = tracker.filter((t) => t.imageId >= 0);
          storeEntries(options.db, runId, epoch.epoch, loaded.sha256, layer, found);
          for (const t of found) csv.push([epoch.epoch, layer, t.unit, t.imageId, t.value, t.y, t.x]);
          const entries = await projectEntries(loaded.config, loaded.params, options.db, dataset, mean, layer, found);
          columns.set(layer, [...(columns.get(layer) ?? []), { epoch: epoch.epoch, entries }]);
        }
        log(`evolution: epoch ${epoch.epoch} done (${layerNames.join(', ')})`);
      } finally {
        disposeParams(loaded.params);
      }
    }
    writeTextFile(join(outDir, 'entries.csv'), formatCsv(['epoch', 'layer', 'unit', 'image_id', 'activation', 'y', 'x'], csv));
    const mosaics: string[] = [];
    for (const [layer, perEpoch] of columns) mosaics.push(await writeMosaic(join(outDir, `${layer}-evolution.png`), layer, perEpoch));
    setRunStatus(options.db, runId, 'finished');
    return { runId, outDir, epochs: epochs.map((e) => e.epoch), mosaics };
  } catch (error) {
    setRunStatus(options.db, runId, 'failed');
    throw error;
  }
}

/** One pass over the split's first `limit` images (centre crops), folding every layer's maps into its tracker. */
async function scanSplit(options: EvolutionPipelineOptions, config: ModelConfig, params: ModelParams, dataset: Parameters<typeof createBatchStream>[0]['dataset'], mean: ReturnType<typeof loadMeanImage>, trackers: Map<string, StrongestActivation[]>): Promise<void> {
  const stream = createBatchStream({ db: options.db, dataset, split: options.split, inputSizePx: config.inputSizePx, meanImage: mean, crop: 'centre', order: 'sorted', batchSize: options.batchSize, limit: options.limit });
  let seen = 0;
  for await (const batch of stream) {
    const input = tf.tensor4d(batch.pixels, batch.shape);
    const taps = forward(config, params, input, { taps: [...trackers.keys()] as TapName[] });
    input.dispose();
    for (const [layer, tracker] of trackers) {
      const map = taps[layer as TapName]!;
      updateStrongest(tracker, await map.data(), map.shape, batch.imageIds, seen);
      map.dispose();
    }
    seen += batch.imageIds.length;
  }
}

function storeEntries(db: Store, runId: string, epoch: number, sha256: string, layer: string, found: StrongestActivation[]): void {
  const insert = db.prepare('INSERT INTO evolution_entries (run_id, epoch, checkpoint_sha256, layer, unit, image_id, activation, y, x) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  db.transaction(() => { for (const t of found) insert.run(runId, epoch, sha256, layer, t.unit, t.imageId, t.value, t.y, t.x); })();
}

/** Projects each unit's strongest activation (one image at a time) and cuts its receptive field, scaled for display. */
async function projectEntries(config: ModelConfig, params: ModelParams, db: Store, dataset: { id: number; imageRoot: string }, mean: ReturnType<typeof loadMeanImage>, layer: string, found: StrongestActivation[]) {
  const geometry = findConvLayer(config, layer).geometry;
  const S = config.inputSizePx;
  const pathOf = db.prepare('SELECT rel_path FROM images WHERE dataset_id = ? AND id = ?').pluck();
  const out: Array<StrongestActivation & { tile: Uint8Array; tileWidthPx: number; tileHeightPx: number }> = [];
  for (const t of found) {
    const input = await prepareCentreInput(join(dataset.imageRoot, pathOf.get(dataset.id, t.imageId) as string), S, mean);
    const batch = tf.tensor4d(input.input, [1, S, S, 3]);
    const { projections, activations } = projectBatch(config, params, batch, layer, [{ imageIndex: 0, unit: t.unit, y: t.y, x: t.x }]);
    const values = (await projections.data()) as Float32Array;
    for (const x of [batch, projections, activations]) x.dispose();
    const tiles = makeEntryTiles(geometry, t.y, t.x, S, values, input.display, CELL_PX);
    const tile = await sharp(tiles.projection.image.pixels, { raw: { width: tiles.projection.image.widthPx, height: tiles.projection.image.heightPx, channels: 3 } })
      .resize(tiles.projection.widthPx, tiles.projection.heightPx, { kernel: 'nearest' }).raw().toBuffer();
    out.push({ ...t, tile: new Uint8Array(tile), tileWidthPx: tiles.projection.widthPx, tileHeightPx: tiles.projection.heightPx });
  }
  return out;
}

/** Rows: units; columns: epochs; each cell the projection of that epoch's strongest activation. */
async function writeMosaic(path: string, layer: string, perEpoch: Array<{ epoch: number; entries: Array<StrongestActivation & { tile: Uint8Array; tileWidthPx: number; tileHeightPx: number }> }>): Promise<string> {
  const units = [...new Set(perEpoch.flatMap((c) => c.entries.map((e) => e.unit)))].sort((a, b) => a - b);
  const left = 70;
  const top = 40;
  const pitch = CELL_PX + 4;
  const width = Math.max(left + perEpoch.length * pitch, 440);
  const height = top + units.length * pitch;
  const texts = [svgText(4, 16, `${layer}: strongest activation per epoch (deconvnet projection)`, 13)];
  const composites: Array<{ input: Buffer; raw?: { width: number; height: number; channels: 3 }; left: number; top: number }> = [];
  perEpoch.forEach((column, c) => {
    texts.push(svgText(left + c * pitch + CELL_PX / 2, top - 6, `epoch ${column.epoch}`, 11, 'middle'));
    for (const e of column.entries) {
      const r = units.indexOf(e.unit);
      composites.push({ input: Buffer.from(e.tile), raw: { width: e.tileWidthPx, height: e.tileHeightPx, channels: 3 }, left: left + c * pitch, top: top + r * pitch });
    }
  });
  units.forEach((u, r) => texts.push(svgText(4, top + r * pitch + CELL_PX / 2, `unit ${u}`, 11)));
  composites.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${texts.join('')}</svg>`), left: 0, top: 0 });
  await sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } }).composite(composites).png().toFile(path);
  return path;
}
