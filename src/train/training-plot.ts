/**
 * Training curves (loss and error per epoch) as SVG line charts, from the
 * epoch rows of the store. Pure; the pipeline writes them with writeSvgAndPng.
 */
import { lineChartSvg, type LineSeries } from '../plot/line-chart.js';
import type { EpochRecord } from '../store/training-store.js';

function seriesOf(name: string, epochs: readonly EpochRecord[], pick: (e: EpochRecord) => number | null): LineSeries {
  return { name, points: epochs.map((e) => [e.epoch, pick(e) ?? Number.NaN] as [number, number]) };
}

/** Train and validation loss per epoch. */
export function buildLossChartSvg(runId: string, epochs: readonly EpochRecord[]): string {
  return lineChartSvg({
    title: `${runId}: loss`, xLabel: 'epoch', yLabel: 'softmax cross-entropy', yFromZero: true,
    series: [seriesOf('train loss (dropout)', epochs, (e) => e.trainLoss), seriesOf('val loss', epochs, (e) => e.valLoss)],
  });
}

/** Top-1 and top-5 error per epoch, in percent. */
export function buildErrorChartSvg(runId: string, epochs: readonly EpochRecord[]): string {
  const pct = (v: number | null) => (v === null ? null : v * 100);
  return lineChartSvg({
    title: `${runId}: error`, xLabel: 'epoch', yLabel: 'error (%)', yMin: 0, yMax: 100,
    series: [
      seriesOf('train top-1 error', epochs, (e) => pct(e.trainTop1Error)),
      seriesOf('val top-1 error', epochs, (e) => pct(e.valTop1Error)),
      seriesOf('val top-5 error', epochs, (e) => pct(e.valTop5Error)),
    ],
  });
}
