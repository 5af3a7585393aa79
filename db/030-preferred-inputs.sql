-- Schema version 30: preferred inputs (issue 23), the image each unit wants,
-- found by gradient ascent on the unit's activation (run-pipeline
-- preferred-inputs; kind 'preferred-inputs' in runs, whose options_json
-- holds the source, layers, units, seed and the optimisation settings).
--
-- One row per optimised unit, written in the transaction that finishes its
-- batch (a resumed run skips the units it finds here). The activations are
-- measured after the unit's ReLU by one forward graph (the top-activations
-- graph's reductions) for the optimised image and for the unit's top-1
-- dataset image alike; an image's activation of a unit is its spatial
-- maximum, as top-activations ranks them.

CREATE TABLE preferred_inputs (
  run_id          TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  layer           INTEGER NOT NULL,        -- the store's layer number (top_activation_layers.layer)
  layer_name      TEXT NOT NULL,           -- the model's own name (conv5, features.10)
  unit            INTEGER NOT NULL,
  objective       TEXT NOT NULL CHECK (objective IN ('centre', 'mean')),
  objective_node  TEXT NOT NULL,           -- graph node optimised (before the ReLU unless the run said otherwise)
  start_objective REAL NOT NULL,           -- the objective of the starting image (unmoved view)
  final_objective REAL NOT NULL,           -- the objective of the optimised image (unmoved view)
  activation      REAL NOT NULL,           -- the optimised image's spatial maximum of the unit, after the ReLU
  activation_mean REAL NOT NULL,           -- its spatial mean
  top1_image_id   INTEGER,                 -- the unit's top-1 dataset image (NULL: no top-activations run)
  top1_stored     REAL,                    -- its value as the top-activations run stored it
  top1_activation REAL,                    -- the same image through this run's forward graph
  ratio           REAL,                    -- activation / top1_activation (NULL: no top-1, or a dead unit)
  reached         INTEGER CHECK (reached IN (0, 1)), -- ratio >= 1
  steps           INTEGER NOT NULL,
  seed            INTEGER NOT NULL,        -- the unit's own stream
  png             TEXT NOT NULL,           -- the image, RGB as the model saw it (preprocessing undone); paths as the
  field_png       TEXT,                    -- the centre cell's receptive field of it (centre objective)   output folder was given
  npy             TEXT NOT NULL,           -- float32 [S, S, 3] model input (its scale and channel order)  (working directory or absolute)
  history_json    TEXT NOT NULL,           -- the objective at each step's moved view
  elapsed_ms      REAL NOT NULL,           -- the batch's time, shared by its units
  PRIMARY KEY (run_id, layer, unit)
) WITHOUT ROWID;

-- serve renders a unit's preferred input on demand (kind 'preferred', target
-- 'LAYER:UNIT'): the cache table's kinds grow by one. SQLite cannot alter a
-- CHECK constraint, so the table is copied into one with the wider check.
CREATE TABLE serve_renders_030 (
  kind        TEXT NOT NULL CHECK (kind IN ('projections', 'occlusion', 'activations', 'preferred')),
  run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  target      TEXT NOT NULL,
  engine      TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('done', 'failed')),
  files_json  TEXT NOT NULL DEFAULT '{}',
  result_json TEXT,
  error       TEXT,
  elapsed_ms  REAL NOT NULL,
  rendered_at TEXT NOT NULL,
  PRIMARY KEY (kind, run_id, target)
) WITHOUT ROWID;
INSERT INTO serve_renders_030 SELECT kind, run_id, target, engine, status, files_json, result_json, error, elapsed_ms, rendered_at FROM serve_renders;
DROP TABLE serve_renders;
ALTER TABLE serve_renders_030 RENAME TO serve_renders;
