/**
 * What makes two top-activations passes the same computation: weights,
 * model, dataset content, split, preprocessing, layers and k. Shards of one
 * pass share these and differ only in the shard; resume and merge compare them.
 * (Paths and the backend are recorded but are not part of the identity: the
 * same tree mounted elsewhere, or another backend, is the same pass.)
 */
import { createHash } from 'node:crypto';
import type { ModelConfig } from '../model/spec.js';

/** An imported model as a pass records it (model_config_json): which model file, from which source. */
export interface ImportedPassModel {
  imported: { name: string; modelSha256: string; sourceSha256: string; format: string; architecture: string | null; inputSizePx: number };
}

/** The model of a pass: a project architecture's config, or an imported model. */
export type PassModelConfig = ModelConfig | ImportedPassModel;

/** True for a pass over an imported model. */
export function isImportedPassModel(config: PassModelConfig): config is ImportedPassModel {
  return Object.hasOwn(config, 'imported');
}

export interface PassIdentityFields {
  /** Checkpoint (or imported model file) sha256, or `random-init:<seed>`. */
  weights: string;
  model: string;
  modelConfig: PassModelConfig;
  datasetFingerprint: string;
  split: string;
  preprocessing: Record<string, unknown>;
  layers: number[];
  topK: number;
}

/** The identity fields, in the order messages name them. */
export const IDENTITY_FIELDS = ['weights', 'model', 'modelConfig', 'datasetFingerprint', 'split', 'preprocessing', 'layers', 'topK'] as const;

/** JSON with object keys sorted, so equal values always print the same. */
export function stringifyCanonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : v));
}

/** 16 hex digits of the sha256 of the canonical JSON of the identity fields. */
export function computePassKey(identity: PassIdentityFields): string {
  const fields = Object.fromEntries(IDENTITY_FIELDS.map((name) => [name, identity[name]]));
  return createHash('sha256').update(stringifyCanonical(fields)).digest('hex').slice(0, 16);
}

/** The first identity field in which two passes differ, or null when they are the same pass. */
export function findIdentityDifference(a: PassIdentityFields, b: PassIdentityFields): { field: string; a: string; b: string } | null {
  for (const name of IDENTITY_FIELDS) {
    const left = stringifyCanonical(a[name]);
    const right = stringifyCanonical(b[name]);
    if (left !== right) return { field: name, a: left, b: right };
  }
  return null;
}

/**
 * A fingerprint of a dataset split that is the same on every machine holding
 * the same tree: class keys in label order, split name and image count.
 */
export function computeDatasetFingerprint(classKeys: readonly string[], split: string, imageCount: number): string {
  return createHash('sha256').update(stringifyCanonical({ classKeys, split, imageCount })).digest('hex').slice(0, 16);
}

/** A short content hash of a float32 array (e.g. the mean image), for the preprocessing record. */
export function hashFloat32(values: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)).digest('hex').slice(0, 16);
}
