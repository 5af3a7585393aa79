-- Schema version 10: resumable feature-evolution passes (run-pipeline evolution).
--
-- One row per (evolution run, kept epoch checkpoint): the pass over the split
-- commits its position, its counters and the strongest activation found so
-- far per chosen unit every --commit-every batches, together with the bad
-- images it skipped, so a killed pass resumes from its last commit and ends
-- with exactly the uninterrupted result. When an epoch's pass ends, its
-- evolution_entries rows and status 'finished' are written in one transaction.
-- (Version numbers 8 and 9 are left to work merged at the same time.)

CREATE TABLE evolution_passes (
  run_id            TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  epoch             INTEGER NOT NULL,
  checkpoint_sha256 TEXT NOT NULL,          -- the checkpoint this pass reads; a resume refuses another
  status            TEXT NOT NULL CHECK (status IN ('running', 'finished')),
  images_total      INTEGER NOT NULL,       -- images of the split (or --limit) the pass visits
  position          INTEGER NOT NULL,       -- images of the sorted id order consumed and committed
  images_processed  INTEGER NOT NULL,       -- images seen by the model (position minus skipped)
  images_skipped    INTEGER NOT NULL,       -- bad images recorded in skipped_items
  commits           INTEGER NOT NULL,
  best_json         TEXT NOT NULL,          -- { "conv2": [{ unit, value, imageId, y, x }], ... }; value null before any image
  updated_at        TEXT NOT NULL,
  PRIMARY KEY (run_id, epoch)
);
