/**
 * The models `compare` puts side by side: a checkpoint of the project's own
 * architectures, or an imported model (run-pipeline import) by name. For
 * each, the filters of its first conv layer (the conv with 3 input channels
 * that reads the image: ZFNet's conv1, AlexNet's features.0, ResNet's conv1)
 * with their statistics, and the layer whose top-9 sheets are compared.
 */
import { readCheckpointFile } from '../../src/checkpoint/checkpoint-file.js';
import { convertFromTorch, parameterLayouts } from '../../src/model/torch-layout.js';
import { UsageError } from '../../src/errors.js';
import { computeBandEnergies, computeFilterRms, detectDeadFilters, type BandEnergy } from '../../src/experiments/filter-spectrum.js';
import { selectAnalysedLayers } from '../../src/graph/analysed-layers.js';
import { findFirstImageConv, readConvFilters } from '../../src/graph/input-conv.js';
import { openImportedModel } from '../../src/import/open-imported-model.js';
import type { Store } from '../../src/store/open-store.js';

/** One side of the comparison, as the command line names it. */
export type CompareSource = { checkpoint: string } | { model: string };

export interface FilterStats {
  label: string;
  source: CompareSource;
  /** The checkpoint, or the imported model's converted file. */
  path: string;
  sha256: string;
  /** Architecture or imported model name. */
  model: string;
  /** The layer the filters belong to (`conv1`, `features.0`). */
  filterLayer: string;
  /** tfjs layout [kh, kw, in, out]. */
  shape: number[];
  weights: Float32Array;
  rms: Float64Array;
  dead: boolean[];
  bands: BandEnergy[];
}

function withStats(base: Omit<FilterStats, 'rms' | 'dead' | 'bands'>, deadRatio: number): FilterStats {
  const rms = computeFilterRms(base.weights, base.shape);
  return { ...base, rms, dead: detectDeadFilters(rms, deadRatio), bands: computeBandEnergies(base.weights, base.shape) };
}

/** conv1 of a checkpoint (no backend needed). */
function checkpointFilters(label: string, path: string, deadRatio: number): FilterStats {
  const contents = readCheckpointFile(path);
  const layout = parameterLayouts(contents.config).find((l) => l.name === 'conv1.weight')!;
  const weights = convertFromTorch(layout, contents.tensors.get('conv1.weight')!.data);
  return withStats({ label, source: { checkpoint: path }, path, sha256: contents.sha256, model: contents.config.name, filterLayer: 'conv1', shape: layout.tfjsShape, weights }, deadRatio);
}

/**
 * The first image-reading conv of an imported model.
 * @throws UsageError when the store has no such model, its file changed, or it has no conv reading a 3-channel image
 */
function importedFilters(db: Store, label: string, name: string, deadRatio: number): FilterStats {
  const opened = openImportedModel(db, name);
  const { graph, weights, sha256, path } = opened.model;
  const first = findFirstImageConv(graph);
  if (first === null) throw new UsageError(`Imported model ${name} has no conv reading the 3-channel image (ungrouped, 3 input channels); compare draws the first layer's filters as RGB`);
  const filters = readConvFilters(graph, weights, first.conv);
  return withStats({ label, source: { model: name }, path, sha256, model: name, filterLayer: first.layer?.name ?? first.conv.name, shape: filters.shape, weights: filters.values }, deadRatio);
}

/**
 * Reads each source's first-layer filters and statistics, labelled A, B, ... in order.
 * @throws UsageError naming a checkpoint that cannot be read or an imported model that cannot be used
 */
export function readCompareFilters(db: Store, sources: readonly CompareSource[], deadRatio: number): FilterStats[] {
  return sources.map((source, i) => {
    const label = String.fromCharCode(65 + i);
    return 'checkpoint' in source ? checkpointFilters(label, source.checkpoint, deadRatio) : importedFilters(db, label, source.model, deadRatio);
  });
}

/**
 * The name of `layer` in an imported model (its own name when `layer` is an alias).
 * @throws UsageError listing the model's map layers when it has none of that name or alias
 */
export function resolveImportedLayer(db: Store, model: string, layer: string): string {
  const opened = openImportedModel(db, model);
  try {
    const found = selectAnalysedLayers(opened.layers, layer, model);
    if (found.length !== 1) throw new RangeError(`Expected one layer of ${model} for --layer but ${JSON.stringify(layer)} names ${found.length}: ${found.map((l) => l.name).join(', ')}`);
    return found[0]!.name;
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/ for --layers /, ' for --layer '));
  }
}
