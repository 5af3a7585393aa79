-- Schema version 20: models brought in with `run-pipeline import` (ONNX files,
-- torchvision state_dicts, the project's checkpoints). The converted model
-- lives in model_path (safetensors with the graph and preprocessing in its
-- metadata); the source file is identified by its SHA-256.

CREATE TABLE imported_models (
  name               TEXT PRIMARY KEY,      -- what commands call it (--model NAME)
  format             TEXT NOT NULL CHECK (format IN ('onnx', 'torchvision-state-dict', 'project-checkpoint')),
  architecture       TEXT,                  -- torchvision / project architecture name; NULL for ONNX
  source_path        TEXT NOT NULL,
  source_sha256      TEXT NOT NULL,
  model_path         TEXT NOT NULL,         -- the converted file under out/models/
  model_sha256       TEXT NOT NULL,
  input_size_px      INTEGER NOT NULL,
  preprocessing_json TEXT NOT NULL,         -- src/import/preprocessing.ts Preprocessing
  layers_json        TEXT NOT NULL,         -- [{name, kind, units, receptiveFieldPx}] as info lists them
  class_labels_json  TEXT,                  -- class names in logit order, when given
  imported_at        TEXT NOT NULL          -- ISO 8601
);
CREATE INDEX imported_models_source ON imported_models(source_sha256);
