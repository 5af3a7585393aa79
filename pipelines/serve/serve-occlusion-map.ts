/**
 * The explorer's occlusion map of one image, whichever kind of model the run
 * analysed: the occlusion experiment's sweep (the unoccluded image picks the
 * strongest unit of the run's last layer; the default occluder size and
 * stride), drawn as a heat map over the crop the model saw: p(true class)
 * when the model knows the image's class, else the unit's summed activation.
 */
import { join } from 'node:path';
import { computeOccluderPlacements, defaultOccluderSizePx, defaultOccluderStridePx } from '../../src/experiments/occluder.js';
import { measureUnoccluded, sweepOccluder, type OcclusionProbe } from '../../src/experiments/occlusion-sweep.js';
import { writeMapOverImage } from '../../src/experiments/result-files.js';
import { heatmapSvg } from '../../src/plot/heatmap.js';
import type { ImageOcclusion } from '../../src/serve/pages-image.js';
import type { RenderOutput } from '../../src/serve/render-engine.js';

const MAP_PX = 320;
/** Occluded copies per forward pass. */
const SWEEP_BATCH = 16;

export interface OcclusionMapJob {
  probe: OcclusionProbe;
  /** The run's number of the probed layer (the page names it). */
  layerNumber: number;
  /** [S, S, 3] the model input. */
  input: Float32Array;
  /** [S, S, 3] the crop the model saw, 0..255 RGB. */
  display: Uint8Array;
  sizePx: number;
  /** [S, S, 3] input-space values of a mean-coloured occluder. */
  fill: Float32Array;
  /** The image's logit and its name; null when the model does not know the class. */
  trueClass: { index: number; name: string } | null;
  outDir: string;
  onProgress: (done: number, total: number) => void;
}

/** Sweeps the occluder over the image and writes occlusion.png into the job's folder. */
export async function renderOcclusionMap(job: OcclusionMapJob): Promise<RenderOutput> {
  const S = job.sizePx;
  const [sizePx, stridePx] = [defaultOccluderSizePx(S), defaultOccluderStridePx(S)];
  const placements = computeOccluderPlacements(S, sizePx, stridePx);
  const unoccluded = await measureUnoccluded(job.probe, job.input, S);
  job.onProgress(0, placements.length);
  const trueIndex = job.trueClass?.index ?? null;
  const cells = await sweepOccluder({
    probe: job.probe, input: job.input, sizePx: S, placements, fill: job.fill, unit: unoccluded.unit, trueClass: trueIndex,
    batchSize: SWEEP_BATCH, onBatch: (done) => job.onProgress(done, placements.length),
  });
  const rows = Math.ceil(S / stridePx);
  const svg = job.trueClass === null
    ? heatmapSvg({ title: `${job.probe.layer} unit ${unoccluded.unit}: summed activation`, values: cells.map((c) => c.featureSum), rows, cols: rows, sizePx: MAP_PX, valueLabel: 'sum' })
    : heatmapSvg({ title: `p(${job.trueClass.name})`, values: cells.map((c) => c.trueProb ?? Number.NaN), rows, cols: rows, sizePx: MAP_PX, min: 0, valueLabel: 'probability' });
  const file = join(job.outDir, 'occlusion.png');
  await writeMapOverImage(svg, job.display, S, { mapPx: MAP_PX, coveredPx: rows * stridePx }, file);
  const probs = cells.map((c) => c.trueProb).filter((p): p is number => p !== null);
  const result: ImageOcclusion = {
    layer: job.layerNumber, unit: unoccluded.unit, map: job.trueClass === null ? 'feature-sum' : 'true-class-prob', trueClass: job.trueClass?.name ?? null,
    unoccludedTrueProb: trueIndex === null ? null : unoccluded.probs[trueIndex]!, minTrueProb: probs.length === 0 ? null : Math.min(...probs), sizePx, stridePx,
  };
  return { files: { occlusion: file }, result };
}
