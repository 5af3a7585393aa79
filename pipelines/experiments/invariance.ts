/**
 * `run-pipeline invariance` (Fig. 5): each image under vertical translation,
 * scale and rotation; per copy the layer-1 and layer-7 feature distances to
 * the original (raw and normalised; by default the first conv layer and the
 * layer before the logits: conv1 and fc7 on the project's models, any layers
 * of an imported model by name) and p(true class). Numbers go to the
 * store (invariance_measures, one transaction per image) and measures.csv;
 * one line chart per transform and measure (one line per image), and all nine
 * in one grid picture.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { selectExperimentImages, type ExperimentImage, type SelectImagesOptions } from '../../src/experiments/experiment-inputs.js';
import { resolveExperimentLayers } from '../../src/experiments/experiment-layers.js';
import { INVARIANCE_DEFAULT_LAYERS, measureInvariance, type InvarianceRow } from '../../src/experiments/invariance-measure.js';
import { INVARIANCE_KINDS, makeTransform, type InvarianceKind } from '../../src/experiments/invariance-transforms.js';
import { writeTextFile } from '../../src/mosaic/render-sheet.js';
import { formatCsv } from '../../src/experiments/result-files.js';
import { lineChartSvg } from '../../src/plot/line-chart.js';
import { writeSvgAndPng } from '../../src/plot/render-png.js';
import { readInvarianceRows } from '../../src/store/experiment-resume-store.js';
import type { Store } from '../../src/store/open-store.js';
import { insertInvarianceMeasures } from '../../src/store/experiment-results-store.js';
import type { ExaminedModel } from './experiment-model.js';
import { runForwardExperimentSession, type ForwardExperimentOptions } from './forward-experiment-session.js';

export interface InvariancePipelineOptions extends ForwardExperimentOptions {
  images: SelectImagesOptions;
  /** Amounts per transform: px (down positive), scale factors, degrees clockwise; a missing kind gets defaultInvarianceAmounts of the model's input size. */
  amounts: Partial<Record<InvarianceKind, number[]>>;
  batchSize: number;
  /** --layers FIRST,SECOND: the layers standing for the paper's layer 1 and layer 7; default the first conv layer and the layer before the logits. */
  layers?: string;
}

export interface InvariancePipelineResult {
  runId: string;
  outDir: string;
  images: string[];
  rows: Array<InvarianceRow & { image: string }>;
  files: string[];
}

/** The paper's ranges at 224 px (translation scaled to the input): -60..60 px step 10, 1..1.8 step 0.1, 0..350 deg step 10. */
export function defaultInvarianceAmounts(inputSizePx: number): Record<InvarianceKind, number[]> {
  const stepPx = Math.max(1, Math.round((10 * inputSizePx) / 224));
  return {
    translate: Array.from({ length: 13 }, (_, i) => (i - 6) * stepPx),
    scale: Array.from({ length: 9 }, (_, i) => Number((1 + i / 10).toFixed(1))),
    rotate: Array.from({ length: 36 }, (_, i) => i * 10),
  };
}

/** The three measures charted, with the names of the two layers measured. */
function listMeasures([first, second]: readonly [string, string]) {
  return [
    { key: 'layer1Normalised', label: `layer 1 (${first}) distance / ||original||`, file: 'layer1' },
    { key: 'layer7Normalised', label: `layer 7 (${second}) distance / ||original||`, file: 'layer7' },
    { key: 'trueProb', label: 'p(true class)', file: 'true-prob' },
  ] as const;
}
const AXES: Record<InvarianceKind, string> = { translate: 'vertical translation (px, down positive)', scale: 'scale factor', rotate: 'rotation (degrees clockwise)' };

/**
 * Runs the invariance experiment.
 * @throws UsageError for bad images, datasets, checkpoints, model names or layers.
 */
export async function runInvariancePipeline(options: InvariancePipelineOptions): Promise<InvariancePipelineResult> {
  const measuredOf = (model: ExaminedModel) => {
    const layers = resolveExperimentLayers(model.graph, options.layers, INVARIANCE_DEFAULT_LAYERS, { option: '--layers', count: 2 }) as [string, string];
    return { amounts: { ...defaultInvarianceAmounts(model.inputSizePx), ...options.amounts }, layers };
  };
  const settings = (model: ExaminedModel) => ({ ...measuredOf(model), batchSize: options.batchSize });
  return runForwardExperimentSession('invariance', options, options.images, settings, async (session) => {
    const { model, dataset } = session;
    const { amounts, layers } = measuredOf(model);
    const images = selectExperimentImages(options.db, dataset, options.images);
    const transforms = INVARIANCE_KINDS.flatMap((kind) => amounts[kind].map((a) => makeTransform(kind, a)));
    session.log(`invariance: ${images.length} images x ${transforms.length} transformed copies; layers ${layers.join(' and ')}`);
    const all: Array<InvarianceRow & { image: string }> = [];
    for (const image of images) {
      const stored = session.resumed ? readInvarianceRows(options.db, session.runId, image.key) : [];
      if (stored.length > 0) {
        // Committed by the interrupted process: read back, not recomputed.
        all.push(...stored.map(({ kind, ...r }) => ({ ...r, transform: makeTransform(kind, r.amount), image: image.key })));
        session.log(`invariance ${image.key}: committed by the earlier run, kept`);
        continue;
      }
      const input = await model.prepareInput(image.path);
      const trueClass = model.mapLabel(dataset.classes, image.datasetLabel);
      const rows = await measureInvariance({ executor: session.executor, layers, input: input.input, sizePx: model.inputSizePx, transforms, trueClass, batchSize: options.batchSize });
      session.commit(() => storeRows(options.db, session.runId, image, trueClass, rows));
      all.push(...rows.map((r) => ({ ...r, image: image.key })));
      session.log(`invariance ${image.key}: ${rows.length} copies measured`);
    }
    const files = await writeOutputs(session.outDir, images, all, layers);
    return { runId: session.runId, outDir: session.outDir, images: images.map((i) => i.key), rows: all, files };
  });
}

function storeRows(db: Store, runId: string, image: ExperimentImage, trueClass: number | null, rows: InvarianceRow[]): void {
  insertInvarianceMeasures(db, runId, rows.map((r) => ({
    imageKey: image.key, imageId: image.imageId, path: image.path, label: trueClass, transform: r.transform.kind, amount: r.amount,
    layer1Distance: r.layer1Distance, layer1Normalised: r.layer1Normalised, layer7Distance: r.layer7Distance, layer7Normalised: r.layer7Normalised,
    trueProb: r.trueProb, topClass: r.topClass,
  })));
}

/** measures.csv, nine line charts and one grid of them. */
async function writeOutputs(outDir: string, images: ExperimentImage[], rows: Array<InvarianceRow & { image: string }>, layers: readonly [string, string]): Promise<string[]> {
  const csv = join(outDir, 'measures.csv');
  writeTextFile(csv, formatCsv(
    ['image', 'transform', 'amount', 'layer1_distance', 'layer1_normalised', 'layer7_distance', 'layer7_normalised', 'true_prob', 'top_class'],
    rows.map((r) => [r.image, r.transform.kind, r.amount, r.layer1Distance, r.layer1Normalised, r.layer7Distance, r.layer7Normalised, r.trueProb, r.topClass]),
  ));
  const panels: string[] = [];
  for (const measure of listMeasures(layers)) {
    for (const kind of INVARIANCE_KINDS) {
      const series = images.map((image) => ({
        name: image.imageId === null ? image.key.replace(/^.*[\\/]/, '') : `image ${image.key}`,
        points: rows.filter((r) => r.image === image.key && r.transform.kind === kind).map((r) => [r.amount, r[measure.key] ?? NaN] as [number, number]),
      }));
      const path = join(outDir, `${kind}-${measure.file}.png`);
      await writeSvgAndPng(lineChartSvg({ title: `${kind}: ${measure.label}`, xLabel: AXES[kind], yLabel: measure.file === 'true-prob' ? 'probability' : 'normalised distance', series, yFromZero: true, widthPx: 560, heightPx: 340 }), path);
      panels.push(path);
    }
  }
  const grid = join(outDir, 'invariance.png');
  await sharp({ create: { width: 3 * 560, height: 3 * 340, channels: 3, background: 'white' } })
    .composite(panels.map((input, i) => ({ input, left: (i % 3) * 560, top: Math.floor(i / 3) * 340 })))
    .png()
    .toFile(grid);
  return [csv, ...panels, grid];
}
