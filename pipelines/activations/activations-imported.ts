/**
 * `activations` on an imported model: the image prepared with the model's
 * own preprocessing (resize, centre crop, scale, channel order, mean/std),
 * its graph run on the onnx engine through the forward executor's taps
 * request, and each requested layer written under its own name as NCHW
 * `.npy` ([1, C, H, W] maps, [1, F] flat layers: what PyTorch's module
 * gives), with a sidecar holding each layer's definition, shape, units and
 * receptive field, the model's SHA-256 and the preprocessing.
 *
 * Layers (`--taps`): names, aliases, globs (`layer1.*`, `*` for all) or the
 * numbers `info` and the store use (1-based position in the model's layer
 * list); default the conv layers, as top-activations.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, type BackendChoice } from '../../src/backend/select-backend.js';
import { UsageError } from '../../src/errors.js';
import { listLayerChoices, matchLayers, type SelectableLayer } from '../../src/graph/analysed-layers.js';
import { describeGraph, type GraphLayerReport } from '../../src/graph/describe-graph.js';
import { folderOfLayer } from '../../src/mosaic/mosaic-layers.js';
import type { GraphLayer, ModelGraph } from '../../src/graph/model-graph.js';
import { describeModelInput, type OpenedImportedModel } from '../../src/import/open-imported-model.js';
import { permuteAxes } from '../../src/model/torch-layout.js';
import { encodeNpyFloat32 } from '../../src/topk/encode-npy.js';
import type { TapArray } from '../../src/workers/batch-reducers.js';
import { createForwardExecutor } from '../../src/workers/forward-executor.js';
import { cropCentre, describeImage, resolveImage, type ImageOptions } from './activations-input.js';

export interface ImportedActivationsOptions extends ImageOptions {
  model: OpenedImportedModel;
  /** Layer names, aliases, globs or numbers; undefined: the conv layers. */
  taps?: string;
  outDir: string;
  backend: BackendChoice;
  log: (line: string) => void;
}

type NumberedLayer = GraphLayer & SelectableLayer;

/**
 * The layers `spec` names among all of the graph's layers (maps and flat), numbered by position; default the conv layers.
 * @throws UsageError naming the part that matches nothing and listing the layers.
 */
export function selectActivationLayers(graph: ModelGraph, spec: string | undefined): NumberedLayer[] {
  const layers: NumberedLayer[] = graph.layers.map((layer, i) => ({ ...layer, number: i + 1 }));
  try {
    if (spec === undefined || spec.trim() === '') {
      const convs = layers.filter((l) => l.kind === 'conv');
      if (convs.length === 0) throw new RangeError(`Model ${graph.name} has no conv layers; name the layers with --taps: ${listLayerChoices(layers)}`);
      return convs;
    }
    return matchLayers(layers, spec, { modelName: graph.name, option: '--taps', noun: 'layers' });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** What a layer's file holds, in words, for the sidecar. */
export function defineGraphLayer(report: GraphLayerReport): string {
  const after = report.node === report.name ? '' : ` (after ${report.name}${report.kind === 'conv' ? ', i.e. the conv output after its nonlinearity' : ''})`;
  const field = report.receptiveFieldPx === null ? '' : `; receptive field ${report.receptiveFieldPx.join('x')} px, jump ${report.jumpPx!.join('x')} px`;
  return `${report.name}: ${report.kind} layer, the output of graph node ${report.node} (${report.op})${after}, ${report.units} units${field}`;
}

/** [1, H, W, C] -> [1, C, H, W]; flat outputs as they are. */
function toNchw(data: Float32Array, shape: readonly number[]): { data: Float32Array; shape: number[] } {
  if (shape.length !== 4) return { data, shape: shape.slice() };
  return { data: permuteAxes(data, shape, [0, 3, 1, 2]), shape: [shape[0]!, shape[3]!, shape[1]!, shape[2]!] };
}

/**
 * Writes input.npy, one `<layer>.npy` per layer and activations.json under outDir.
 * @throws UsageError for an unknown layer, an engine other than onnx, an unreadable image or unusable preprocessing.
 */
export async function writeImportedActivations(options: ImportedActivationsOptions): Promise<{ files: string[]; sidecarPath: string }> {
  const { record, model } = options.model;
  const { graph, preprocessing } = model;
  const layers = selectActivationLayers(graph, options.taps);
  const steps = describeModelInput(preprocessing, record.name);
  const backend = await initBackend(options.backend, { log: options.log, purpose: 'inference' });
  const image = await resolveImage(options, options.log);
  const s = steps.inputSizePx;
  const pixels = steps.normalize(await cropCentre(image.record, steps.squarePx, s, null, steps.resample)); // [1, S, S, 3], the model's channel order
  const executor = await createForwardExecutor({ workers: 1, backend: options.backend, model: { kind: 'imported', model }, graphCacheDir: null });
  let outputs: Partial<Record<string, TapArray>>;
  try {
    outputs = (await executor.run({ pixels, shape: [1, s, s, 3] }, { reducer: 'taps', taps: layers.map((l) => l.name) })).taps;
  } finally {
    await executor.close();
  }
  mkdirSync(options.outDir, { recursive: true });
  const input = toNchw(pixels, [1, s, s, 3]);
  const files = [join(options.outDir, 'input.npy')];
  writeFileSync(files[0]!, encodeNpyFloat32(input.data, input.shape));
  const reports = describeGraph(graph).layers;
  const taps: Record<string, unknown> = {};
  const stems = new Set(['input', 'activations']);
  for (const layer of layers) {
    let stem = folderOfLayer(layer.name);
    for (let k = 2; stems.has(stem); k++) stem = `${folderOfLayer(layer.name)}_${k}`;
    stems.add(stem);
    const tap = toNchw(outputs[layer.name]!.data, outputs[layer.name]!.shape);
    files.push(join(options.outDir, `${stem}.npy`));
    writeFileSync(files.at(-1)!, encodeNpyFloat32(tap.data, tap.shape));
    const report = reports[layer.number - 1]!;
    taps[layer.name] = {
      number: layer.number, shape: tap.shape, file: `${stem}.npy`, definition: defineGraphLayer(report), kind: report.kind, node: report.node,
      op: report.op, aliases: report.aliases, units: report.units, receptiveFieldPx: report.receptiveFieldPx, jumpPx: report.jumpPx,
    };
  }
  const sidecarPath = join(options.outDir, 'activations.json');
  writeFileSync(sidecarPath, `${JSON.stringify({
    image: describeImage(image.record),
    model: record.name, weights: model.sha256, modelSha256: model.sha256, modelPath: model.path, backend: backend.name,
    imported: { format: record.format, architecture: record.architecture, sourcePath: record.sourcePath, sourceSha256: record.sourceSha256 },
    layout: 'NCHW float32, C order, batch of 1, as the model computes them (maps [1, C, H, W], flat layers [1, F]; numpy: np.load(file))',
    input: { shape: input.shape, file: 'input.npy', definition: `the preprocessed input the model saw: centre crop, then ${describeValueSteps(preprocessing)}` },
    preprocessing: { ...preprocessing, crop: 'centre' },
    taps,
  }, null, 2)}\n`);
  return { files, sidecarPath };
}

function describeValueSteps(p: OpenedImportedModel['model']['preprocessing']): string {
  return `${p.valueScale === 1 ? 'divided by 255, ' : ''}channels ${p.channelOrder.toUpperCase()}, minus mean (${p.mean.join(', ')}) divided by std (${p.std.join(', ')}) per channel`;
}
