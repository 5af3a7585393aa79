/** `--units all | 0-15 | 3,7,9 | random:16`: which units of a layer to draw. Pure. */
import { createRng, drawPermutation } from '../data/seeded-rng.js';
import { invalidParameterError } from '../errors.js';

export type UnitSelection = { kind: 'all' } | { kind: 'list'; units: number[] } | { kind: 'random'; count: number };

/**
 * Parses --units.
 * @throws RangeError (a usage error) naming the value when it is malformed
 */
export function parseUnitSelection(value: string): UnitSelection {
  const text = value.trim();
  if (text === 'all') return { kind: 'all' };
  const random = /^random:(\d+)$/.exec(text);
  if (random !== null && Number(random[1]) > 0) return { kind: 'random', count: Number(random[1]) };
  const units = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (m === null || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) throw invalidParameterError('units', 'all, a list like 0-15 or 3,7,9, or random:N', value);
    for (let u = Number(m[1]); u <= Number(m[2] ?? m[1]); u++) units.add(u);
  }
  return { kind: 'list', units: [...units].sort((a, b) => a - b) };
}

/**
 * The units a selection picks from a layer of `unitCount` units; random:N
 * draws N distinct units from `seed` (sorted), all of them when N >= unitCount.
 * @throws RangeError naming the first unit outside the layer
 */
export function resolveUnits(selection: UnitSelection, unitCount: number, layerName: string, seed: number): number[] {
  const all = Array.from({ length: unitCount }, (_, u) => u);
  if (selection.kind === 'all') return all;
  if (selection.kind === 'list') {
    const bad = selection.units.find((u) => u >= unitCount);
    if (bad !== undefined) throw invalidParameterError('units', `units between 0 and ${unitCount - 1} of ${layerName}`, bad);
    return selection.units;
  }
  const order = drawPermutation(unitCount, createRng(seed));
  return Array.from(order.subarray(0, Math.min(selection.count, unitCount))).sort((a, b) => a - b);
}
