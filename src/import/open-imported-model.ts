/**
 * An imported model as the analysis commands use it: the store's record, the
 * converted file (checked against the SHA-256 recorded at import), its map
 * layers with their store numbers, and the input steps its preprocessing
 * asks for (square side, value normalisation) for the batch stream.
 */
import type { ResampleMethod } from '../data/decode-image.js';
import { isUsageError, UsageError } from '../errors.js';
import { listAnalysedLayers, type AnalysedLayer } from '../graph/analysed-layers.js';
import { findImportedModel, getImportedModel, type ImportedModelRecord } from '../store/imported-models-store.js';
import type { Store } from '../store/open-store.js';
import { loadImportedModel, type LoadedImportedModel } from './imported-model-file.js';
import { normalizePixels, type Preprocessing } from './preprocessing.js';

export interface OpenedImportedModel {
  record: ImportedModelRecord;
  model: LoadedImportedModel;
  /** Every map layer, numbered by position in the graph's layers. */
  layers: AnalysedLayer[];
}

/** What a batch stream needs to feed the model (see pipelines/shared/input-stream.ts). */
export interface ModelInputSteps {
  inputSizePx: number;
  squarePx: number;
  resample: ResampleMethod;
  normalize: (pixels: Float32Array) => Float32Array;
}

/**
 * Opens the imported model `name` of the store.
 * @throws UsageError when there is no such record, or its file is missing, broken or changed since the import.
 */
export function openImportedModel(db: Store, name: string): OpenedImportedModel {
  return openRecord(getImportedModel(db, name));
}

/** Like openImportedModel, but undefined when the store has no model of that name. */
export function tryOpenImportedModel(db: Store, name: string): OpenedImportedModel | undefined {
  const record = findImportedModel(db, name);
  return record === undefined ? undefined : openRecord(record);
}

function openRecord(record: ImportedModelRecord): OpenedImportedModel {
  let model: LoadedImportedModel;
  try {
    model = loadImportedModel(record.modelPath);
  } catch (error) {
    if (!isUsageError(error)) throw error;
    throw new UsageError(`Imported model ${record.name}: ${(error as Error).message}; import ${record.sourcePath} again (run-pipeline import ... --name ${record.name})`);
  }
  if (model.sha256 !== record.modelSha256) {
    throw new UsageError(`Model file ${record.modelPath} of imported model ${record.name} changed since it was imported (sha256 ${model.sha256}, recorded ${record.modelSha256}); import ${record.sourcePath} again`);
  }
  return { record, model, layers: listAnalysedLayers(model.graph, 'position') };
}

/**
 * The batch stream's input steps for `preprocessing`.
 * @throws UsageError for a per-pixel mean image, which the batch stream does not apply to imported models.
 */
export function describeModelInput(preprocessing: Preprocessing, modelName: string): ModelInputSteps {
  if (preprocessing.meanImage !== null) throw new UsageError(`Imported model ${modelName} subtracts a per-pixel mean image, which the analysis commands do not apply yet; import it with a per-channel --mean instead`);
  return { inputSizePx: preprocessing.inputSizePx, squarePx: preprocessing.resizePx, resample: preprocessing.resample, normalize: (pixels) => normalizePixels(pixels, preprocessing) };
}
