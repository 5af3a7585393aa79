-- Schema version 1: runs of any command and the bad data items they skipped.
-- Each later feature adds its own numbered file; src/store/open-store.ts
-- applies the files in order and records each in schema_migrations.

CREATE TABLE runs (
  id            TEXT PRIMARY KEY,          -- e.g. train-20261128-153000-zfnet-small
  kind          TEXT NOT NULL,             -- train | top-activations | evaluate | mean | ...
  status        TEXT NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'interrupted', 'finished', 'failed')),
  model         TEXT,                      -- architecture name
  backend       TEXT,                      -- tensorflow | wasm | cpu
  backend_info  TEXT,                      -- JSON: { gpu: bool, threads: n, ... }
  options_json  TEXT NOT NULL DEFAULT '{}',-- validated options the run was started with
  started_at    TEXT NOT NULL,             -- ISO 8601
  updated_at    TEXT NOT NULL,
  finished_at   TEXT
);
CREATE INDEX runs_kind ON runs(kind, started_at);

CREATE TABLE skipped_items (
  id          INTEGER PRIMARY KEY,
  run_id      TEXT REFERENCES runs(id) ON DELETE CASCADE,
  path        TEXT NOT NULL,
  stage       TEXT NOT NULL,               -- read | decode | ...
  reason      TEXT NOT NULL,
  recorded_at TEXT NOT NULL
);
CREATE INDEX skipped_items_run ON skipped_items(run_id);
