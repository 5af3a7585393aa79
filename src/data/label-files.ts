/**
 * Parsers for the label and class-name files that come with ILSVRC2012
 * (Kaggle and devkit variants). Pure: text in, maps out; `path` is only used
 * in error messages.
 */
import { UsageError } from '../errors.js';

const WNID_RE = /^n\d{8}$/;

/** Splits text into trimmed, non-empty lines with their 1-based line numbers. */
function readLines(text: string): Array<{ line: string; lineNo: number }> {
  return text.split(/\r?\n/).map((line, i) => ({ line: line.trim(), lineNo: i + 1 })).filter((l) => l.line !== '');
}

/**
 * Parses `LOC_synset_mapping.txt` ("n01440764 tench, Tinca tinca") or
 * `words.txt` ("n00001740<TAB>entity"): key -> readable name, in file order.
 * @throws UsageError naming the file and line when a line has no key.
 */
export function parseSynsetNames(text: string, path: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const { line, lineNo } of readLines(text)) {
    const m = /^(\S+)\s*(.*)$/.exec(line);
    if (m === null) throw new UsageError(`${path}:${lineNo}: expected "<wnid> <name>" but found ${JSON.stringify(line)}`);
    names.set(m[1]!, m[2]!.trim() || m[1]!);
  }
  return names;
}

/**
 * Parses Kaggle's `LOC_val_solution.csv` (header `ImageId,PredictionString`;
 * rows `ILSVRC2012_val_00008726,n02119789 255 142 454 329 ...`): image stem ->
 * wnid (the first box's class; every box of an ILSVRC2012 val image has the same class).
 * @throws UsageError naming the file and line when a row is malformed.
 */
export function parseValSolutionCsv(text: string, path: string): Map<string, string> {
  const labels = new Map<string, string>();
  for (const { line, lineNo } of readLines(text)) {
    if (lineNo === 1 && /^ImageId\s*,/i.test(line)) continue;
    const m = /^([^,\s]+)\s*,\s*(\S+)/.exec(line);
    if (m === null || !WNID_RE.test(m[2]!)) {
      throw new UsageError(`${path}:${lineNo}: expected "ImageId,<wnid> <box>..." but found ${JSON.stringify(line.slice(0, 80))}`);
    }
    labels.set(m[1]!, m[2]!);
  }
  return labels;
}

/**
 * Parses the devkit's `ILSVRC2012_validation_ground_truth.txt`: line i holds
 * the ILSVRC2012_ID (1..1000) of `ILSVRC2012_val_<i, 8 digits>`.
 * @throws UsageError naming the file and line when a line is not a positive integer.
 */
export function parseGroundTruth(text: string, path: string): number[] {
  return readLines(text).map(({ line, lineNo }) => {
    if (!/^\d+$/.test(line) || Number(line) < 1) throw new UsageError(`${path}:${lineNo}: expected a positive ILSVRC2012_ID but found ${JSON.stringify(line)}`);
    return Number(line);
  });
}

/**
 * Parses a plain-text export of the devkit's `meta.mat` id-to-wnid table.
 * Accepted line forms: `<ILSVRC2012_ID> <wnid> [words...]` or `<wnid> [words...]`
 * (then the id is the line number).
 * @throws UsageError naming the file and line when a line has no wnid.
 */
export function parseIdToWnid(text: string, path: string): Map<number, string> {
  const table = new Map<number, string>();
  readLines(text).forEach(({ line, lineNo }, index) => {
    const tokens = line.split(/[\s,]+/);
    const withId = /^\d+$/.test(tokens[0]!) && WNID_RE.test(tokens[1] ?? '');
    const wnid = withId ? tokens[1]! : tokens[0]!;
    if (!WNID_RE.test(wnid)) throw new UsageError(`${path}:${lineNo}: expected "<ILSVRC2012_ID> <wnid>" or "<wnid>" but found ${JSON.stringify(line.slice(0, 80))}`);
    table.set(withId ? Number(tokens[0]) : index + 1, wnid);
  });
  return table;
}

/** The number in an ILSVRC2012 val file name (`ILSVRC2012_val_00000042.JPEG` -> 42), or null. */
export function parseValImageNumber(fileName: string): number | null {
  const m = /_val_(\d+)\./i.exec(fileName);
  return m === null ? null : Number(m[1]);
}

/** A file name without its last extension. */
export function stripExtension(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  return dot > 0 ? fileName.slice(0, dot) : fileName;
}
