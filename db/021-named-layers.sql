-- Schema version 21: layers by their own names (imported models, issue 12).
--
-- A top-activations run records the layers it analysed: the store's layer
-- number (conv k = k for the project's architectures; an imported model's
-- 1-based position in its graph's layer list), the model's own name
-- (`conv3`, `features.6`, `layer3.1.conv2`), the graph node examined, the map
-- size and the receptive field per axis (rows, cols: jump, offset and side in
-- input pixels). unit_stats and top_activations carry the layer's name too,
-- so a query can say WHERE layer_name = 'layer4.1'.

CREATE TABLE top_activation_layers (
  run_id          TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  layer           INTEGER NOT NULL,
  name            TEXT NOT NULL,
  node            TEXT NOT NULL,          -- graph node whose output is examined (after the nonlinearity for conv layers)
  kind            TEXT NOT NULL,          -- conv, pool, norm, other
  units           INTEGER NOT NULL,
  map_height      INTEGER NOT NULL,
  map_width       INTEGER NOT NULL,
  field_rows_px   INTEGER NOT NULL,       -- receptive field side (rows, cols)
  field_cols_px   INTEGER NOT NULL,
  jump_rows_px    INTEGER NOT NULL,       -- input pixels between neighbouring cells
  jump_cols_px    INTEGER NOT NULL,
  offset_rows_px  INTEGER NOT NULL,       -- first input pixel cell 0 sees (negative: padding)
  offset_cols_px  INTEGER NOT NULL,
  PRIMARY KEY (run_id, layer)
) WITHOUT ROWID;
CREATE UNIQUE INDEX top_activation_layers_name ON top_activation_layers(run_id, name);

ALTER TABLE unit_stats ADD COLUMN layer_name TEXT;
ALTER TABLE top_activations ADD COLUMN layer_name TEXT;
-- Every run before this version analysed the project's own conv layers.
UPDATE unit_stats SET layer_name = 'conv' || layer;
UPDATE top_activations SET layer_name = 'conv' || layer;
