/**
 * `run-pipeline correspondence` (Sec. 5, Table 1): mask the same named part
 * in each image, and random regions of the same size as a control; for each
 * part and layer (conv5, fc7), Delta_l = sum over image pairs i != j of the
 * normalised Hamming distance between sign(x_i - x~_i) and sign(x_j - x~_j).
 * Numbers go to the store (correspondence_pairs, correspondence_summary) and
 * summary.csv; masks.png shows where the boxes fell on the model inputs.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { createRng, deriveSeed } from '../../src/data/seeded-rng.js';
import { UsageError } from '../../src/errors.js';
import { parseMaskFile, mapImageRectToInput, clipRect, type MaskFile, type MaskedImageSpec } from '../../src/experiments/correspondence-masks.js';
import { CORRESPONDENCE_DEFAULT_LAYERS, extractFeatureVectors, summariseDelta, type DeltaSummary, type FeatureVectors } from '../../src/experiments/correspondence-measure.js';
import { selectExperimentImages, type ExperimentImage } from '../../src/experiments/experiment-inputs.js';
import { resolveExperimentLayers } from '../../src/experiments/experiment-layers.js';
import { applyOccluder, drawRandomRect, type OccluderFill, type PixelRect } from '../../src/experiments/occluder.js';
import { writeTextFile } from '../../src/mosaic/render-sheet.js';
import { formatCsv } from '../../src/experiments/result-files.js';
import type { Store } from '../../src/store/open-store.js';
import { insertCorrespondenceResults, type CorrespondencePairRecord } from '../../src/store/experiment-results-store.js';
import type { ExaminedModel, ExperimentInput } from './experiment-model.js';
import { runForwardExperimentSession, type ForwardExperimentOptions, type ForwardExperimentSession } from './forward-experiment-session.js';

export interface CorrespondencePipelineOptions extends ForwardExperimentOptions {
  /** The mask-box JSON file (see src/experiments/correspondence-masks.ts). */
  maskFile: string;
  /** Random-control draws (each masks one random box per image). */
  draws: number;
  fill: OccluderFill;
  batchSize: number;
  /** --layers A,B,...: the layers compared; default the last conv layer and the layer before the logits (conv5, fc7). */
  layers?: string;
}

export interface CorrespondenceSummaryRow extends Omit<DeltaSummary, 'draws'> {
  part: string;
  layer: string;
}

export interface CorrespondencePipelineResult {
  runId: string;
  outDir: string;
  summary: CorrespondenceSummaryRow[];
  files: string[];
}

/** An image with its input and its part boxes in input pixels. */
interface MaskedInput {
  image: ExperimentImage;
  input: ExperimentInput;
  boxes: Map<string, PixelRect>;
}

/**
 * Runs the correspondence experiment.
 * @throws UsageError for an unreadable or invalid mask file, bad images, datasets, checkpoints, model names or layers.
 */
export async function runCorrespondencePipeline(options: CorrespondencePipelineOptions): Promise<CorrespondencePipelineResult> {
  const masks = readMaskFile(options.maskFile);
  const ids = masks.images.filter((m) => m.imageId !== null).map((m) => m.imageId!);
  const layersOf = (model: ExaminedModel): string[] => resolveExperimentLayers(model.graph, options.layers, CORRESPONDENCE_DEFAULT_LAYERS, { option: '--layers' });
  const settings = (model: ExaminedModel) => ({ maskFile: resolve(options.maskFile), parts: masks.partNames, layers: layersOf(model), draws: options.draws, fill: options.fill, batchSize: options.batchSize, seed: options.seed });
  return runForwardExperimentSession('correspondence', options, { imageIds: ids }, settings, async (session) => {
    const layers = layersOf(session.model);
    const inputs: MaskedInput[] = [];
    for (const spec of masks.images) inputs.push(await prepareMaskedInput(options, session, masks, spec));
    session.log(`correspondence: ${inputs.length} images, parts ${masks.partNames.join(', ')}, ${options.draws} random draws; layers ${layers.join(', ')}`);
    const parts = [...masks.partNames, 'random'];
    const copies = listCopies(inputs, masks.partNames, options);
    const features = await extractFeatureVectors(session.executor, layers, copies, session.model.inputSizePx, options.batchSize, makeCopyWriter(inputs, options.fill));
    const summary: CorrespondenceSummaryRow[] = [];
    const pairRows: Array<[string, number, string, number, number, number]> = [];
    for (const layer of layers) {
      const originals = inputs.map((_, i) => pick(features, layer, copies, i, 'original', 0));
      for (const part of parts) {
        const drawCount = part === 'random' ? options.draws : 1;
        const masked = Array.from({ length: drawCount }, (_, d) => inputs.map((_, i) => pick(features, layer, copies, i, part, d)));
        const result = summariseDelta(originals, masked);
        summary.push({ part, layer, deltaSum: result.deltaSum, deltaMean: result.deltaMean, deltaStd: result.deltaStd, pairs: result.pairs });
        result.draws.forEach((draw, d) => listPairs(inputs.length).forEach(([i, j], k) => pairRows.push([part, part === 'random' ? d + 1 : 0, layer, i, j, draw.pairFractions[k]!])));
      }
    }
    // Delta needs every image's features, so this experiment commits once, at the end; a rerun of an unfinished run recomputes it under the same run id.
    session.commit(() => storeResults(options.db, session.runId, summary, pairRows));
    const files = await writeOutputs(session.outDir, summary, inputs, copies);
    for (const row of summary) session.log(`correspondence ${row.layer} ${row.part}: Delta ${row.deltaSum.toFixed(3)} (pair mean ${row.deltaMean.toFixed(4)} +- ${row.deltaStd.toFixed(4)})`);
    return { runId: session.runId, outDir: session.outDir, summary, files };
  });
}

function readMaskFile(path: string): MaskFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read mask file ${path}: ${(error as Error).message}`);
  }
  try {
    return parseMaskFile(text, path);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Loads one image's input and maps its part boxes to input pixels. */
async function prepareMaskedInput(options: CorrespondencePipelineOptions, session: ForwardExperimentSession, masks: MaskFile, spec: MaskedImageSpec): Promise<MaskedInput> {
  const selection = spec.path !== null ? { paths: [resolve(dirname(options.maskFile), spec.path)] } : { imageIds: [spec.imageId!] };
  const [image] = selectExperimentImages(options.db, session.dataset, selection);
  const { inputSizePx: S, squarePx } = session.model;
  const input = await session.model.prepareInput(image!.path);
  const boxes = new Map<string, PixelRect>();
  let size: { width: number; height: number } | null = null;
  for (const [part, box] of spec.parts) {
    if (masks.boxSpace === 'image' && size === null) size = await readOrientedSize(image!.path);
    const mapped = size === null ? clipRect(box, S) : mapImageRectToInput(box, size.width, size.height, squarePx, S);
    if (mapped === null) throw new UsageError(`Mask file ${options.maskFile}: part "${part}" of ${image!.path} lies outside the ${S} px centre crop the model sees`);
    boxes.set(part, mapped);
  }
  return { image: image!, input, boxes };
}

/** Width and height after EXIF orientation, as decodeSquare sees the image. */
async function readOrientedSize(path: string): Promise<{ width: number; height: number }> {
  const meta = await sharp(path).metadata();
  const swap = (meta.orientation ?? 1) >= 5;
  return { width: swap ? meta.height! : meta.width!, height: swap ? meta.width! : meta.height! };
}

/** One forward input: an image's original, or the image with one box filled. */
interface Copy {
  imageIndex: number;
  part: string;
  draw: number;
  rect: PixelRect | null;
}

/** Per image: the original, one copy per part, and `draws` random-box copies (box size of the image's largest part). */
function listCopies(inputs: MaskedInput[], partNames: string[], options: CorrespondencePipelineOptions): Copy[] {
  const copies: Copy[] = [];
  inputs.forEach((m, imageIndex) => {
    const S = m.input.sizePx;
    copies.push({ imageIndex, part: 'original', draw: 0, rect: null });
    for (const part of partNames) copies.push({ imageIndex, part, draw: 0, rect: m.boxes.get(part)! });
    const largest = [...m.boxes.values()].reduce((a, b) => (b.widthPx * b.heightPx > a.widthPx * a.heightPx ? b : a));
    for (let d = 0; d < options.draws; d++) {
      const rect = drawRandomRect(createRng(deriveSeed(options.seed, d, imageIndex)), S, largest.widthPx, largest.heightPx);
      copies.push({ imageIndex, part: 'random', draw: d, rect });
    }
  });
  return copies;
}

/** Writes a copy's pixels into a batch when the batch is built, so masked copies never pile up. */
function makeCopyWriter(inputs: MaskedInput[], fill: OccluderFill): (copy: Copy, out: Float32Array, offset: number) => void {
  const fills = inputs.map((m) => m.input.fillImage(fill)); // [S, S, 3] per image
  return (copy, out, offset) => {
    const m = inputs[copy.imageIndex]!;
    if (copy.rect === null) out.set(m.input.input, offset);
    else applyOccluder(m.input.input, m.input.sizePx, copy.rect, fills[copy.imageIndex]!, out, offset);
  };
}

function pick(features: FeatureVectors, layer: string, copies: Copy[], imageIndex: number, part: string, draw: number): Float32Array {
  const index = copies.findIndex((c) => c.imageIndex === imageIndex && c.part === part && c.draw === draw);
  return features[layer]![index]!;
}

/** Pairs (i, j), i < j, in the order computeSignChangeDelta lists them. */
function listPairs(n: number): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs.push([i, j]);
  return pairs;
}

function storeResults(db: Store, runId: string, summary: CorrespondenceSummaryRow[], pairs: CorrespondencePairRecord[]): void {
  insertCorrespondenceResults(db, runId, summary, pairs);
}

/** summary.csv and masks.png (each input with its part boxes and the first random draw's box). */
async function writeOutputs(outDir: string, summary: CorrespondenceSummaryRow[], inputs: MaskedInput[], copies: Copy[]): Promise<string[]> {
  const csv = join(outDir, 'summary.csv');
  writeTextFile(csv, formatCsv(['part', 'layer', 'delta_sum', 'delta_mean', 'delta_std', 'pairs'], summary.map((s) => [s.part, s.layer, s.deltaSum, s.deltaMean, s.deltaStd, s.pairs])));
  const S = inputs[0]!.input.sizePx;
  const tiles = await Promise.all(inputs.map(async (m, i) => {
    const boxes = copies.filter((c) => c.imageIndex === i && c.rect !== null && c.draw === 0);
    const rects = boxes.map((c) => `<rect x="${c.rect!.xPx}" y="${c.rect!.yPx}" width="${c.rect!.widthPx}" height="${c.rect!.heightPx}" fill="none" stroke="${c.part === 'random' ? '#ff4040' : '#40ff40'}" stroke-width="${Math.max(1, S / 112)}"/>`);
    const overlay = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${S}" height="${S}">${rects.join('')}</svg>`);
    return sharp(m.input.display, { raw: { width: S, height: S, channels: 3 } }).composite([{ input: overlay }]).png().toBuffer();
  }));
  const png = join(outDir, 'masks.png');
  await sharp({ create: { width: tiles.length * (S + 4), height: S, channels: 3, background: 'white' } })
    .composite(tiles.map((input, i) => ({ input, left: i * (S + 4), top: 0 })))
    .png()
    .toFile(png);
  return [csv, png];
}
