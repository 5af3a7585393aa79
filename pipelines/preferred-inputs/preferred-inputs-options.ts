/**
 * The options and the result of a preferred-inputs run: their own module so
 * that the pipeline (preferred-inputs.ts) and its batches
 * (preferred-inputs-batches.ts) share them without importing each other.
 */
import type { BackendChoice } from '../../src/backend-choice.js';
import type { UnitSelection } from '../../src/mosaic/unit-selection.js';
import type { PreferredSettingsOptions } from '../../src/preferred/preferred-settings.js';
import type { Store } from '../../src/store/open-store.js';
import type { PreferredInputRow } from '../../src/store/preferred-inputs-store.js';

export interface PreferredInputsOptions {
  db: Store;
  /** A top-activations run (default: the newest finished one, unless checkpoint or model is given). */
  runId?: string;
  checkpoint?: string;
  /** An imported model's name, or an architecture for random weights. */
  model?: string;
  /** --layers spec (names, aliases, globs, numbers); default the last conv layer. */
  layers?: string;
  units: UnitSelection;
  seed: number;
  settings: PreferredSettingsOptions;
  backend: BackendChoice;
  /** Worker threads (0: one in-process session); default one per core. */
  workers?: number;
  /** Units per graph run. */
  batchSize: number;
  unitsPerSheet: number;
  columns: number;
  /** Default out/preferred-inputs/<run id>. */
  outDir?: string;
  /** Start over instead of resuming the unfinished run with the same options. */
  force?: boolean;
  log?: (line: string) => void;
  /** Called after each committed batch with the units done by this call (tests). */
  onBatchDone?: (unitsDone: number) => void;
}

export interface PreferredInputsResult {
  runId: string;
  outDir: string;
  resumed: boolean;
  rows: PreferredInputRow[];
  /** Units optimised by this call (the others came from an interrupted call). */
  optimised: number;
  /** Live units (top-1 above zero) and how many reached their top-1 activation; null without a top-activations run. */
  live: number | null;
  reached: number | null;
  sheets: string[];
}
