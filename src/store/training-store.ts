/**
 * Training metrics per epoch and evaluation results in the store
 * (db/004-training.sql). Statements are prepared once per store handle.
 */
import type { Store } from './open-store.js';

export interface EpochRecord {
  runId: string;
  epoch: number;
  steps: number;
  trainImages: number;
  trainLoss: number | null;
  trainTop1Error: number | null;
  trainTop5Error: number | null;
  valImages: number | null;
  valLoss: number | null;
  valTop1Error: number | null;
  valTop5Error: number | null;
  learningRate: number;
  imagesPerS: number | null;
  wallS: number | null;
  checkpointPath: string | null;
  checkpointKept: boolean;
  completedAt: string;
}

export interface EvaluationRecord {
  id: number;
  runId: string | null;
  checkpointPath: string;
  checkpointSha256: string | null;
  model: string;
  split: string;
  tenCrop: boolean;
  images: number;
  loss: number | null;
  top1Error: number;
  top5Error: number;
  createdAt: string;
}

export interface ClassErrorRecord {
  label: number;
  classKey: string | null;
  images: number;
  top1Error: number;
  top5Error: number;
}

export interface TrainingStore {
  /** Inserts or replaces one epoch's row (a resume may rewrite the row of the checkpoint it starts from). */
  saveEpoch(record: EpochRecord): void;
  listEpochs(runId: string): EpochRecord[];
  /** Marks epochs whose checkpoint files the retention policy deleted. */
  markCheckpointsDeleted(runId: string, epochs: readonly number[]): void;
  /** Stores an evaluation and its per-class rows in one transaction; returns its id. */
  saveEvaluation(record: Omit<EvaluationRecord, 'id'>, classErrors: readonly ClassErrorRecord[]): number;
  listEvaluations(runId?: string): EvaluationRecord[];
  listClassErrors(evaluationId: number): ClassErrorRecord[];
  /** The newest epoch row of every run that has one, by run id. */
  listLastEpochs(): Map<string, EpochRecord>;
}

type Row = Record<string, unknown>;

/** camelCase record <-> snake_case row, for the flat records above. */
function toRow(record: object): Row {
  const row: Row = {};
  for (const [key, value] of Object.entries(record)) {
    row[key.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`)] = typeof value === 'boolean' ? (value ? 1 : 0) : value;
  }
  return row;
}

function fromRow<T>(row: Row, booleans: readonly string[]): T {
  const record: Row = {};
  for (const [key, value] of Object.entries(row)) {
    const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    record[camel] = booleans.includes(camel) ? value === 1 : value;
  }
  return record as T;
}

const EPOCH_COLUMNS = ['run_id', 'epoch', 'steps', 'train_images', 'train_loss', 'train_top1_error', 'train_top5_error', 'val_images', 'val_loss',
  'val_top1_error', 'val_top5_error', 'learning_rate', 'images_per_s', 'wall_s', 'checkpoint_path', 'checkpoint_kept', 'completed_at'];
const EVALUATION_COLUMNS = ['run_id', 'checkpoint_path', 'checkpoint_sha256', 'model', 'split', 'ten_crop', 'images', 'loss', 'top1_error', 'top5_error', 'created_at'];

function insertSql(table: string, columns: readonly string[], verb = 'INSERT'): string {
  return `${verb} INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`;
}

/** Binds the training tables of an open store. */
export function createTrainingStore(db: Store): TrainingStore {
  const upsertEpoch = db.prepare(insertSql('train_epochs', EPOCH_COLUMNS, 'INSERT OR REPLACE'));
  const selectEpochs = db.prepare('SELECT * FROM train_epochs WHERE run_id = ? ORDER BY epoch');
  const markDeleted = db.prepare('UPDATE train_epochs SET checkpoint_kept = 0 WHERE run_id = ? AND epoch = ?');
  const insertEvaluation = db.prepare(insertSql('evaluations', EVALUATION_COLUMNS));
  const insertClassError = db.prepare(insertSql('evaluation_class_errors', ['evaluation_id', 'label', 'class_key', 'images', 'top1_error', 'top5_error']));
  const selectEvaluations = db.prepare('SELECT * FROM evaluations ORDER BY id');
  const selectRunEvaluations = db.prepare('SELECT * FROM evaluations WHERE run_id = ? ORDER BY id');
  const selectClassErrors = db.prepare('SELECT label, class_key, images, top1_error, top5_error FROM evaluation_class_errors WHERE evaluation_id = ? ORDER BY label');
  const selectLastEpochs = db.prepare('SELECT e.* FROM train_epochs e JOIN (SELECT run_id, MAX(epoch) AS epoch FROM train_epochs GROUP BY run_id) m USING (run_id, epoch)');
  const markAll = db.transaction((runId: string, epochs: readonly number[]) => {
    for (const epoch of epochs) markDeleted.run(runId, epoch);
  });
  const saveEvaluation = db.transaction((record: Omit<EvaluationRecord, 'id'>, classErrors: readonly ClassErrorRecord[]) => {
    const id = Number(insertEvaluation.run(toRow(record)).lastInsertRowid);
    for (const row of classErrors) insertClassError.run({ evaluation_id: id, ...toRow(row) });
    return id;
  });
  return {
    saveEpoch: (record) => void upsertEpoch.run(toRow(record)),
    listEpochs: (runId) => (selectEpochs.all(runId) as Row[]).map((r) => fromRow<EpochRecord>(r, ['checkpointKept'])),
    markCheckpointsDeleted: (runId, epochs) => markAll(runId, epochs),
    saveEvaluation: (record, classErrors) => saveEvaluation(record, classErrors),
    listEvaluations: (runId) => ((runId === undefined ? selectEvaluations.all() : selectRunEvaluations.all(runId)) as Row[])
      .map((r) => fromRow<EvaluationRecord>(r, ['tenCrop'])),
    listClassErrors: (evaluationId) => (selectClassErrors.all(evaluationId) as Row[]).map((r) => fromRow<ClassErrorRecord>(r, [])),
    listLastEpochs: () => new Map((selectLastEpochs.all() as Row[]).map((r) => fromRow<EpochRecord>(r, ['checkpointKept'])).map((e) => [e.runId, e])),
  };
}
