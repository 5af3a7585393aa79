-- Schema version 7: the explorer's cache (run-pipeline serve).
--
-- The server reads every other table and writes only this one: one row per
-- thing it rendered on demand for a top-activations run, naming the files it
-- wrote under out/serve/<run>/ and the numbers it measured. A failed render
-- keeps its one-line reason, so the page can say why; asking again retries.
--   kind projections: target 'LAYER:UNIT', the deconvnet projections of the unit's top-k
--   kind occlusion:   target image id, the occlusion map of the image (Fig. 7 (d) or (b))
--   kind activations: target image id, the image's strongest units per layer

CREATE TABLE serve_renders (
  kind        TEXT NOT NULL CHECK (kind IN ('projections', 'occlusion', 'activations')),
  run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  target      TEXT NOT NULL,
  engine      TEXT NOT NULL,                 -- the renderer and backend that made it, e.g. 'tfjs wasm'
  status      TEXT NOT NULL CHECK (status IN ('done', 'failed')),
  files_json  TEXT NOT NULL DEFAULT '{}',    -- { name: path } of the files it wrote
  result_json TEXT,                          -- what it measured (JSON), NULL when it failed
  error       TEXT,                          -- one line, when it failed
  elapsed_ms  REAL NOT NULL,
  rendered_at TEXT NOT NULL,                 -- ISO 8601
  PRIMARY KEY (kind, run_id, target)
) WITHOUT ROWID;
