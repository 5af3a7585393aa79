-- Schema version 3: top-activations passes (run-pipeline top-activations).
--
-- One row in top_activation_runs per pass (or shard of a pass, or merge of
-- shards), next to its row in runs (kind 'top-activations': status, backend,
-- start/end times). A pass commits its heaps, its statistics and its
-- position in one transaction every --commit-every batches, so a killed pass
-- resumes from the last commit and ends with exactly the uninterrupted result.
--
-- Units are numbered from 0 within a layer (layer 1..5 = conv1..conv5).

CREATE TABLE top_activation_runs (
  run_id             TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  pass_key           TEXT NOT NULL,           -- hash of the identity fields below (shards of one pass share it)
  weights            TEXT NOT NULL,           -- checkpoint sha256, or 'random-init:<seed>' for the random-weight baseline
  checkpoint_path    TEXT,                    -- as given on the command line (NULL for random init)
  checkpoint_sha256  TEXT,
  model              TEXT NOT NULL,           -- architecture name
  model_config_json  TEXT NOT NULL,           -- the full ModelConfig
  dataset_root       TEXT NOT NULL,           -- --data as resolved on the machine that ran the pass
  image_root         TEXT NOT NULL,           -- folder the rel_path of top_activations is relative to
  dataset_fingerprint TEXT NOT NULL,          -- hash of the class keys and the split's image count (same tree, same value on any machine)
  split              TEXT NOT NULL,
  preprocessing_json TEXT NOT NULL,           -- resize, centre crop, input size, mean image used
  layers             TEXT NOT NULL,           -- e.g. '1,2,3,4,5'
  top_k              INTEGER NOT NULL,
  shard_index        INTEGER NOT NULL,        -- i of --shard i/N (0 and 1 for an unsharded pass)
  shard_count        INTEGER NOT NULL,
  images_total       INTEGER NOT NULL,        -- images of the split in this shard
  position           INTEGER NOT NULL DEFAULT 0, -- images of the shard's id order consumed and committed
  images_processed   INTEGER NOT NULL DEFAULT 0, -- images seen by the model (position minus skipped)
  images_skipped     INTEGER NOT NULL DEFAULT 0, -- bad images recorded in skipped_items
  commits            INTEGER NOT NULL DEFAULT 0,
  merged_from_json   TEXT                     -- merged runs: [{ store, runId, shard }]
);
CREATE INDEX top_activation_runs_pass ON top_activation_runs(pass_key, shard_count, shard_index);

-- Per unit: the exact sums (BLOBs of little-endian float64 partials whose
-- exact sum is the statistic's sum; see src/topk/exact-sum.ts) and the
-- figures derived from them at every commit.
CREATE TABLE unit_stats (
  run_id          TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  layer           INTEGER NOT NULL,
  unit            INTEGER NOT NULL,
  images_seen     INTEGER NOT NULL,
  firing_count    INTEGER NOT NULL,          -- images whose spatial maximum is above 0
  max_value       REAL,                      -- overall maximum (NULL before any image)
  sum_max         BLOB NOT NULL,             -- exact sum of the per-image maximum
  sum_max_squared BLOB NOT NULL,             -- exact sum of its square
  sum_mean        BLOB NOT NULL,             -- exact sum of the per-image spatial mean
  mean_max        REAL,                      -- mean of the per-image maximum
  std_max         REAL,                      -- its population standard deviation
  mean_activation REAL,                      -- mean over all positions of all images
  firing_rate     REAL,                      -- firing_count / images_seen
  dead            INTEGER NOT NULL,          -- 1 when it never fired
  top_label       INTEGER,                   -- most frequent class among the top-k (NULL if unlabelled)
  class_purity    REAL,                      -- share of the top-k with top_label
  PRIMARY KEY (run_id, layer, unit)
) WITHOUT ROWID;

-- The top-k images of each unit: one entry per image, rank 0 = strongest;
-- ties in value go to the lower image id. (y, x) is the first row-major cell
-- of the unit's rectified conv map holding the image's maximum.
CREATE TABLE top_activations (
  run_id    TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  layer     INTEGER NOT NULL,
  unit      INTEGER NOT NULL,
  rank      INTEGER NOT NULL,
  image_id  INTEGER NOT NULL,                -- images.id (stable across stores)
  value     REAL NOT NULL,
  y         INTEGER NOT NULL,
  x         INTEGER NOT NULL,
  label     INTEGER NOT NULL,                -- classes.label, -1 when unlabelled
  rel_path  TEXT NOT NULL,                   -- relative to top_activation_runs.image_root
  PRIMARY KEY (run_id, layer, unit, rank)
) WITHOUT ROWID;
CREATE INDEX top_activations_image ON top_activations(run_id, image_id);
