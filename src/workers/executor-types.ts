/**
 * What the forward executor and its engines (single-executor.ts,
 * onnx-executor.ts) share: the executor's interface and where its model comes
 * from. Their own module so that the engines do not import the registry that
 * loads them (forward-executor.ts re-exports them for pipelines).
 */
import type { CheckpointContents } from '../checkpoint/checkpoint-file.js';
import type { LoadedImportedModel } from '../import/imported-model-file.js';
import type { ModelParams } from '../model/params.js';
import type { ModelConfig } from '../model/spec.js';
import type { BatchPixels, ForwardRequest, ForwardResultOf } from './batch-reducers.js';

/** PyTorch-layout weights of a project architecture, with the hash of the file they came from (null: not from a file). */
export type ModelContents = Pick<CheckpointContents, 'config' | 'tensors'> & { sha256: string | null };

/** Where the model comes from: parameters in memory (read, never disposed by the executor) or a checkpoint file. */
export type ModelSource =
  /** sha256: of the checkpoint the params came from, when known (the onnx engine caches its graphs by it). */
  | { kind: 'params'; config: ModelConfig; params: ModelParams; sha256?: string | null }
  | { kind: 'checkpoint'; path: string }
  /**
   * A checkpoint already read (readCheckpointFile, PyTorch layout), or weights a
   * trainer holds (sha256 null: never cached); the onnx engine reads only the tensors its graphs need.
   */
  | { kind: 'contents'; contents: ModelContents }
  /** An imported model (run-pipeline import), loaded; onnx engine only. Pool workers read its file themselves. */
  | { kind: 'imported'; model: LoadedImportedModel };

export interface ForwardExecutor {
  /** 1 for the in-process executor. */
  readonly workerCount: number;
  /** Batches worth keeping in flight. */
  readonly capacity: number;
  /**
   * Runs one batch. A pool transfers `batch.pixels` to its worker (the array is
   * detached afterwards); the in-process executor leaves it alone.
   * @throws RangeError for a request or batch the model cannot take; Error naming worker and batch when a worker fails.
   */
  run<R extends ForwardRequest>(batch: BatchPixels, request: R): Promise<ForwardResultOf<R>>;
  /** Releases workers (and parameters the executor loaded). Call it in `finally`. */
  close(): Promise<void>;
}
