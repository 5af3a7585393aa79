/**
 * The k strongest images of every unit of one layer, kept as flat typed
 * arrays (unit u's entries live at u * k .. u * k + count[u] - 1, best first).
 *
 * Order (project choice, zfnet-paper.md): value descending, then lower image
 * id first. With one entry per image per unit the order is total, so the kept
 * set is the top k of everything offered whatever the order of the offers:
 * merging shards gives exactly the top k of one pass. NaN never enters (the
 * pipeline refuses non-finite activations before they get here).
 */

export interface TopKEntry {
  value: number;
  imageId: number;
  /** Position of the spatial maximum in the unit's map (row-major first). */
  y: number;
  x: number;
  /** Class label of the image (-1 when the split is unlabelled). */
  label: number;
  path: string;
}

export interface UnitTopK {
  readonly k: number;
  readonly numUnits: number;
  /** [numUnits] entries held per unit (0..k). */
  readonly counts: Uint8Array;
  /** [numUnits * k] */
  readonly values: Float64Array;
  readonly imageIds: Float64Array;
  readonly ys: Int32Array;
  readonly xs: Int32Array;
  readonly labels: Int32Array;
  readonly paths: string[];
  /** [numUnits] 1 where the unit's entries changed since the last clearDirty. */
  readonly dirty: Uint8Array;
}

/**
 * An empty top-k for `numUnits` units.
 * @throws RangeError when k is not an integer in 1..255 or numUnits is negative.
 */
export function createUnitTopK(numUnits: number, k: number): UnitTopK {
  if (!Number.isInteger(k) || k < 1 || k > 255) throw new RangeError(`Expected integer between 1 and 255 for k but received ${k}`);
  if (!Number.isInteger(numUnits) || numUnits < 0) throw new RangeError(`Expected non-negative integer for numUnits but received ${numUnits}`);
  const size = numUnits * k;
  return {
    k, numUnits,
    counts: new Uint8Array(numUnits),
    values: new Float64Array(size),
    imageIds: new Float64Array(size),
    ys: new Int32Array(size),
    xs: new Int32Array(size),
    labels: new Int32Array(size),
    paths: new Array<string>(size).fill(''),
    dirty: new Uint8Array(numUnits),
  };
}

/** True when (valueA, idA) ranks before (valueB, idB): higher value, then lower image id. */
export function ranksBefore(valueA: number, idA: number, valueB: number, idB: number): boolean {
  return valueA > valueB || (valueA === valueB && idA < idB);
}

/**
 * True when an entry with this value and id would enter the unit's list: the
 * cheap threshold check that lets most offers return at once.
 */
export function wouldEnter(topk: UnitTopK, unit: number, value: number, imageId: number): boolean {
  const count = topk.counts[unit]!;
  if (count < topk.k) return value === value; // any number, not NaN
  const last = unit * topk.k + count - 1;
  return ranksBefore(value, imageId, topk.values[last]!, topk.imageIds[last]!);
}

function copySlot(topk: UnitTopK, from: number, to: number): void {
  topk.values[to] = topk.values[from]!;
  topk.imageIds[to] = topk.imageIds[from]!;
  topk.ys[to] = topk.ys[from]!;
  topk.xs[to] = topk.xs[from]!;
  topk.labels[to] = topk.labels[from]!;
  topk.paths[to] = topk.paths[from]!;
}

/**
 * Offers one image's entry for a unit; keeps it when it ranks among the k
 * best. Returns whether it was kept. Precondition: this image was not offered
 * to this unit before (one entry per image per unit).
 */
export function offerEntry(topk: UnitTopK, unit: number, entry: TopKEntry): boolean {
  if (!wouldEnter(topk, unit, entry.value, entry.imageId)) return false;
  const base = unit * topk.k;
  const count = topk.counts[unit]!;
  let slot = count < topk.k ? count : topk.k - 1; // a full list drops its last entry
  while (slot > 0 && ranksBefore(entry.value, entry.imageId, topk.values[base + slot - 1]!, topk.imageIds[base + slot - 1]!)) {
    copySlot(topk, base + slot - 1, base + slot);
    slot -= 1;
  }
  writeSlot(topk, base + slot, entry);
  if (count < topk.k) topk.counts[unit] = count + 1;
  topk.dirty[unit] = 1;
  return true;
}

function writeSlot(topk: UnitTopK, at: number, entry: TopKEntry): void {
  topk.values[at] = entry.value;
  topk.imageIds[at] = entry.imageId;
  topk.ys[at] = entry.y;
  topk.xs[at] = entry.x;
  topk.labels[at] = entry.label;
  topk.paths[at] = entry.path;
}

/**
 * Appends a stored entry after the unit's current ones, without comparing
 * (restoring a committed list that is already in rank order). Leaves the unit clean.
 * @throws RangeError when the unit's list is already full.
 */
export function restoreEntry(topk: UnitTopK, unit: number, entry: TopKEntry): void {
  const count = topk.counts[unit]!;
  if (count >= topk.k) throw new RangeError(`Unit ${unit} already holds ${topk.k} entries`);
  writeSlot(topk, unit * topk.k + count, entry);
  topk.counts[unit] = count + 1;
}

/** The unit's entries, best first (copies). */
export function readUnitEntries(topk: UnitTopK, unit: number): TopKEntry[] {
  const entries: TopKEntry[] = [];
  const base = unit * topk.k;
  for (let i = 0; i < topk.counts[unit]!; i++) {
    const at = base + i;
    entries.push({ value: topk.values[at]!, imageId: topk.imageIds[at]!, y: topk.ys[at]!, x: topk.xs[at]!, label: topk.labels[at]!, path: topk.paths[at]! });
  }
  return entries;
}

/**
 * Offers every entry of `from` to `into` (same k and unit count): `into` then
 * holds the top k of both. Exact when the two saw disjoint images.
 * @throws RangeError when the shapes differ.
 */
export function mergeUnitTopK(into: UnitTopK, from: UnitTopK): void {
  if (into.k !== from.k || into.numUnits !== from.numUnits) {
    throw new RangeError(`Cannot merge top-k of ${from.numUnits} units x ${from.k} into ${into.numUnits} units x ${into.k}`);
  }
  for (let unit = 0; unit < from.numUnits; unit++) {
    for (const entry of readUnitEntries(from, unit)) offerEntry(into, unit, entry);
  }
}

/** Units whose entries changed since the last clearDirty, in order. */
export function listDirtyUnits(topk: UnitTopK): number[] {
  const units: number[] = [];
  topk.dirty.forEach((flag, unit) => {
    if (flag !== 0) units.push(unit);
  });
  return units;
}

/** Marks every unit clean (after a commit wrote them). */
export function clearDirty(topk: UnitTopK): void {
  topk.dirty.fill(0);
}
