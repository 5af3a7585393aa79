-- Schema version 5: the numbers behind the paper's experiment figures
-- (occlusion Fig. 7, invariance Fig. 5, feature evolution Fig. 4,
-- architecture comparison Fig. 6, correspondence Table 1). Every row belongs
-- to a run (runs.id, kind occlusion | invariance | evolution | compare |
-- correspondence); an image is named by image_key: its stable image id as
-- text, or the file path for an image given by path.

CREATE TABLE occlusion_images (
  run_id          TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  image_key       TEXT NOT NULL,
  image_id        INTEGER,                  -- images.id, NULL for --image PATH
  path            TEXT NOT NULL,
  label           INTEGER,                  -- logit index of the true class, NULL when unknown
  layer           TEXT NOT NULL,            -- conv5 (the paper's layer 5)
  unit            INTEGER NOT NULL,         -- feature map strongest on the unoccluded image
  unit_y          INTEGER NOT NULL,         -- its strongest cell
  unit_x          INTEGER NOT NULL,
  unit_activation REAL NOT NULL,
  unit_sum        REAL NOT NULL,            -- summed activation of that map, unoccluded
  true_prob       REAL,                     -- unoccluded p(true class)
  top_class       INTEGER NOT NULL,         -- unoccluded most probable class
  top_prob        REAL NOT NULL,
  size_px         INTEGER NOT NULL,
  stride_px       INTEGER NOT NULL,
  fill            TEXT NOT NULL,
  rows            INTEGER NOT NULL,
  cols            INTEGER NOT NULL,
  PRIMARY KEY (run_id, image_key)
);

CREATE TABLE occlusion_cells (
  run_id      TEXT NOT NULL,
  image_key   TEXT NOT NULL,
  row         INTEGER NOT NULL,
  col         INTEGER NOT NULL,
  x_px        INTEGER NOT NULL,             -- occluder rectangle in input pixels
  y_px        INTEGER NOT NULL,
  width_px    INTEGER NOT NULL,
  height_px   INTEGER NOT NULL,
  feature_sum REAL NOT NULL,                -- (b) summed activation of the unit's map
  true_prob   REAL,                         -- (d) p(true class), NULL when the label is unknown
  top_class   INTEGER NOT NULL,             -- (e) most probable class
  top_prob    REAL NOT NULL,
  PRIMARY KEY (run_id, image_key, row, col),
  FOREIGN KEY (run_id, image_key) REFERENCES occlusion_images(run_id, image_key) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE invariance_measures (
  run_id            TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  image_key         TEXT NOT NULL,
  image_id          INTEGER,
  path              TEXT NOT NULL,
  label             INTEGER,
  transform         TEXT NOT NULL CHECK (transform IN ('translate', 'scale', 'rotate')),
  amount            REAL NOT NULL,          -- px (down positive), factor, or degrees clockwise
  layer1_distance   REAL NOT NULL,          -- ||x - x'|| of the conv1 tap
  layer1_normalised REAL NOT NULL,          -- divided by ||x||
  layer7_distance   REAL NOT NULL,          -- same for fc7
  layer7_normalised REAL NOT NULL,
  true_prob         REAL,
  top_class         INTEGER NOT NULL,
  PRIMARY KEY (run_id, image_key, transform, amount)
);

CREATE TABLE correspondence_pairs (
  run_id    TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  part      TEXT NOT NULL,                  -- part name from the mask file, or 'random'
  draw      INTEGER NOT NULL,               -- 0 for a named part; 1.. for the random draws
  layer     TEXT NOT NULL,                  -- conv5 | fc7
  image_i   INTEGER NOT NULL,               -- positions in the mask file, i < j
  image_j   INTEGER NOT NULL,
  hamming   REAL NOT NULL,                  -- H(sign e_i, sign e_j) / length
  PRIMARY KEY (run_id, part, draw, layer, image_i, image_j)
) WITHOUT ROWID;

CREATE TABLE correspondence_summary (
  run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  part       TEXT NOT NULL,
  layer      TEXT NOT NULL,
  delta_sum  REAL NOT NULL,                 -- the paper's D_l = sum over i != j (mean over draws for random)
  delta_mean REAL NOT NULL,                 -- over all pairs (and draws): the scale of Table 1
  delta_std  REAL NOT NULL,                 -- spread over pairs (and draws)
  pairs      INTEGER NOT NULL,
  PRIMARY KEY (run_id, part, layer)
);

CREATE TABLE filter_stats (
  run_id            TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  checkpoint        TEXT NOT NULL,          -- A | B (order on the command line)
  checkpoint_path   TEXT NOT NULL,
  checkpoint_sha256 TEXT NOT NULL,
  model             TEXT NOT NULL,
  filter            INTEGER NOT NULL,       -- conv1 unit
  rms               REAL NOT NULL,
  dead              INTEGER NOT NULL CHECK (dead IN (0, 1)),
  band_low          REAL NOT NULL,          -- fractions of the filter's DFT energy
  band_mid          REAL NOT NULL,
  band_high         REAL NOT NULL,
  PRIMARY KEY (run_id, checkpoint, filter)
);

CREATE TABLE evolution_entries (
  run_id            TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  epoch             INTEGER NOT NULL,
  checkpoint_sha256 TEXT NOT NULL,
  layer             TEXT NOT NULL,
  unit              INTEGER NOT NULL,
  image_id          INTEGER NOT NULL,        -- image with the strongest activation (lower id on ties)
  activation        REAL NOT NULL,
  y                 INTEGER NOT NULL,
  x                 INTEGER NOT NULL,
  PRIMARY KEY (run_id, epoch, layer, unit)
);
