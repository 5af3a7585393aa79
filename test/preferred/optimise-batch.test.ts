/**
 * Preferred inputs on onnxruntime: the input gradient the optimisation climbs
 * (the lead's graph at the objective's node, run through preferred-job's
 * session function) against tf.grad for each model kind; the objective
 * rising; the same seed giving the same images; a row's result not depending
 * on the rows beside it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { lowerModelConfig } from '../../src/graph/lower-model-config.js';
import type { GraphWeights, ModelGraph } from '../../src/graph/model-graph.js';
import { loadImportedModel } from '../../src/import/imported-model-file.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, initParams, type ModelParams } from '../../src/model/params.js';
import { graphWeightsFromParams } from '../../src/onnx/graph-weights.js';
import { probeInputMapping } from '../../src/preferred/input-mapping.js';
import { optimiseBatch, type PreferredRow } from '../../src/preferred/optimise-batch.js';
import { objectiveNodeOf, preferredGraphsOf } from '../../src/preferred/preferred-graphs.js';
import { windowGradientFn } from '../../src/preferred/objective-window.js';
import { encodeOnnxModel } from '../../src/onnx/onnx-codec.js';
import { buildInputGradientGraph } from '../../src/train-graph/build-input-gradient-graph.js';
import { sessionGradientFn } from '../../src/preferred/preferred-job.js';
import { resolvePreferredSettings, type PreferredSettings } from '../../src/preferred/preferred-settings.js';
import { openStore } from '../../src/store/open-store.js';
import { useBackend } from '../deconv/backends.js';
import { relativeError, seededFloats } from '../import/graph-reference.js';
import { importNarrowModel } from '../pipelines/imported-models-fixture.js';
import { createReferenceGradient } from './reference-gradient.js';

/** A session of the gradient graph over the whole view. */
async function gradientSession(graph: ModelGraph, weights: GraphWeights, layer: string, settings: Pick<PreferredSettings, 'objective' | 'preRelu'>): Promise<{ session: ort.InferenceSession; node: string }> {
  const node = objectiveNodeOf(graph, layer, settings.preRelu);
  return { session: await ort.InferenceSession.create(encodeOnnxModel(buildInputGradientGraph(graph, weights, { node, objective: settings.objective }))), node };
}

describe('preferred inputs: the input gradient and the optimisation', () => {
  const models: Array<{ label: string; graph: ModelGraph; weights: GraphWeights; layers: string[]; scale: number }> = [];
  const params: ModelParams[] = [];
  before(async () => {
    await useBackend('cpu');
    for (const [name, layers] of [['zfnet-tiny', ['conv2', 'conv5']], ['alexnet-tiny', ['conv3']]] as const) {
      const config = buildModelConfig(name);
      const p = initParams(config, 5);
      params.push(p);
      models.push({ label: name, graph: lowerModelConfig(config), weights: graphWeightsFromParams(config, p), layers: [...layers], scale: 120 });
    }
    const dir = mkdtempSync(join(tmpdir(), 'preferred-grad-'));
    const db = openStore(join(dir, 'store.db'));
    const imported = loadImportedModel(importNarrowModel(db, dir, 'narrow-alexnet', 'alexnet', 224, 3));
    db.close();
    models.push({ label: 'imported AlexNet-shaped (torchvision preprocessing)', graph: imported.graph, weights: imported.weights, layers: ['features.10', 'features.3'], scale: 2 });
  });
  after(() => params.forEach(disposeParams));

  it('climbs the exact gradient: onnxruntime equals tf.grad for checkpoints and imported models, before and after the ReLU, both objectives', async () => {
    for (const { label, graph, weights, layers, scale } of models) {
      const { sizePx: s, channels } = graph.input;
      for (const layer of layers) {
        for (const settings of [{ objective: 'centre', preRelu: true }, { objective: 'mean', preRelu: false }] as const) {
          const { session, node } = await gradientSession(graph, weights, layer, settings);
          try {
            const units = [0, 3, 1];
            const pixels = seededFloats(units.length * s * s * channels, 17, scale);
            const actual = await sessionGradientFn(session, s, channels)(pixels, units);
            const expected = await createReferenceGradient(graph, weights, node, settings.objective)(pixels, units);
            assert.ok(expected.gradient.some((v) => v !== 0), `${label} ${layer}: zero reference gradient`);
            assert.ok(relativeError(actual.objective, expected.objective) < 1e-5, `${label} ${layer} ${JSON.stringify(settings)}: objective`);
            assert.ok(relativeError(actual.gradient, expected.gradient) < 1e-4, `${label} ${layer} ${JSON.stringify(settings)}: gradient off by ${relativeError(actual.gradient, expected.gradient)}`);
          } finally {
            await session.release();
          }
        }
      }
    }
  });

  it('runs the centre objective over a crop holding the field when there is one, with the whole view\'s gradient', async () => {
    for (const { label, graph, weights, scale } of models) {
      const { sizePx: s, channels } = graph.input;
      const layer = label.startsWith('imported') ? 'features.10' : 'conv2';
      const settings = { objective: 'centre', preRelu: true } as const;
      const graphs = preferredGraphsOf(graph, weights, 'test', layer, settings);
      assert.ok(graphs.window !== null && graphs.window.sizePx < s, `${label} ${layer}: a crop`);
      const full = await gradientSession(graph, weights, layer, settings);
      const cropped = await ort.InferenceSession.create(graphs.gradient.build().bytes);
      try {
        const units = [2, 0];
        const pixels = seededFloats(units.length * s * s * channels, 23, scale);
        const expected = await sessionGradientFn(full.session, s, channels)(pixels, units);
        const actual = await windowGradientFn(graphs.window!, s, channels, sessionGradientFn(cropped, graphs.window!.sizePx, channels))(pixels, units);
        assert.ok(relativeError(actual.objective, expected.objective) < 1e-5, `${label}: objective`);
        assert.ok(relativeError(actual.gradient, expected.gradient) < 1e-5, `${label}: gradient off by ${relativeError(actual.gradient, expected.gradient)}`);
      } finally {
        await full.session.release();
        await cropped.release();
      }
    }
  });

  it('raises the objective, gives the same images for the same seed, and a row the same result whatever rows share its batch', async () => {
    const { graph, weights } = models[0]!;
    const settings = { ...resolvePreferredSettings({ steps: 24 }, graph.input.sizePx) };
    const mapping = probeInputMapping(graph.input.sizePx, (rgb) => rgb.map((v) => v - 120));
    const { session } = await gradientSession(graph, weights, 'conv5', settings);
    try {
      const gradientOf = sessionGradientFn(session, graph.input.sizePx, 3);
      const rows: PreferredRow[] = [{ unit: 0, seed: 11 }, { unit: 5, seed: 12 }, { unit: 9, seed: 13 }];
      const first = await optimiseBatch(rows, settings, mapping, gradientOf);
      for (const image of first) {
        assert.ok(image.objective > image.startObjective, `unit ${image.unit}: ${image.startObjective} -> ${image.objective}`);
        const h = image.history;
        const early = h.slice(0, 4).reduce((a, v) => a + v, 0), late = h.slice(-4).reduce((a, v) => a + v, 0);
        assert.ok(late > early, `unit ${image.unit}: the objective rises over the steps (${[...h].map((v) => v.toFixed(2)).join(' ')})`);
        image.rgb01.forEach((v) => assert.ok(v >= 0 && v <= 1));
      }
      const again = await optimiseBatch(rows, settings, mapping, gradientOf);
      again.forEach((image, b) => assert.deepEqual(image.rgb01, first[b]!.rgb01, `unit ${image.unit}: same seed, same image`));
      const alone = await optimiseBatch([rows[1]!], settings, mapping, gradientOf);
      assert.ok(relativeError(alone[0]!.rgb01, first[1]!.rgb01) < 1e-4, 'a row alone equals the same row in a batch');
      const reseeded = await optimiseBatch([{ unit: 5, seed: 99 }], settings, mapping, gradientOf);
      assert.ok(relativeError(reseeded[0]!.rgb01, first[1]!.rgb01) > 1e-3, 'another seed, another image');
    } finally {
      await session.release();
    }
  });
});
