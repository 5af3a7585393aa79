/**
 * Preferred inputs in the store (db/030-preferred-inputs.sql): one row per
 * optimised unit, written in the transaction that finishes its batch, and
 * what the report, mosaics and serve read back. Statements prepared once
 * per handle.
 */
import type { Store } from './open-store.js';
import { listRuns, type RunRecord } from './runs.js';

export const PREFERRED_INPUTS_KIND = 'preferred-inputs';

export interface PreferredInputRow {
  layer: number;
  layerName: string;
  unit: number;
  objective: 'centre' | 'mean';
  objectiveNode: string;
  startObjective: number;
  finalObjective: number;
  activation: number;
  activationMean: number;
  top1ImageId: number | null;
  top1Stored: number | null;
  top1Activation: number | null;
  ratio: number | null;
  reached: boolean | null;
  steps: number;
  seed: number;
  png: string;
  fieldPng: string | null;
  npy: string;
  /** The objective at each step's moved view. */
  history: number[];
  elapsedMs: number;
}

interface Row {
  layer: number; layer_name: string; unit: number; objective: 'centre' | 'mean'; objective_node: string; start_objective: number; final_objective: number;
  activation: number; activation_mean: number; top1_image_id: number | null; top1_stored: number | null; top1_activation: number | null; ratio: number | null;
  reached: number | null; steps: number; seed: number; png: string; field_png: string | null; npy: string; history_json: string; elapsed_ms: number;
}

function fromRow(r: Row): PreferredInputRow {
  return {
    layer: r.layer, layerName: r.layer_name, unit: r.unit, objective: r.objective, objectiveNode: r.objective_node, startObjective: r.start_objective,
    finalObjective: r.final_objective, activation: r.activation, activationMean: r.activation_mean, top1ImageId: r.top1_image_id, top1Stored: r.top1_stored,
    top1Activation: r.top1_activation, ratio: r.ratio, reached: r.reached === null ? null : r.reached === 1, steps: r.steps, seed: r.seed, png: r.png,
    fieldPng: r.field_png, npy: r.npy, history: JSON.parse(r.history_json) as number[], elapsedMs: r.elapsed_ms,
  };
}

/** Binds the table's statements to a store handle. */
export function createPreferredInputsStore(db: Store) {
  const insert = db.prepare(`INSERT OR REPLACE INTO preferred_inputs (run_id, layer, layer_name, unit, objective, objective_node, start_objective, final_objective,
      activation, activation_mean, top1_image_id, top1_stored, top1_activation, ratio, reached, steps, seed, png, field_png, npy, history_json, elapsed_ms)
    VALUES (@runId, @layer, @layerName, @unit, @objective, @objectiveNode, @startObjective, @finalObjective, @activation, @activationMean, @top1ImageId,
      @top1Stored, @top1Activation, @ratio, @reached, @steps, @seed, @png, @fieldPng, @npy, @history, @elapsedMs)`);
  const units = db.prepare('SELECT unit FROM preferred_inputs WHERE run_id = ? AND layer = ? ORDER BY unit').pluck();
  const rows = db.prepare('SELECT * FROM preferred_inputs WHERE run_id = ? ORDER BY layer, unit');
  const one = db.prepare('SELECT * FROM preferred_inputs WHERE run_id = ? AND layer = ? AND unit = ?');
  return {
    /** Writes the units of a finished batch (call inside the run's commit transaction). */
    insert(runId: string, row: PreferredInputRow): void {
      insert.run({ ...row, runId, reached: row.reached === null ? null : row.reached ? 1 : 0, history: JSON.stringify(row.history) });
    },
    /** The units of `layer` a run has finished. */
    doneUnits(runId: string, layer: number): Set<number> {
      return new Set(units.all(runId, layer) as number[]);
    },
    /** Every row of a run, by layer and unit. */
    list(runId: string): PreferredInputRow[] {
      return (rows.all(runId) as Row[]).map(fromRow);
    },
    get(runId: string, layer: number, unit: number): PreferredInputRow | undefined {
      const row = one.get(runId, layer, unit) as Row | undefined;
      return row === undefined ? undefined : fromRow(row);
    },
  };
}

export type PreferredInputsStore = ReturnType<typeof createPreferredInputsStore>;

/** The finished preferred-inputs runs over a top-activations run, newest first. */
export function listPreferredRunsOf(db: Store, topActivationsRunId: string): RunRecord[] {
  return listRuns(db, PREFERRED_INPUTS_KIND).filter((r) => r.status === 'finished' && (r.options['source'] as { run?: unknown } | undefined)?.run === topActivationsRunId);
}

/** A unit's preferred input with the run that made it. */
export interface PreferredInputOf extends PreferredInputRow {
  runId: string;
}

/**
 * The preferred inputs of one layer of a top-activations run, by unit: from the
 * newest finished preferred-inputs run over it that optimised the unit.
 */
export function findPreferredInputs(db: Store, topActivationsRunId: string, layer: number): Map<number, PreferredInputOf> {
  const found = new Map<number, PreferredInputOf>();
  const store = createPreferredInputsStore(db);
  for (const run of listPreferredRunsOf(db, topActivationsRunId)) {
    for (const row of store.list(run.id)) if (row.layer === layer && !found.has(row.unit)) found.set(row.unit, { ...row, runId: run.id });
  }
  return found;
}
