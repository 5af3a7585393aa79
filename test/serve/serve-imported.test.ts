/**
 * The explorer over a run of an imported model: a narrow ResNet-18 written
 * as ONNX by the project's builder, imported with its own resize (80 px
 * before the 64 px crop, not the project's 73), and a top-activations run of
 * four of its layers by name; beside it a zfnet-tiny run on the same images.
 * Pages show the layers by their names, patches and the image are cut
 * from the model's own crop with the recorded receptive fields (checked
 * pixel by pixel against a crop made here), the activations render runs
 * the graph on onnx and agrees with the stored top-k, projections go
 * through the model's graph and match the stored values, and occlusion
 * maps sweep the model's own input: p(true class) when its labels name the
 * image's class, the strongest unit's summed activation otherwise, both
 * checked against a direct tfjs evaluation of the graph.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import type { LightMyRequestResponse } from 'fastify';
import { importModel } from '../../pipelines/import/import-model.js';
import { createModelRenderer } from '../../pipelines/serve/serve-renderer.js';
import { runTopActivations, type TopActivationsOptions } from '../../pipelines/top-activations/top-activations.js';
import { initBackend } from '../../src/backend/select-backend.js';
import { computePaperCropBox, computeSquareSizePx, extractCrop } from '../../src/data/crop-geometry.js';
import { decodeSquare, type ResampleMethod } from '../../src/data/decode-image.js';
import { computeReceptiveFields, receptiveFieldBoxAt } from '../../src/graph/receptive-fields.js';
import { loadImportedModel } from '../../src/import/imported-model-file.js';
import { normalizePixels } from '../../src/import/preprocessing.js';
import { computeOccluderPlacements, defaultOccluderSizePx, defaultOccluderStridePx } from '../../src/experiments/occluder.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { layerGeometry, receptiveFieldBox, type PixelBox } from '../../src/model/geometry.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import { createServeCache } from '../../src/store/serve-cache.js';
import { createServeQueries } from '../../src/store/serve-queries.js';
import { writeTinyDataset } from '../pipelines/top-activations-fixture.js';
import { openTestServe, type TestServe } from './serve-fixture.js';
import { evaluateGraph } from '../import/graph-reference.js';
import { writeNarrowOnnx } from '../pipelines/imported-models-fixture.js';

const quiet = (): void => {};
const LAYERS = ['conv1', 'layer1.0', 'layer2.0.conv2', 'layer4.1'];
let dir = '';
let data = '';
let modelPath = '';
let runId = '';
let projectRunId = '';
let reader: Store;
let writer: Store;
let testServe: TestServe;

function passOptions(db: Store, extra: Partial<TopActivationsOptions>): TopActivationsOptions {
  return {
    db, data, split: 'val', initSeed: 1, topK: 9, batchSize: 6, commitEvery: 1, shard: { index: 0, count: 1 }, backend: 'auto', force: false,
    decodeConcurrency: 2, strict: false, workers: 1, resumeCommand: '', log: quiet, ...extra,
  };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'serve-imported-'));
  data = join(dir, 'data');
  await writeTinyDataset(data, { classes: 3, perClass: 4, sizePx: 96 });
  writeNarrowOnnx(dir, 'r18', 'resnet18', 64, 3);
  writeFileSync(join(dir, 'labels.txt'), 'class00\nbanana\ncherry\n'); // names the dataset's first class only
  const dbPath = join(dir, 'store.db');
  const db = openStore(dbPath);
  const imported = importModel({ db, file: join(dir, 'r18.onnx'), name: 'r18', preset: 'torchvision', preprocessing: { resize: '80' }, labels: join(dir, 'labels.txt'), outDir: join(dir, 'models') });
  modelPath = imported.record.modelPath;
  await initBackend('cpu', { log: quiet });
  runId = (await runTopActivations(passOptions(db, { model: 'r18', layers: LAYERS.join(',') }))).runId;
  projectRunId = (await runTopActivations(passOptions(db, { model: 'zfnet-tiny', layers: [1, 2, 3, 4, 5], backend: 'cpu' }))).runId;
  db.close();
  testServe = openTestServe(dbPath, join(dir, 'out'), (store) => createModelRenderer({ db: store, backend: 'auto' }));
  ({ reader, writer } = testServe);
});
after(async () => {
  await testServe.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (url: string, method: 'GET' | 'POST' = 'GET'): Promise<LightMyRequestResponse> => testServe.get(url, method);
const drain = (): Promise<void> => testServe.serve.queue.drain();
const layerNumber = (name: string): number => loadImportedModel(modelPath).graph.layers.findIndex((l) => l.name === name) + 1;

/** The image's crop as a model with this resize and input size sees it, [S, S, 3] 0..255. */
async function cropImage(path: string, squarePx: number, sizePx: number, resample: ResampleMethod): Promise<Uint8Array> {
  const square = (await decodeSquare(readFileSync(path), { squarePx, resample, cropPx: sizePx })).pixels;
  const crop = new Float32Array(sizePx * sizePx * 3);
  extractCrop(square, squarePx, computePaperCropBox('centre', squarePx, sizePx, false), null, crop);
  return Uint8Array.from(crop);
}

/** A PNG the server sent, shrunk back by its nearest-neighbour enlargement, compared with `box` of `crop`. */
async function assertPatch(png: LightMyRequestResponse, crop: Uint8Array, sizePx: number, box: PixelBox, what: string): Promise<void> {
  assert.equal(png.statusCode, 200, `${what}: ${png.body}`);
  const { data: pixels, info } = await sharp(png.rawPayload).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const scale = info.width / box.widthPx;
  assert.ok(Number.isInteger(scale) && info.height === box.heightPx * scale, `${what}: ${info.width}x${info.height} for a ${box.widthPx}x${box.heightPx} box`);
  for (let y = 0; y < box.heightPx; y++) {
    for (let x = 0; x < box.widthPx; x++) {
      for (let c = 0; c < 3; c++) {
        const got = pixels[((y * scale) * info.width + x * scale) * 3 + c];
        assert.equal(got, crop[((box.top + y) * sizePx + box.left + x) * 3 + c], `${what} pixel (${y}, ${x}, ${c})`);
      }
    }
  }
}

test('the pages name the layers as the model does: runs, layers, unit table, unit page, image page', async () => {
  const runs = (await get('/')).body;
  assert.match(runs, new RegExp(`<a href="/runs/${runId}">${runId}</a></td><td data-sort="r18">r18</td>`));
  const page = (await get(`/runs/${runId}`)).body;
  const links = [...page.matchAll(/<a href="\/runs\/[^/]+\/layers\/(\d+)">([^<]+)<\/a>/g)].map((m) => [Number(m[1]), m[2]]);
  assert.deepEqual(links, LAYERS.map((name) => [layerNumber(name), name]));
  const layer = (await get(`/runs/${runId}/layers/${layerNumber('layer4.1')}`));
  assert.equal(layer.statusCode, 200);
  assert.match(layer.body, new RegExp(`<title>layer4\\.1 of ${runId}</title>`));
  assert.equal((layer.body.match(/<tr data-unit=/g) ?? []).length, 32);
  const unit = (await get(`/runs/${runId}/layers/${layerNumber('layer1.0')}/units/2`)).body;
  assert.match(unit, new RegExp(`<title>layer1\\.0 unit 2 of ${runId}</title>`));
  assert.equal((unit.match(/alt="patch of rank \d"/g) ?? []).length, 9);
  assert.match(unit, /all 4 units of layer1\.0/);
  const entry = createServeQueries(reader).listTopEntries(runId, layerNumber('layer4.1'), 0)[0]!;
  const image = (await get(`/runs/${runId}/images/${entry.imageId}`)).body;
  assert.match(image, new RegExp(`<td data-sort="layer4\\.1">layer4\\.1</td><td data-sort="0"><a href="/runs/${runId}/layers/${layerNumber('layer4.1')}/units/0">0</a>`));
  const compare = (await get(`/compare?a=${runId}&b=${projectRunId}&layer=5`)).body;
  const compareLinks = [...compare.matchAll(/<a href="\/compare\?a=[^"]*&amp;layer=(\d+)">([^<]+)<\/a>/g)].map((m) => [Number(m[1]), m[2]]);
  assert.deepEqual(compareLinks, [[1, 'conv1'], [2, 'conv2'], [3, 'conv3'], [4, 'conv4'], [5, 'layer1.0 | conv5'], [10, 'layer2.0.conv2'], [29, 'layer4.1']]);
  const bad = await get(`/runs/${runId}/layers/3`);
  assert.deepEqual([bad.statusCode, bad.body], [400, `Expected a layer of run ${runId} (1, 5, 10, 29) for layer but received 3\n`]);
});

test("patches and the image are cut from the model's own crop with the recorded receptive fields", async () => {
  const model = loadImportedModel(modelPath);
  const fields = computeReceptiveFields(model.graph);
  const queries = createServeQueries(reader);
  for (const name of LAYERS) {
    const layer = model.graph.layers.find((l) => l.name === name)!;
    const entry = queries.listTopEntries(runId, layerNumber(name), 1).at(-1)!;
    const path = join(data, entry.relPath);
    assert.equal(model.preprocessing.resample, 'pil-bilinear');
    const crop = await cropImage(path, 80, 64, model.preprocessing.resample);
    const box = receptiveFieldBoxAt(fields.get(layer.node)!, entry.y, entry.x, 64);
    await assertPatch(await get(`/runs/${runId}/layers/${layerNumber(name)}/units/1/patches/${entry.rank}.png`), crop, 64, box, name);
    if (name === 'conv1') await assertPatch(await get(`/runs/${runId}/images/${entry.imageId}/image.png`), crop, 64, { top: 0, left: 0, heightPx: 64, widthPx: 64 }, 'image');
  }
  const config = buildModelConfig('zfnet-tiny', { numClasses: 3 });
  const entry = queries.listTopEntries(projectRunId, 2, 3)[0]!;
  const s = config.inputSizePx;
  const crop = await cropImage(join(data, entry.relPath), computeSquareSizePx(s), s, 'sharp-lanczos3');
  await assertPatch(await get(`/runs/${projectRunId}/layers/2/units/3/patches/0.png`), crop, s, receptiveFieldBox(layerGeometry(config, 'conv2'), entry.y, entry.x, s), 'zfnet-tiny conv2');
  assert.match((await get(`/runs/${projectRunId}`)).body, /<a href="\/runs\/[^/]+\/layers\/2">conv2<\/a>/);
});

test('the activations render runs the graph: the stored top-1 values, the layers by name and the prediction by label', async () => {
  const queries = createServeQueries(reader);
  const conv1 = layerNumber('conv1');
  const entry = queries.listTopEntries(runId, conv1, 0)[0]!;
  const api = `/api/runs/${runId}/images/${entry.imageId}/activations`;
  await get(api, 'POST');
  await drain();
  const status = (await get(api)).json() as { state: string; error: string | null };
  assert.equal(status.state, 'done', status.error ?? '');
  const result = createServeCache(writer).get('activations', runId, String(entry.imageId))!.result as {
    layers: Array<{ layer: number; unitCount: number; units: Array<{ unit: number; value: number }> }>; prediction: { index: number; name: string; prob: number };
  };
  assert.deepEqual(result.layers.map((l) => [l.layer, l.unitCount]), [[conv1, 4], [layerNumber('layer1.0'), 4], [layerNumber('layer2.0.conv2'), 8], [layerNumber('layer4.1'), 32]]);
  for (const layer of result.layers) {
    for (const u of layer.units) {
      const top = queries.listTopEntries(runId, layer.layer, u.unit).find((e) => e.imageId === entry.imageId);
      if (top !== undefined) assert.ok(Math.abs(top.value - u.value) <= 1e-5 * Math.max(1, Math.abs(top.value)), `layer ${layer.layer} unit ${u.unit}: ${u.value} vs stored ${top.value}`);
    }
  }
  assert.equal(result.layers[0]!.units.find((u) => u.unit === 0)!.value, entry.value);
  assert.equal(result.prediction.name, ['class00', 'banana', 'cherry'][result.prediction.index]);
  assert.ok(result.prediction.prob > 0 && result.prediction.prob <= 1);
  const fragment = (await get(`/runs/${runId}/images/${entry.imageId}/activations.html`)).body;
  assert.deepEqual([...fragment.matchAll(/<h3>([^<]+)<\/h3>/g)].map((m) => m[1]), LAYERS);
  assert.match(fragment, new RegExp(`model's top class: <b>${result.prediction.name}</b>`));
});

test("projections of an imported run go through the model's graph, each checked against its stored value", async () => {
  const layer = layerNumber('layer1.0');
  const projections = `/api/runs/${runId}/layers/${layer}/units/2/projections`;
  await get(projections, 'POST');
  const entries = createServeQueries(reader).listTopEntries(runId, layer, 2);
  await drain();
  const status = (await get(projections)).json() as { state: string; error: string | null };
  assert.equal(status.state, 'done', status.error ?? '');
  const result = createServeCache(writer).get('projections', runId, `${layer}:2`)!.result as { recomputed: number[]; weights: string; deconvnet: string };
  assert.equal(result.recomputed.length, 9);
  entries.forEach((e) => assert.ok(Math.abs(result.recomputed[e.rank]! - e.value) <= 1e-3 * Math.max(1, Math.abs(e.value)), `rank ${e.rank}: ${result.recomputed[e.rank]} vs ${e.value}`));
  assert.match(result.weights, /^imported model r18 \(onnx, sha256 [0-9a-f]{12}\)$/);
  const graph = loadImportedModel(modelPath).graph;
  const field = computeReceptiveFields(graph).get(graph.layers.find((l) => l.name === 'layer1.0')!.node)!;
  for (const e of entries) {
    const png = await get(`/runs/${runId}/layers/${layer}/units/2/projections/${e.rank}.png`);
    assert.equal(png.statusCode, 200);
    const { info } = await sharp(png.rawPayload).raw().toBuffer({ resolveWithObject: true });
    const box = receptiveFieldBoxAt(field, e.y, e.x, 64); // the tile is the entry's receptive field, clipped at the border
    assert.deepEqual([info.width, info.height], [box.widthPx, box.heightPx], `rank ${e.rank}`);
  }
  assert.match((await get(`/runs/${runId}/layers/${layer}/units/2`)).body, /<title>layer1\.0 unit 2 of [^<]+<\/title>[\s\S]*data-state="done"[^>]*><div class="grid" id="projection-grid">/);
});

/** The occlusion sweep done here on tfjs: the last analysed layer's strongest unit, its summed activation and p(class) per placement. */
async function computeOcclusionReference(path: string, trueClass: number | null) {
  const model = loadImportedModel(modelPath);
  const s = model.preprocessing.inputSizePx;
  const input = normalizePixels(Float32Array.from(await cropImage(path, 80, s, model.preprocessing.resample)), model.preprocessing);
  const placements = computeOccluderPlacements(s, defaultOccluderSizePx(s), defaultOccluderStridePx(s));
  const copies = [input, ...placements.map(({ rect }) => {
    const copy = Float32Array.from(input); // the mean colour is 0 after the model's normalisation
    for (let y = rect.yPx; y < rect.yPx + rect.heightPx; y++) copy.fill(0, (y * s + rect.xPx) * 3, (y * s + rect.xPx + rect.widthPx) * 3);
    return copy;
  })];
  const batch = new Float32Array(copies.length * s * s * 3);
  copies.forEach((c, i) => batch.set(c, i * s * s * 3));
  const layer = model.graph.layers.find((l) => l.name === 'layer4.1')!;
  let reference: { unit: number; sums: number[]; probs: number[] | null } | undefined;
  tf.tidy(() => {
    const values = evaluateGraph(model.graph, model.weights, tf.transpose(tf.tensor4d(batch, [copies.length, s, s, 3]), [0, 3, 1, 2]));
    const maps = values.get(layer.node)! as tf.Tensor4D; // [N, C, H, W]
    const maxima = [...tf.max(maps.slice([0, 0, 0, 0], [1, -1, -1, -1]), [0, 2, 3]).dataSync()];
    const unit = maxima.indexOf(Math.max(...maxima));
    const sums = [...tf.sum(maps.slice([0, unit, 0, 0], [-1, 1, -1, -1]), [1, 2, 3]).dataSync()];
    const probs = trueClass === null ? null : [...tf.softmax(values.get(model.graph.logits)! as tf.Tensor2D).slice([0, trueClass], [-1, 1]).dataSync()];
    reference = { unit, sums, probs };
  });
  return reference!;
}

/** Equal within 1e-4 relative: probabilities here are as small as 1e-7 (a narrow random net). */
const isClose = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-4 * Math.abs(b);

test("occlusion maps sweep the model's own input: p(true class) where its labels name the class, the strongest unit's sum otherwise", async () => {
  const images = reader.prepare("SELECT i.id, i.rel_path, c.class_key AS key FROM images i JOIN classes c ON c.dataset_id = i.dataset_id AND c.label = i.label WHERE i.split = 'val' ORDER BY i.id").all() as Array<{ id: number; rel_path: string; key: string }>;
  const labelled = images.find((i) => i.key === 'class00')!;
  const unnamed = images.find((i) => i.key === 'class01')!;
  const api = (id: number) => `/api/runs/${runId}/images/${id}/occlusion`;
  for (const image of [labelled, unnamed]) await get(api(image.id), 'POST');
  await drain();
  for (const [image, trueClass] of [[labelled, 0], [unnamed, null]] as const) {
    const status = (await get(api(image.id))).json() as { state: string; error: string | null };
    assert.equal(status.state, 'done', status.error ?? '');
    const result = createServeCache(writer).get('occlusion', runId, String(image.id))!.result as {
      layer: number; unit: number; map: string; trueClass: string | null; unoccludedTrueProb: number | null; minTrueProb: number | null; sizePx: number; stridePx: number;
    };
    const reference = await computeOcclusionReference(join(data, image.rel_path), trueClass);
    assert.deepEqual([result.layer, result.unit, result.sizePx, result.stridePx], [layerNumber('layer4.1'), reference.unit, defaultOccluderSizePx(64), defaultOccluderStridePx(64)], image.rel_path);
    if (trueClass === null) {
      assert.deepEqual([result.map, result.trueClass, result.unoccludedTrueProb, result.minTrueProb], ['feature-sum', null, null, null]);
    } else {
      assert.deepEqual([result.map, result.trueClass], ['true-class-prob', 'class00']);
      assert.ok(isClose(result.unoccludedTrueProb!, reference.probs![0]!), `unoccluded ${result.unoccludedTrueProb} vs ${reference.probs![0]}`);
      assert.ok(isClose(result.minTrueProb!, Math.min(...reference.probs!.slice(1))), `lowest ${result.minTrueProb} vs ${Math.min(...reference.probs!.slice(1))}`);
    }
    const png = await get(`/runs/${runId}/images/${image.id}/occlusion.png`);
    assert.equal(png.statusCode, 200);
    const fragment = (await get(`/runs/${runId}/images/${image.id}/occlusion.html`)).body;
    assert.match(fragment, trueClass === null
      ? new RegExp(`summed activation of layer4\\.1 unit ${reference.unit} with a square of 14 px over each position`)
      : /p\(class00\) with a square of the mean image, 14 px, over each position \(stride 5 px\)/);
  }
});

test('projections of a zfnet-tiny run still come from its recorded conv2 geometry and match the stored values', async () => {
  const api = `/api/runs/${projectRunId}/layers/2/units/3/projections`;
  await get(api, 'POST');
  await drain();
  assert.equal((await get(api)).json().state, 'done');
  const entries = createServeQueries(reader).listTopEntries(projectRunId, 2, 3);
  const result = createServeCache(writer).get('projections', projectRunId, '2:3')!.result as { recomputed: number[] };
  entries.forEach((e) => assert.ok(Math.abs(result.recomputed[e.rank]! - e.value) <= 1e-3 * Math.max(1, Math.abs(e.value)), `rank ${e.rank}`));
  const config = buildModelConfig('zfnet-tiny', { numClasses: 3 });
  const e = entries.at(-1)!;
  const { info } = await sharp((await get(`/runs/${projectRunId}/layers/2/units/3/projections/${e.rank}.png`)).rawPayload).raw().toBuffer({ resolveWithObject: true });
  const box = receptiveFieldBox(layerGeometry(config, 'conv2'), e.y, e.x, config.inputSizePx);
  assert.deepEqual([info.width, info.height], [box.widthPx, box.heightPx]);
});
