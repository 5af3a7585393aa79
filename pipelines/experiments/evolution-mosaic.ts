/**
 * The picture side of `run-pipeline evolution` (Fig. 4): project each unit's
 * strongest activation of one epoch with the deconvnet (the engine's Projector, in batches)
 * and lay the projections out as a mosaic per layer, a row per unit and a
 * column per epoch. Split from evolution.ts, which runs the passes.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { createImageReader, type DatasetRecord } from '../../src/store/image-index.js';
import type { MeanImage } from '../../src/data/mean-image.js';
import { currentExecutionProvider, type BackendChoice } from '../../src/backend/select-backend.js';
import { findConvLayer } from '../../src/deconv/deconvnet.js';
import { createProjector } from '../../src/deconv/projector.js';
import { UsageError } from '../../src/errors.js';
import { prepareCentreInput } from '../../src/experiments/experiment-inputs.js';
import type { StrongestActivation } from '../../src/topk/strongest-tracker.js';
import { makeEntryTiles } from '../../src/mosaic/entry-tiles.js';
import type { ModelParams } from '../../src/model/params.js';
import type { ModelConfig } from '../../src/model/spec.js';
import { svgText } from '../../src/plot/svg-text.js';
import type { Store } from '../../src/store/open-store.js';

/** Side of one mosaic cell. */
export const EVOLUTION_CELL_PX = 64;

/** A unit's strongest activation with its projection, scaled for display. */
export type ProjectedEntry = StrongestActivation & { tile: Uint8Array; tileWidthPx: number; tileHeightPx: number };

/** One mosaic column. */
export interface EpochColumn {
  epoch: number;
  entries: ProjectedEntry[];
}

/** Entries per projection batch. */
const PROJECTION_BATCH = 16;

/**
 * Projects each unit's strongest activation (batches of entries, each with its own image, on the
 * engine `backend` names) and cuts its receptive field, scaled for display.
 * @throws UsageError naming the image when it is no longer in the index or cannot be read.
 */
export async function projectEntries(config: ModelConfig, params: ModelParams, db: Store, dataset: Pick<DatasetRecord, 'id' | 'imageRoot'>, mean: MeanImage, layer: string, found: StrongestActivation[], backend: BackendChoice): Promise<ProjectedEntry[]> {
  const geometry = findConvLayer(config, layer).geometry;
  const S = config.inputSizePx;
  const readImages = createImageReader(db, dataset);
  const projector = createProjector({ backend, config, params, workers: 0, executionProvider: currentExecutionProvider() });
  const out: ProjectedEntry[] = [];
  try {
    for (let start = 0; start < found.length; start += PROJECTION_BATCH) {
      const part = found.slice(start, start + PROJECTION_BATCH);
      const inputs = await Promise.all(part.map((t) => {
        const record = readImages([t.imageId])[0];
        if (record === undefined) throw new UsageError(`Image ${t.imageId} (the strongest of ${layer} unit ${t.unit}) is no longer in the index of ${dataset.imageRoot}`);
        return prepareCentreInput(record.path, S, mean);
      }));
      const images = inputs.map((input) => ({ data: input.input, heightPx: S, widthPx: S, channels: 3 }));
      const { projections } = await projector.project(layer, images, part.map((t, i) => ({ imageIndex: i, unit: t.unit, y: t.y, x: t.x })));
      for (const [i, t] of part.entries()) {
        const tiles = makeEntryTiles(geometry, t.y, t.x, S, projections[i]!, inputs[i]!.display, EVOLUTION_CELL_PX);
        const tile = await sharp(tiles.projection.image.pixels, { raw: { width: tiles.projection.image.widthPx, height: tiles.projection.image.heightPx, channels: 3 } })
          .resize(tiles.projection.widthPx, tiles.projection.heightPx, { kernel: 'nearest' }).raw().toBuffer();
        out.push({ ...t, tile: new Uint8Array(tile), tileWidthPx: tiles.projection.widthPx, tileHeightPx: tiles.projection.heightPx });
      }
    }
  } finally {
    await projector.close();
  }
  return out;
}

/** Writes `<layer>-evolution.png` under `outDir`: rows are units, columns epochs. Returns its path. */
export async function writeEvolutionMosaic(outDir: string, layer: string, perEpoch: EpochColumn[]): Promise<string> {
  const path = join(outDir, `${layer}-evolution.png`);
  const cell = EVOLUTION_CELL_PX;
  const units = [...new Set(perEpoch.flatMap((c) => c.entries.map((e) => e.unit)))].sort((a, b) => a - b);
  const left = 70;
  const top = 40;
  const pitch = cell + 4;
  const width = Math.max(left + perEpoch.length * pitch, 440);
  const height = top + units.length * pitch;
  const texts = [svgText(4, 16, `${layer}: strongest activation per epoch (deconvnet projection)`, 13)];
  const composites: Array<{ input: Buffer; raw?: { width: number; height: number; channels: 3 }; left: number; top: number }> = [];
  perEpoch.forEach((column, c) => {
    texts.push(svgText(left + c * pitch + cell / 2, top - 6, `epoch ${column.epoch}`, 11, 'middle'));
    for (const e of column.entries) {
      const r = units.indexOf(e.unit);
      composites.push({ input: Buffer.from(e.tile), raw: { width: e.tileWidthPx, height: e.tileHeightPx, channels: 3 }, left: left + c * pitch, top: top + r * pitch });
    }
  });
  units.forEach((u, r) => texts.push(svgText(4, top + r * pitch + cell / 2, `unit ${u}`, 11)));
  composites.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${texts.join('')}</svg>`), left: 0, top: 0 });
  await sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } }).composite(composites).png().toFile(path);
  return path;
}
