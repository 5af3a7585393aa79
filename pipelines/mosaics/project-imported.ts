/**
 * `run-pipeline project --model NAME`: one projection of one activation of an
 * imported model (any layer by its own name), by the deconvnet, guided
 * backpropagation or the plain gradient, written as PNG and .npy beside the
 * image patch under the unit's receptive field. The image is preprocessed
 * as the model's record says; everything runs on onnxruntime.
 */
import { basename, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { UsageError } from '../../src/errors.js';
import { inferGraphShapes } from '../../src/graph/graph-shapes.js';
import { findLayer, type GraphWeights, type ModelGraph } from '../../src/graph/model-graph.js';
import { computeReceptiveFields } from '../../src/graph/receptive-fields.js';
import { loadImportedModel } from '../../src/import/imported-model-file.js';
import { prepareModelInput } from '../../src/import/model-input.js';
import { describeModelInput } from '../../src/import/open-imported-model.js';
import { makeEntryTiles } from '../../src/mosaic/entry-tiles.js';
import { writeRgbPng, writeTextFile } from '../../src/mosaic/render-sheet.js';
import { buildGraphProjection, type DeconvMethod } from '../../src/onnx/deconv-graphs.js';
import { buildTapsGraph } from '../../src/onnx/forward-graphs.js';
import { encodeOnnxModel, type OnnxModel } from '../../src/onnx/onnx-format.js';
import { getImportedModel } from '../../src/store/imported-models-store.js';
import type { Store } from '../../src/store/open-store.js';
import { encodeNpyFloat32 } from '../../src/topk/encode-npy.js';

export interface ProjectImportedOptions {
  db: Store;
  model: string;
  image: string;
  /** Layer name or alias (`features.10`, `conv5`, `layer4.1`). */
  layer: string;
  unit: number;
  at?: [number, number];
  method: DeconvMethod;
  /** Default out/project/<model>. */
  outDir?: string;
  log?: (line: string) => void;
}

export interface ProjectImportedResult {
  activation: number;
  at: [number, number];
  files: string[];
}

async function runGraph(model: OnnxModel, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType> {
  const session = await ort.InferenceSession.create(encodeOnnxModel(model), { logSeverityLevel: 4 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** The unit's first maximum in row-major order. */
async function strongestCell(graph: ModelGraph, weights: GraphWeights, pixels: ort.Tensor, layer: string, unit: number, shape: number[]): Promise<[number, number]> {
  const out = await runGraph(buildTapsGraph(graph, weights, { layers: [layer], layout: 'nchw', lrn: 'pool' }), { pixels });
  const [, h, w] = shape as [number, number, number];
  const plane = (Object.values(out)[0]!.data as Float32Array).subarray(unit * h * w, (unit + 1) * h * w);
  let best = 0;
  for (let i = 1; i < plane.length; i++) if (plane[i]! > plane[best]!) best = i;
  return [Math.floor(best / w), best % w];
}

/**
 * Projects one activation of an imported model.
 * @throws UsageError naming the model, layer, unit or cell that does not exist, or an unreadable image.
 */
export async function runProjectImported(options: ProjectImportedOptions): Promise<ProjectImportedResult> {
  const model = loadImportedModel(getImportedModel(options.db, options.model).modelPath);
  const { graph, weights } = model;
  const layer = (() => { try { return findLayer(graph, options.layer); } catch (error) { throw new UsageError((error as Error).message); } })();
  const shape = inferGraphShapes(graph).get(layer.node)!;
  if (shape.length !== 3) throw new UsageError(`Layer ${layer.name} of ${graph.name} is not a feature map ([${shape.join(', ')}]); project needs a spatial layer`);
  const [units, h, w] = shape as [number, number, number];
  if (!Number.isInteger(options.unit) || options.unit < 0 || options.unit >= units) throw new UsageError(`Expected unit between 0 and ${units - 1} of ${layer.name} but received ${options.unit}`);
  const s = graph.input.sizePx;
  const input = await prepareModelInput(options.image, describeModelInput(model.preprocessing, options.model));
  const pixels = new ort.Tensor('float32', input.input, [1, s, s, graph.input.channels]);
  const at = options.at ?? (await strongestCell(graph, weights, pixels, layer.name, options.unit, shape));
  if (at[0] >= h || at[1] >= w) throw new UsageError(`Expected --at inside the ${h}x${w} grid of ${layer.name} but received ${at.join(',')}`);
  const select = new ort.Tensor('int64', BigInt64Array.of(BigInt((options.unit * h + at[0]) * w + at[1])), [1, 1]);
  const out = await runGraph(buildGraphProjection(graph, weights, layer.node, options.method), { pixels, select });
  const activation = (out['activation']!.data as Float32Array)[0]!;
  const nchw = out['projection']!.data as Float32Array;
  const projection = new Float32Array(s * s * 3);
  for (let c = 0; c < 3; c++) for (let i = 0; i < s * s; i++) projection[i * 3 + c] = nchw[c * s * s + i]!;
  const field = computeReceptiveFields(graph).get(layer.node)!;
  if (field.receptiveFieldPx[0] !== field.receptiveFieldPx[1] || field.jumpPx[0] !== field.jumpPx[1]) throw new UsageError(`Layer ${layer.name} has a non-square receptive field, which project cannot draw yet`);
  const geometry = { name: layer.name, kind: 'conv' as const, outputShape: [h, w, units], effectivePadding: [0, 0, 0, 0] as [number, number, number, number], receptiveFieldPx: field.receptiveFieldPx[0], jumpPx: field.jumpPx[0], offsetPx: field.offsetPx[0] };
  const tiles = makeEntryTiles(geometry, at[0], at[1], s, projection, input.display, Math.min(s, field.receptiveFieldPx[0]));
  const outDir = options.outDir ?? join('out', 'project', options.model);
  const stem = join(outDir, `${basename(options.image).replace(/\.[^.]*$/, '')}-${layer.name}-unit${options.unit}-y${at[0]}x${at[1]}-${options.method}`);
  const files = [`${stem}-projection.png`, `${stem}-projection.npy`, `${stem}-patch.png`, `${stem}.json`];
  await writeRgbPng(files[0]!, tiles.projection.image);
  writeTextFile(files[1]!, encodeNpyFloat32(tiles.projectionValues, [tiles.box.heightPx, tiles.box.widthPx, 3]));
  await writeRgbPng(files[2]!, tiles.patch.image);
  const summary = { model: options.model, modelSha256: model.sha256, image: options.image, layer: layer.name, node: layer.node, unit: options.unit, at, activation, method: options.method, receptiveField: tiles.box, preprocessing: model.preprocessing };
  writeTextFile(files[3]!, `${JSON.stringify(summary, null, 2)}\n`);
  options.log?.(`project: ${options.model} ${layer.name} unit ${options.unit} at ${at.join(',')} = ${activation.toPrecision(6)} (${options.method})`);
  return { activation, at, files };
}
