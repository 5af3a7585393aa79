/**
 * `run-pipeline invariance` (Fig. 5): each image under vertical translation,
 * scale and rotation; per copy the layer-1 and layer-7 feature distances to
 * the original (raw and normalised) and p(true class). Numbers go to the
 * store (invariance_measures, one transaction per image) and measures.csv;
 * one line chart per transform and measure (one line per image), and all nine
 * in one grid picture.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { initBackend, type BackendChoice } from '../src/backend/select-backend.js';
import { computeSquareSizePx } from '../src/data/crop-geometry.js';
import { loadMeanImage } from '../src/data/mean-store.js';
import {
  listNeededSplits, loadExperimentModel, mapLabelToLogit, prepareCentreInput, selectExperimentImages, type ExperimentImage, type SelectImagesOptions,
} from '../src/experiments/experiment-inputs.js';
import { measureInvariance, type InvarianceRow } from '../src/experiments/invariance-measure.js';
import { INVARIANCE_KINDS, makeTransform, type InvarianceKind } from '../src/experiments/invariance-transforms.js';
import { formatCsv, writeTextFile } from '../src/experiments/result-files.js';
import { disposeParams } from '../src/model/params.js';
import { lineChartSvg } from '../src/plot/line-chart.js';
import { writeSvgAndPng } from '../src/plot/render-png.js';
import type { Store } from '../src/store/open-store.js';
import { createRun, makeRunId, setRunStatus } from '../src/store/runs.js';
import { prepareDataset } from './input-stream.js';
import { describeWeights } from './occlusion.js';

export interface InvariancePipelineOptions {
  db: Store;
  data?: string;
  checkpoint?: string;
  model?: string;
  seed: number;
  backend: BackendChoice;
  images: SelectImagesOptions;
  /** Amounts per transform: px (down positive), scale factors, degrees clockwise. */
  amounts: Record<InvarianceKind, number[]>;
  batchSize: number;
  /** Default out/invariance/<run id>. */
  outDir?: string;
  log?: (line: string) => void;
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

const MEASURES = [
  { key: 'layer1Normalised', label: 'layer 1 (conv1) distance / ||original||', file: 'layer1' },
  { key: 'layer7Normalised', label: 'layer 7 (fc7) distance / ||original||', file: 'layer7' },
  { key: 'trueProb', label: 'p(true class)', file: 'true-prob' },
] as const;
const AXES: Record<InvarianceKind, string> = { translate: 'vertical translation (px, down positive)', scale: 'scale factor', rotate: 'rotation (degrees clockwise)' };

/**
 * Runs the invariance experiment.
 * @throws UsageError for bad images, datasets or checkpoints.
 */
export async function runInvariancePipeline(options: InvariancePipelineOptions): Promise<InvariancePipelineResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const backendInfo = await initBackend(options.backend, { log });
  const { dataset } = await prepareDataset({ db: options.db, data: options.data, splits: listNeededSplits(options.images), log });
  const model = loadExperimentModel({ checkpoint: options.checkpoint, model: options.model, seed: options.seed, numClasses: dataset.classes.length });
  try {
    const S = model.config.inputSizePx;
    const images = selectExperimentImages(options.db, dataset, options.images);
    const mean = loadMeanImage(options.db, dataset.id, computeSquareSizePx(S));
    const transforms = INVARIANCE_KINDS.flatMap((kind) => options.amounts[kind].map((a) => makeTransform(kind, a)));
    const runId = makeRunId('invariance', new Date(), model.config.name);
    const outDir = options.outDir ?? join('out', 'invariance', runId);
    const settings = { amounts: options.amounts, batchSize: options.batchSize, mean: mean.source, weights: model.source, images: images.map((i) => i.key) };
    createRun(options.db, { id: runId, kind: 'invariance', model: model.config.name, backend: backendInfo.name, backendInfo: { ...backendInfo }, options: settings });
    log(`invariance ${runId}: ${images.length} images x ${transforms.length} transformed copies, ${describeWeights(model)}`);
    const all: Array<InvarianceRow & { image: string }> = [];
    try {
      for (const image of images) {
        const input = await prepareCentreInput(image.path, S, mean);
        const trueClass = mapLabelToLogit(model.config, dataset.classes, image.datasetLabel);
        const rows = await measureInvariance({ config: model.config, params: model.params, input: input.input, transforms, trueClass, batchSize: options.batchSize });
        storeRows(options.db, runId, image, trueClass, rows);
        all.push(...rows.map((r) => ({ ...r, image: image.key })));
        log(`invariance ${image.key}: ${rows.length} copies measured`);
      }
      const files = await writeOutputs(outDir, images, all);
      setRunStatus(options.db, runId, 'finished');
      return { runId, outDir, images: images.map((i) => i.key), rows: all, files };
    } catch (error) {
      setRunStatus(options.db, runId, 'failed');
      throw error;
    }
  } finally {
    disposeParams(model.params);
  }
}

function storeRows(db: Store, runId: string, image: ExperimentImage, trueClass: number | null, rows: InvarianceRow[]): void {
  const insert = db.prepare(`INSERT INTO invariance_measures (run_id, image_key, image_id, path, label, transform, amount, layer1_distance, layer1_normalised,
    layer7_distance, layer7_normalised, true_prob, top_class) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  db.transaction(() => {
    for (const r of rows) {
      insert.run(runId, image.key, image.imageId, image.path, trueClass, r.transform.kind, r.amount, r.layer1Distance, r.layer1Normalised,
        r.layer7Distance, r.layer7Normalised, r.trueProb, r.topClass);
    }
  })();
}

/** measures.csv, nine line charts and one grid of them. */
async function writeOutputs(outDir: string, images: ExperimentImage[], rows: Array<InvarianceRow & { image: string }>): Promise<string[]> {
  const csv = join(outDir, 'measures.csv');
  writeTextFile(csv, formatCsv(
    ['image', 'transform', 'amount', 'layer1_distance', 'layer1_normalised', 'layer7_distance', 'layer7_normalised', 'true_prob', 'top_class'],
    rows.map((r) => [r.image, r.transform.kind, r.amount, r.layer1Distance, r.layer1Normalised, r.layer7Distance, r.layer7Normalised, r.trueProb, r.topClass]),
  ));
  const panels: string[] = [];
  for (const measure of MEASURES) {
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
