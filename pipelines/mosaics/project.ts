/**
 * run-pipeline project: one deconvnet projection of one activation (layer,
 * unit, cell) in one image, written as PNG and .npy beside the image patch
 * under the unit's receptive field.
 */
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { findConvLayer, findStrongestPositions } from '../../src/deconv/deconvnet.js';
import { createProjector } from '../../src/deconv/projector.js';
import { currentExecutionProvider } from '../../src/backend/select-backend.js';
import { UsageError } from '../../src/errors.js';
import { prepareCentreInput, selectExperimentImages, type SelectImagesOptions } from '../../src/experiments/experiment-inputs.js';
import { makeEntryTiles, type EntryTiles } from '../../src/mosaic/entry-tiles.js';
import type { ModelParams } from '../../src/model/params.js';
import type { ModelConfig } from '../../src/model/spec.js';
import { writeRgbPng, writeTextFile } from '../../src/mosaic/render-sheet.js';
import { encodeNpyFloat32 } from '../../src/topk/encode-npy.js';
import { runExperimentSession, type ExperimentSourceOptions } from '../shared/experiment-session.js';
import { DISPLAY_SCALING_NOTE, PROJECT_CHOICES_NOTE } from './mosaics.js';

export interface ProjectOptions extends ExperimentSourceOptions {
  /** One image: a path or an indexed image id. */
  image: SelectImagesOptions;
  /** Conv layer 1..5. */
  layer: number;
  unit: number;
  /** Cell on the layer's grid; default the unit's strongest cell in the image. */
  at?: [number, number];
}

export interface ProjectResult {
  runId: string;
  outDir: string;
  activation: number;
  at: [number, number];
  files: string[];
}

/**
 * Projects one activation and writes `<stem>-projection.png/.npy` and `<stem>-patch.png`.
 * @throws UsageError for a cell outside the layer's grid, an unreadable image or unusable model
 */
export async function runProject(options: ProjectOptions): Promise<ProjectResult> {
  const layerName = `conv${options.layer}`;
  const settings = () => ({ layer: layerName, unit: options.unit, at: options.at ?? 'strongest' });
  return runExperimentSession('project', options, options.image, settings, async (session) => {
    const { config, params } = session.model;
    const layer = findConvLayer(config, layerName);
    const [h, w, units] = layer.geometry.outputShape as [number, number, number];
    if (options.unit >= units) throw new UsageError(`Expected unit between 0 and ${units - 1} of ${layerName} but received ${options.unit}`);
    const image = selectExperimentImages(options.db, session.dataset, options.image)[0]!;
    const input = await prepareCentreInput(image.path, config.inputSizePx, session.mean);
    const images = tf.tensor4d(input.input, [1, config.inputSizePx, config.inputSizePx, 3]);
    try {
      const at: [number, number] = options.at ?? (await strongestCell(config, params, images, layerName, options.unit));
      if (at[0] >= h || at[1] >= w) throw new UsageError(`Expected --at inside the ${h}x${w} grid of ${layerName} but received ${at.join(',')}`);
      // One projection: one in-process session (no worker threads to start).
      const projector = createProjector({ backend: options.backend, config, params, workers: 0, executionProvider: currentExecutionProvider() });
      const pixels = { data: input.input, heightPx: config.inputSizePx, widthPx: config.inputSizePx, channels: config.inputChannels };
      const result = await projector.project(layerName, [pixels], [{ imageIndex: 0, unit: options.unit, y: at[0], x: at[1] }]).finally(() => projector.close());
      const [activation, projection] = [result.activations[0]!, result.projections[0]!];
      session.log(`project: deconvnet ${projector.description}`);
      const tiles = makeEntryTiles(layer.geometry, at[0], at[1], config.inputSizePx, projection, input.display, layer.geometry.receptiveFieldPx!);
      const stem = join(session.outDir, `${basename(image.path).replace(/\.[^.]*$/, '')}-${layerName}-unit${options.unit}-y${at[0]}x${at[1]}`);
      const summary = { image: image.path, imageId: image.imageId, layer: layerName, unit: options.unit, at, activation, receptiveField: tiles.box, deconvnetEngine: projector.description, notes: [DISPLAY_SCALING_NOTE, PROJECT_CHOICES_NOTE] };
      const files = await writeProjectionFiles(stem, tiles, summary);
      session.log(`project: ${layerName} unit ${options.unit} at ${at.join(',')} = ${activation.toPrecision(6)} in ${image.path}; patch ${tiles.box.heightPx}x${tiles.box.widthPx} at (${tiles.box.top}, ${tiles.box.left})`);
      return { runId: session.runId, outDir: session.outDir, activation, at, files };
    } finally {
      images.dispose();
    }
  });
}

async function strongestCell(config: ModelConfig, params: ModelParams, images: tf.Tensor4D, layerName: string, unit: number): Promise<[number, number]> {
  const [best] = await findStrongestPositions(config, params, images, layerName, [unit]);
  return [best!.y, best!.x];
}

/** The projection (PNG, display-scaled; .npy, raw values), the image patch and a JSON summary. */
async function writeProjectionFiles(stem: string, tiles: EntryTiles, summary: Record<string, unknown>): Promise<string[]> {
  const files = [`${stem}-projection.png`, `${stem}-projection.npy`, `${stem}-patch.png`, `${stem}.json`];
  await writeRgbPng(files[0]!, tiles.projection.image);
  writeTextFile(files[1]!, encodeNpyFloat32(tiles.projectionValues, [tiles.box.heightPx, tiles.box.widthPx, 3]));
  await writeRgbPng(files[2]!, tiles.patch.image);
  writeTextFile(files[3]!, `${JSON.stringify(summary, null, 2)}\n`);
  return files;
}
