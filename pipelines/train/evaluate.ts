/**
 * `run-pipeline evaluate`: top-1/top-5 error of a checkpoint on a split,
 * centre crop or the paper's ten crops (softmax probabilities averaged per
 * image), stored as an evaluation row with per-class errors, optionally
 * written as a CSV table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { initBackend, type BackendChoice } from '../../src/backend/select-backend.js';
import { loadCheckpoint } from '../../src/checkpoint/checkpoint-file.js';
import { UsageError } from '../../src/errors.js';
import type { DatasetRecord } from '../../src/store/image-index.js';
import { resolveMeanImage } from '../../src/store/mean-store.js';
import { disposeParams } from '../../src/model/params.js';
import type { ModelConfig } from '../../src/model/spec.js';
import { createProgress } from '../../src/progress.js';
import type { Store } from '../../src/store/open-store.js';
import { createRun, getRun, makeRunId, recordRunMean, recordSkippedItem, trackRunStatus, uniqueRunId } from '../../src/store/runs.js';
import { createTrainingStore, type ClassErrorRecord, type EvaluationRecord } from '../../src/store/training-store.js';
import { evaluateBatches } from '../../src/train/run-epoch.js';
import { summarizeClassTally, summarizeMetrics, type ClassTally } from '../../src/train/topk-metrics.js';
import { createForwardExecutor, resolveWorkerCount } from '../../src/workers/forward-executor.js';
import { createBatchStream, prepareDataset } from '../shared/input-stream.js';

export interface EvaluatePipelineOptions {
  db: Store;
  backend: BackendChoice;
  checkpoint: string;
  split: string;
  tenCrop: boolean;
  /** Dataset root; default: the one the checkpoint's training run used, else the sample dataset. */
  data?: string;
  /** Images per batch (a ten-crop batch has 10 rows per image). */
  batchSize: number;
  limit?: number;
  /** CSV file for the per-class table. */
  perClassCsv?: string;
  decodeConcurrency?: number;
  strict?: boolean;
  /** Forward worker threads; undefined: one per core on wasm/cpu, 1 on tensorflow. The result does not depend on it. */
  workers?: number;
  log?: (line: string) => void;
}

export interface EvaluatePipelineResult {
  evaluation: EvaluationRecord;
  classErrors: ClassErrorRecord[];
}

/** The dataset root a training checkpoint was trained on, when its run is in this store. */
function findTrainingData(db: Store, trainingState: Record<string, unknown> | null): string | undefined {
  const runId = trainingState?.['runId'];
  if (typeof runId !== 'string') return undefined;
  const data = getRun(db, runId)?.options['data'];
  return typeof data === 'string' ? data : undefined;
}

/** @throws UsageError naming the first difference when the checkpoint's classes are not the dataset's. */
function checkClasses(config: ModelConfig, dataset: DatasetRecord, checkpoint: string): void {
  const keys = dataset.classes.map((c) => c.key);
  if (config.numClasses !== keys.length) {
    throw new UsageError(`Checkpoint ${checkpoint} has ${config.numClasses} classes but dataset ${dataset.root} has ${keys.length}`);
  }
  const differs = config.classIds?.findIndex((k, i) => k !== keys[i]) ?? -1;
  if (differs >= 0) {
    throw new UsageError(`Checkpoint ${checkpoint} has class ${differs} = ${config.classIds![differs]} but dataset ${dataset.root} has ${keys[differs]}`);
  }
}

/** Writes the per-class table: label, class key, name, images, top-1 and top-5 error. */
export function formatClassErrorsCsv(rows: readonly ClassErrorRecord[], dataset: DatasetRecord): string {
  const names = new Map(dataset.classes.map((c) => [c.label, c.name]));
  const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = rows.map((r) => [r.label, quote(r.classKey ?? ''), quote(names.get(r.label) ?? ''), r.images, r.top1Error.toFixed(6), r.top5Error.toFixed(6)].join(','));
  return `label,class_key,name,images,top1_error,top5_error\n${lines.join('\n')}\n`;
}

/**
 * Evaluates a checkpoint on a labelled split and stores the result.
 * @throws UsageError for a missing/invalid checkpoint, an unlabelled split or mismatched classes.
 */
export async function runEvaluatePipeline(options: EvaluatePipelineOptions): Promise<EvaluatePipelineResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const backendInfo = await initBackend(options.backend, { purpose: 'inference' });
  const checkpointPath = resolve(options.checkpoint);
  const loaded = loadCheckpoint(checkpointPath);
  try {
    const data = options.data ?? findTrainingData(options.db, loaded.trainingState);
    const { dataset, splits } = await prepareDataset({ db: options.db, data, splits: [options.split], log });
    if (splits[options.split]!.labelSource === null) throw new UsageError(`Split ${options.split} of ${dataset.root} has no labels to evaluate against`);
    checkClasses(loaded.config, dataset, checkpointPath);
    const { mean: meanImage, line: meanLine } = resolveMeanImage(options.db, dataset.id, loaded.config, { mean: loaded.mean });
    log(`evaluate: ${meanLine}`);
    const runId = uniqueRunId(options.db, makeRunId('evaluate', new Date(), options.split));
    createRun(options.db, { id: runId, kind: 'evaluate', model: loaded.config.name, backend: backendInfo.name, backendInfo: { ...backendInfo }, options: { checkpoint: checkpointPath, split: options.split, tenCrop: options.tenCrop, data: dataset.root, limit: options.limit ?? null } });
    recordRunMean(options.db, runId, meanImage.sha256);
    return await trackRunStatus(options.db, runId, async () => {
      const batches = createBatchStream({
        db: options.db, dataset, split: options.split, inputSizePx: loaded.config.inputSizePx, meanImage, crop: options.tenCrop ? 'ten' : 'centre',
        order: 'sorted', limit: options.limit, batchSize: options.batchSize, decodeConcurrency: options.decodeConcurrency, strict: options.strict,
        onSkip: (item) => recordSkippedItem(options.db, runId, item),
      });
      const progress = createProgress({ label: `evaluate ${options.split}${options.tenCrop ? ' ten-crop' : ''}`, total: batches.total });
      const tally: ClassTally = new Map();
      const executor = await createForwardExecutor({ workers: resolveWorkerCount(options.workers, backendInfo), backend: options.backend, model: { kind: 'params', config: loaded.config, params: loaded.params, sha256: loaded.sha256 } });
      const { sums } = await evaluateBatches(batches, { config: loaded.config, params: loaded.params, classTally: tally, onBatch: (n) => progress.tick(n), executor })
        .finally(() => executor.close());
      progress.done();
      if (sums.images === 0) throw new UsageError(`No image of split ${options.split} could be evaluated`);
      return storeEvaluation(options, runId, checkpointPath, loaded.sha256, loaded.config.name, sums, tally, dataset);
    });
  } finally {
    disposeParams(loaded.params);
  }
}

function storeEvaluation(options: EvaluatePipelineOptions, runId: string, checkpointPath: string, sha256: string, model: string,
  sums: Parameters<typeof summarizeMetrics>[0], tally: ClassTally, dataset: DatasetRecord): EvaluatePipelineResult {
  const summary = summarizeMetrics(sums);
  const keys = new Map(dataset.classes.map((c) => [c.label, c.key]));
  const classErrors = summarizeClassTally(tally).map((r) => ({ ...r, classKey: keys.get(r.label) ?? null }));
  const record: Omit<EvaluationRecord, 'id'> = {
    runId, checkpointPath, checkpointSha256: sha256, model, split: options.split, tenCrop: options.tenCrop, images: summary.images,
    loss: Number.isFinite(summary.loss) ? summary.loss : null, top1Error: summary.top1Error, top5Error: summary.top5Error, createdAt: new Date().toISOString(),
  };
  const id = createTrainingStore(options.db).saveEvaluation(record, classErrors);
  if (options.perClassCsv !== undefined) {
    mkdirSync(dirname(resolve(options.perClassCsv)), { recursive: true });
    writeFileSync(options.perClassCsv, formatClassErrorsCsv(classErrors, dataset));
  }
  return { evaluation: { id, ...record }, classErrors };
}
