-- Schema version 11: what a split's index was built from.
--
-- tree_fingerprint is the sha256 of the split's image files in index order,
-- one "<rel_path>\t<size in bytes>\n" line each: file names and sizes only
-- (one stat per file, no reads), so two machines holding the same tree get
-- the same value. Every open of a ready split recomputes it; a changed tree
-- is re-indexed when no run in the store uses the split's image ids, and
-- refused otherwise (run-pipeline index --reindex). NULL: indexed before
-- version 11 (adopted at the next open when the file count still matches).

ALTER TABLE dataset_splits ADD COLUMN tree_fingerprint TEXT;
