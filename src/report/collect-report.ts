/**
 * Gathers what a report shows for one run from the store and the out/
 * folder: the run, its training epochs and evaluations, the top-activations
 * passes over its checkpoints or imported model (unit statistics per named
 * layer, mosaics) and the experiment
 * runs (occlusion, invariance, ...) that used those checkpoints.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import type { AnalysedLayer } from '../graph/analysed-layers.js';
import { folderOfLayer } from '../mosaic/mosaic-layers.js';
import { listOcclusionSummaries, type OcclusionSummary } from '../store/occlusion-summaries.js';
import type { Store } from '../store/open-store.js';
import { findPreferredInputs, type PreferredInputOf } from '../store/preferred-inputs-store.js';
import { getRun, listRuns, type RunRecord } from '../store/runs.js';
import { listTopActivationRuns, queryUnitRows, type TopActivationRun, type UnitRow } from '../store/top-activations-store.js';
import { createTrainingStore, type EpochRecord, type EvaluationRecord } from '../store/training-store.js';

/** One analysed layer of a pass: its own name and receptive field, its units' statistics and its mosaics. */
export interface PassLayer {
  layer: AnalysedLayer;
  /** Unit statistics, unit order. */
  units: UnitRow[];
  /** The layer's folder under the pass's mosaicsDir (named after the layer), when mosaics drew it. */
  mosaicFolder: string | null;
  /** Units with a drawn page (mosaics may cover only some units). */
  unitPages: Set<number>;
  /** Whether the folder holds a first sheet. */
  hasSheet: boolean;
  /** Whether the folder holds the filters of the conv reading the image (filters.png). */
  hasFilters: boolean;
  /** The preferred inputs of the layer's first units (run-pipeline preferred-inputs over the pass), unit order. */
  preferred: PreferredInputOf[];
}

/** How many of a layer's first units show their preferred inputs. */
export const REPORT_PREFERRED_UNITS = 8;

export interface AnalysisPass {
  run: TopActivationRun;
  /** Every analysed layer of the run, in forward order (conv1..conv5 for the project's models, named layers for imported ones). */
  layers: PassLayer[];
  /** out/mosaics/<run>/ (deconvnet) when the mosaics command has drawn it. */
  mosaicsDir: string | null;
  /** Mosaics by the other methods (out/mosaics/<run>-guided, -gradient) that have an index. */
  otherMosaics: Array<{ method: string; dir: string }>;
}

export interface ExperimentRun {
  run: RunRecord;
  /** out/<kind>/<run>/ and its PNG files (relative to it), when present. */
  outDir: string;
  pngFiles: string[];
  /** Occlusion runs: each swept image's class and p(true class); null for other kinds. */
  occlusion: OcclusionSummary[] | null;
}

export interface ReportData {
  run: RunRecord;
  epochs: EpochRecord[];
  evaluations: EvaluationRecord[];
  passes: AnalysisPass[];
  experiments: ExperimentRun[];
  /** Absolute paths of the checkpoints this report covers. */
  checkpoints: string[];
}

const EXPERIMENT_KINDS = ['occlusion', 'invariance', 'correspondence', 'compare', 'evolution'];

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function checkpointsOf(run: RunRecord, epochs: EpochRecord[], db: Store): string[] {
  if (run.kind === 'train') return epochs.filter((e) => e.checkpointKept && e.checkpointPath !== null).map((e) => resolve(e.checkpointPath!)).filter(existsSync);
  if (run.kind === 'top-activations') {
    const pass = listTopActivationRuns(db).find((p) => p.runId === run.id);
    return pass?.checkpointPath ? [resolve(pass.checkpointPath)] : [];
  }
  const weights = run.options['weights'] as { checkpoint?: string } | undefined;
  return weights?.checkpoint ? [resolve(weights.checkpoint)] : [];
}

function collectPasses(db: Store, run: RunRecord, checkpoints: string[], outRoot: string): AnalysisPass[] {
  const paths = new Set(checkpoints);
  // Hashing reads every checkpoint (250 MB each at full size): only when a pass is not matched by path.
  let shas: Set<string> | null = null;
  const sameWeights = (sha: string) => (shas ??= new Set(checkpoints.filter(existsSync).map(sha256File))).has(sha);
  const related = listTopActivationRuns(db).filter((p) => p.runId === run.id
    || (p.checkpointPath !== null && paths.has(resolve(p.checkpointPath)))
    || (p.checkpointSha256 !== null && sameWeights(p.checkpointSha256)));
  // The latest weights first: a training run's last epoch (the one mosaics draws) before the earlier epochs analysed to compare.
  const position = (p: TopActivationRun) => (p.checkpointPath === null ? -1 : checkpoints.indexOf(resolve(p.checkpointPath)));
  return related.filter((p) => p.run.status === 'finished').sort((x, y) => position(y) - position(x)).map((p) => {
    const dir = join(outRoot, 'mosaics', p.runId);
    const mosaicsDir = existsSync(join(dir, 'index.html')) ? dir : null;
    const layers = p.analysedLayers.map((layer) => readPassLayer(db, p.runId, layer, mosaicsDir));
    const otherMosaics = OTHER_METHODS.map((method) => ({ method, dir: `${dir}-${method}` })).filter((m) => existsSync(join(m.dir, 'index.html')));
    return { run: p, layers, mosaicsDir, otherMosaics };
  });
}

const OTHER_METHODS = ['guided', 'gradient'];

/** A layer's statistics, and its mosaics folder: named after the layer as mosaics names it (folderOfLayer; `-<number>` where two names make one folder). */
function readPassLayer(db: Store, runId: string, layer: AnalysedLayer, mosaicsDir: string | null): PassLayer {
  const units = queryUnitRows(db, runId, layer.number, { sort: 'unit', deadOnly: false, limit: null });
  const preferred = [...findPreferredInputs(db, runId, layer.number).values()].sort((a, b) => a.unit - b.unit).slice(0, REPORT_PREFERRED_UNITS);
  const folder = mosaicsDir === null ? undefined : [folderOfLayer(layer.name), `${folderOfLayer(layer.name)}-${layer.number}`]
    .find((f) => existsSync(join(mosaicsDir, f)));
  if (folder === undefined) return { layer, units, mosaicFolder: null, unitPages: new Set(), hasSheet: false, hasFilters: false, preferred };
  const files = readdirSync(join(mosaicsDir!, folder));
  const unitPages = new Set(files.map((f) => /^unit-(\d{4})\.html$/.exec(f)).filter((m) => m !== null).map((m) => Number(m[1])));
  return { layer, units, mosaicFolder: folder, unitPages, hasSheet: files.includes('sheet-01.png'), hasFilters: files.includes('filters.png'), preferred };
}

function collectExperiments(db: Store, run: RunRecord, checkpoints: string[], outRoot: string): ExperimentRun[] {
  const paths = new Set(checkpoints);
  return listRuns(db)
    .filter((r) => EXPERIMENT_KINDS.includes(r.kind) && r.status === 'finished')
    .filter((r) => r.id === run.id || checkpointsOf(r, [], db).some((c) => paths.has(c)))
    .map((r) => {
      const outDir = join(outRoot, r.kind, r.id);
      const pngFiles = existsSync(outDir) ? readdirSync(outDir).filter((f) => f.endsWith('.png')).sort() : [];
      return { run: r, outDir, pngFiles, occlusion: r.kind === 'occlusion' ? listOcclusionSummaries(db, r.id) : null };
    })
    .reverse();
}

/**
 * Collects the report's data for run `runId`.
 * @throws UsageError naming the run when the store has no such run.
 */
export function collectReport(db: Store, runId: string, outRoot = 'out'): ReportData {
  const run = getRun(db, runId);
  if (run === undefined) {
    const known = listRuns(db).slice(0, 5).map((r) => r.id);
    throw new UsageError(`No run ${JSON.stringify(runId)} in the store${known.length ? `; newest runs: ${known.join(', ')}` : ''} (run-pipeline runs lists them)`);
  }
  const training = createTrainingStore(db);
  const epochs = training.listEpochs(run.id);
  const checkpoints = checkpointsOf(run, epochs, db);
  const evaluations = training.listEvaluations().filter((e) => e.runId === run.id || checkpoints.includes(resolve(e.checkpointPath)));
  return {
    run, epochs, evaluations, checkpoints,
    passes: collectPasses(db, run, checkpoints, outRoot),
    experiments: collectExperiments(db, run, checkpoints, outRoot),
  };
}
