-- Schema version 2: datasets, their classes and images, and mean images.
--
-- Image ids are stable across runs and across stores: an image's id is
--   split_ordinal * 100000000 + (its position in the split's sorted order)
-- where the sorted order is class folder name, then file name (byte order of
-- the UTF-16 names as JavaScript sorts them), and split_ordinal is 1 for
-- train, 2 for val, 3 for test, 10 + k for the k-th other split name in sorted
-- order. Two machines that index the same tree get the same ids.

CREATE TABLE datasets (
  id          INTEGER PRIMARY KEY,
  root        TEXT NOT NULL UNIQUE,         -- absolute path of the dataset root given to --data
  image_root  TEXT NOT NULL,                -- folder holding the split folders (root, or root/ILSVRC/Data/CLS-LOC)
  class_source TEXT NOT NULL,               -- file or folder the class list came from
  created_at  TEXT NOT NULL
);

CREATE TABLE classes (
  dataset_id  INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  label       INTEGER NOT NULL,             -- index in sorted class-key order (logit index)
  class_key   TEXT NOT NULL,                -- WordNet id (n01440764) or folder name
  name        TEXT NOT NULL,                -- readable name (from LOC_synset_mapping.txt / words.txt) or the key
  PRIMARY KEY (dataset_id, label),
  UNIQUE (dataset_id, class_key)
);

CREATE TABLE dataset_splits (
  dataset_id   INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  split        TEXT NOT NULL,
  ordinal      INTEGER NOT NULL,
  layout       TEXT NOT NULL CHECK (layout IN ('folders', 'flat')),
  label_source TEXT,                        -- folders | LOC_val_solution.csv | ILSVRC2012_validation_ground_truth.txt | NULL (unlabelled)
  status       TEXT NOT NULL CHECK (status IN ('indexing', 'ready')),
  image_count  INTEGER NOT NULL DEFAULT 0,
  indexed_at   TEXT,
  PRIMARY KEY (dataset_id, split)
);

CREATE TABLE images (
  dataset_id  INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  id          INTEGER NOT NULL,             -- stable id, see above
  split       TEXT NOT NULL,
  rel_path    TEXT NOT NULL,                -- relative to the dataset's image_root, '/' separated
  label       INTEGER,                      -- classes.label; NULL for an unlabelled split
  PRIMARY KEY (dataset_id, id)
) WITHOUT ROWID;
CREATE INDEX images_split ON images(dataset_id, split, id);

CREATE TABLE mean_images (
  dataset_id   INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  split        TEXT NOT NULL,
  size_px      INTEGER NOT NULL,            -- side of the square the mean is over (round(S * 256 / 224))
  status       TEXT NOT NULL CHECK (status IN ('partial', 'complete')),
  position     INTEGER NOT NULL,            -- images of the split's sorted order consumed so far
  image_count  INTEGER NOT NULL,            -- images summed so far (position minus skipped)
  sum_f64      BLOB,                        -- running per-pixel sum, float64 [size, size, 3], while partial
  mean_f32     BLOB,                        -- per-pixel mean, float32 [size, size, 3] (0..255 scale), when complete
  updated_at   TEXT NOT NULL,
  PRIMARY KEY (dataset_id, split, size_px)
);
