/**
 * The legend of the unit statistics under every table that shows them (the
 * report's unit tables, the explorer's layer table), in the words of
 * src/vocabulary.ts; the same words are the tables' column tooltips. Pure.
 */
import { describeUnitStatistics, type UnitStatisticKey } from '../vocabulary.js';
import { escapeHtml } from './html.js';

/** Every statistic a unit table shows, in column order. */
export const UNIT_TABLE_STATISTICS: readonly UnitStatisticKey[] = Object.freeze(['imagesSeen', 'firingRate', 'meanMax', 'stdMax', 'meanActivation', 'maxValue', 'dead', 'topClass', 'classPurity']);

/** A footnote that says what each of `keys` means: "firing rate: share of the images ...". */
export function renderStatisticsLegend(topK: number, keys: readonly UnitStatisticKey[] = UNIT_TABLE_STATISTICS): string {
  const words = describeUnitStatistics(topK);
  const items = keys.map((key) => `<dt>${escapeHtml(words[key].label)}</dt><dd>${escapeHtml(words[key].legend)}</dd>`).join('');
  return `<dl class="legend note">${items}</dl>`;
}
