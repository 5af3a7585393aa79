/**
 * Imported models in the store (table imported_models, db/020): one record per
 * name, pointing at the converted model file and naming its source by SHA-256.
 */
import type { Store } from './open-store.js';
import { UsageError } from '../errors.js';

export interface ImportedModelRecord {
  name: string;
  format: 'onnx' | 'torchvision-state-dict' | 'project-checkpoint';
  architecture: string | null;
  sourcePath: string;
  sourceSha256: string;
  modelPath: string;
  modelSha256: string;
  inputSizePx: number;
  preprocessingJson: string;
  layersJson: string;
  classLabelsJson: string | null;
  importedAt: string;
}

const COLUMNS = `name, format, architecture, source_path AS sourcePath, source_sha256 AS sourceSha256, model_path AS modelPath,
  model_sha256 AS modelSha256, input_size_px AS inputSizePx, preprocessing_json AS preprocessingJson, layers_json AS layersJson,
  class_labels_json AS classLabelsJson, imported_at AS importedAt`;

/** Saves (or replaces, on a re-import under the same name) a record. */
export function saveImportedModelRecord(db: Store, record: ImportedModelRecord): void {
  db.prepare(`INSERT OR REPLACE INTO imported_models (name, format, architecture, source_path, source_sha256, model_path, model_sha256,
      input_size_px, preprocessing_json, layers_json, class_labels_json, imported_at)
    VALUES (@name, @format, @architecture, @sourcePath, @sourceSha256, @modelPath, @modelSha256, @inputSizePx, @preprocessingJson, @layersJson, @classLabelsJson, @importedAt)`)
    .run(record);
}

/** The records, oldest first. */
export function listImportedModels(db: Store): ImportedModelRecord[] {
  return db.prepare(`SELECT ${COLUMNS} FROM imported_models ORDER BY imported_at, name`).all() as ImportedModelRecord[];
}

/** The record of `name`, or undefined. */
export function findImportedModel(db: Store, name: string): ImportedModelRecord | undefined {
  return db.prepare(`SELECT ${COLUMNS} FROM imported_models WHERE name = ?`).get(name) as ImportedModelRecord | undefined;
}

/**
 * The record of `name`.
 * @throws UsageError listing the imported names when there is none.
 */
export function getImportedModel(db: Store, name: string): ImportedModelRecord {
  const row = findImportedModel(db, name);
  if (row !== undefined) return row;
  const names = listImportedModels(db).map((r) => r.name);
  throw new UsageError(`No imported model named ${JSON.stringify(name)} in the store; ${names.length === 0 ? 'none imported yet (run-pipeline import)' : `imported: ${names.join(', ')}`}`);
}
