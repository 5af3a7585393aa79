-- Schema version 4: training metrics per epoch, evaluations and their per-class errors.
-- Rows are written after the checkpoint they describe is on disk, so a row
-- never points at a file that was not written; a crash between the two is
-- repaired on resume from the metrics saved inside the checkpoint.

CREATE TABLE train_epochs (
  run_id            TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  epoch             INTEGER NOT NULL,        -- 1-based
  steps             INTEGER NOT NULL,        -- SGD steps in this epoch
  train_images      INTEGER NOT NULL,
  train_loss        REAL,                    -- mean softmax cross-entropy over the epoch (with dropout)
  train_top1_error  REAL,                    -- fraction 0..1, on the training crops as trained
  train_top5_error  REAL,
  val_images        INTEGER,
  val_loss          REAL,
  val_top1_error    REAL,                    -- fraction 0..1, centre crop, no dropout
  val_top5_error    REAL,
  learning_rate     REAL NOT NULL,           -- rate used during this epoch
  images_per_s      REAL,                    -- training images per second (forward + backward + update)
  wall_s            REAL,                    -- seconds of the epoch, training and validation
  checkpoint_path   TEXT,                    -- epoch-NNNN.safetensors (optimizer state beside it)
  checkpoint_kept   INTEGER NOT NULL DEFAULT 1, -- 0 once the retention policy deleted the files
  completed_at      TEXT NOT NULL,
  PRIMARY KEY (run_id, epoch)
);

CREATE TABLE evaluations (
  id                INTEGER PRIMARY KEY,
  run_id            TEXT REFERENCES runs(id) ON DELETE CASCADE,  -- the evaluate run
  checkpoint_path   TEXT NOT NULL,
  checkpoint_sha256 TEXT,
  model             TEXT NOT NULL,
  split             TEXT NOT NULL,
  ten_crop          INTEGER NOT NULL,        -- 1: probabilities averaged over the 10 crops
  images            INTEGER NOT NULL,
  loss              REAL,
  top1_error        REAL NOT NULL,
  top5_error        REAL NOT NULL,
  created_at        TEXT NOT NULL
);
CREATE INDEX evaluations_checkpoint ON evaluations(checkpoint_path, split);

CREATE TABLE evaluation_class_errors (
  evaluation_id     INTEGER NOT NULL REFERENCES evaluations(id) ON DELETE CASCADE,
  label             INTEGER NOT NULL,
  class_key         TEXT,
  images            INTEGER NOT NULL,
  top1_error        REAL NOT NULL,
  top5_error        REAL NOT NULL,
  PRIMARY KEY (evaluation_id, label)
);
