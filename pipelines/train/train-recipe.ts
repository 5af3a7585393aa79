/**
 * The recipe of a training run (everything that decides its result, recorded
 * with the run and reused by --resume) and the pipeline's options. Their own
 * module so that the pipeline's parts (train.ts, train-start.ts,
 * train-epoch-end.ts) share them without importing each other.
 */
import type { BackendChoice } from '../../src/backend/select-backend.js';
import type { Store } from '../../src/store/open-store.js';
import type { InitScheme } from '../../src/train/init-scale.js';
import type { LrScheduleKind } from '../../src/train/lr-schedule.js';

/** Everything that decides the result of a run; recorded with the run and reused by --resume. */
export interface TrainRecipe {
  model: string;
  /** Absolute dataset root; null: the built-in sample dataset. */
  data: string | null;
  seed: number;
  /** paper: N(0, 0.01^2); scaled: fan-in scaled (see init-scale.ts). */
  init: InitScheme;
  epochs: number;
  batchSize: number;
  /** Images per forward/backward pass; null: chosen for the backend (see micro-batch.ts). */
  microBatch: number | null;
  learningRate: number;
  momentum: number;
  weightDecay: number;
  dropout: number;
  filterRadius: number;
  lrSchedule: LrScheduleKind;
  patience: number;
  stepEpochs: number;
  lrFactor: number;
  /** paper: one of the paper's 10 crops per image and epoch; random: any position, random flip; centre: the centre crop, no flip (a step reproducible in other tools). */
  crop: 'paper' | 'random' | 'centre';
  /**
   * A new run that starts from a checkpoint's weights (fresh momentum);
   * null: from the recipe's init. Absent in runs recorded before.
   */
  from?: { path: string; sha256: string; model: string } | null;
  /** Training images per epoch at most (quick runs); null: all. */
  limit: number | null;
  /** Validation split; null: no validation. */
  valSplit: string | null;
  valLimit: number | null;
  keepEpochs: number[];
  keepAll: boolean;
  /** Absolute output root; the run writes out/runs/<run>/. */
  outDir: string;
  /**
   * Provenance only: the recipe options that took the architecture's defaults
   * (src/train/recipe-defaults.ts), as flags ('' when all were given); absent in runs recorded before.
   */
  recipeDefaults?: { source: string; flags: string } | null;
}


export interface TrainPipelineOptions {
  db: Store;
  backend: BackendChoice;
  /** A new run's recipe; ignored when resuming. */
  recipe?: TrainRecipe;
  /** Run id to continue from its newest checkpoint. */
  resume?: string;
  /** Recipe fields given again with --resume: only `epochs` may differ from the recorded run. */
  resumeOverrides?: Partial<TrainRecipe>;
  decodeConcurrency?: number;
  strict?: boolean;
  /** Aborting stops after the current step and saves. */
  signal?: AbortSignal;
  /** Called after every SGD step (progress hooks, tests). */
  onStep?: (info: { epoch: number; step: number; loss: number }) => void;
  log?: (line: string) => void;
}
