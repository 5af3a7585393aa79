/**
 * The full-frame projector of any graph (src/deconv/graph-projector.ts) on a
 * narrow torchvision ResNet-18 and AlexNet: each entry's projection equals
 * autodiff on tfjs with the method's ReLU rule (test/onnx/projection-reference.ts),
 * its activation the direct evaluation, and it is exactly zero outside the
 * unit's receptive field; worker threads give what one session gives; the
 * project's zfnet deconvnet through this path equals the windowed engine.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { createFullFrameProjector } from '../../src/deconv/graph-projector.js';
import { createProjector, type HwcImage, type WindowEntry } from '../../src/deconv/projector.js';
import { listAnalysedLayers } from '../../src/graph/analysed-layers.js';
import { lowerModelConfig } from '../../src/graph/lower-model-config.js';
import type { GraphWeights, ModelGraph } from '../../src/graph/model-graph.js';
import { buildTorchvisionGraph } from '../../src/import/torchvision-architectures.js';
import { importTorchvisionStateDict } from '../../src/import/torchvision-import.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { receptiveFieldBox } from '../../src/model/geometry.js';
import { disposeParams, initParams } from '../../src/model/params.js';
import { geometryOfLayer } from '../../src/mosaic/mosaic-layers.js';
import { DECONV_METHODS, type DeconvMethod } from '../../src/onnx/deconv-down-rules.js';
import { graphWeightsFromParams } from '../../src/onnx/graph-weights.js';
import { useBackend } from './backends.js';
import { evaluateGraph, relativeError, seededFloats } from '../import/graph-reference.js';
import { writeStateDict } from '../import/torchvision-fixtures.js';
import { referenceProjection } from '../onnx/projection-reference.js';

interface Net { graph: ModelGraph; weights: GraphWeights }

function narrow(architecture: 'resnet18' | 'alexnet', inputSizePx: number, seed: number): Net {
  const small = buildTorchvisionGraph(architecture, { widthDivisor: 16, inputSizePx, numClasses: 3 });
  return importTorchvisionStateDict(writeStateDict(small, { seed }), { source: 'x', architecture, widthDivisor: 16, inputSizePx });
}

function imagesOf(net: Net, count: number, seed: number): HwcImage[] {
  const s = net.graph.input.sizePx;
  return Array.from({ length: count }, (_, i) => ({ data: seededFloats(s * s * 3, seed + i, 2), heightPx: s, widthPx: s, channels: 3 }));
}

/** The reference of each entry as an [S, S, 3] frame, and the reference activations. */
function referenceOf(net: Net, layerName: string, images: readonly HwcImage[], entries: readonly WindowEntry[], method: DeconvMethod): { frames: Float32Array[]; activations: number[] } {
  const layer = listAnalysedLayers(net.graph, 'position').find((l) => l.name === layerName)!;
  const s = net.graph.input.sizePx;
  const nhwc = new Float32Array(entries.length * s * s * 3);
  entries.forEach((e, i) => nhwc.set(images[e.imageIndex]!.data, i * s * s * 3));
  const nchw = tf.tidy(() => tf.transpose(tf.tensor4d(nhwc, [entries.length, s, s, 3]), [0, 3, 1, 2]) as tf.Tensor4D);
  const selects = entries.map((e) => (e.unit * layer.mapHeight + e.y) * layer.mapWidth + e.x);
  const values = tf.tidy(() => evaluateGraph(net.graph, net.weights, nchw).get(layer.node)!.reshape([entries.length, -1]).arraySync() as number[][]);
  const grad = referenceProjection(net.graph, net.weights, nchw, layer.node, selects, method);
  nchw.dispose();
  const frames = entries.map((_, e) => {
    const frame = new Float32Array(s * s * 3);
    for (let c = 0; c < 3; c++) for (let i = 0; i < s * s; i++) frame[i * 3 + c] = grad[(e * 3 + c) * s * s + i]!;
    return frame;
  });
  return { frames, activations: selects.map((sel, e) => values[e]![sel]!) };
}

/** Values of an [S, S, 3] frame outside the entry's receptive field box that are not exactly 0. */
function nonZeroOutside(net: Net, layerName: string, entry: WindowEntry, frame: Float32Array): number {
  const layer = listAnalysedLayers(net.graph, 'position').find((l) => l.name === layerName)!;
  const s = net.graph.input.sizePx;
  const box = receptiveFieldBox(geometryOfLayer(layer), entry.y, entry.x, s);
  let count = 0;
  for (let y = 0; y < s; y++) {
    for (let x = 0; x < s; x++) {
      const inside = y >= box.top && y < box.top + box.heightPx && x >= box.left && x < box.left + box.widthPx;
      for (let c = 0; c < 3; c++) if (!inside && frame[(y * s + x) * 3 + c] !== 0) count++;
    }
  }
  return count;
}

/** Where an entry's cell is: the unit's strongest cell, or its strongest one on the top row / left column (the border). */
type Where = 'max' | 'top' | 'left';

/** Entries at positive activations: per (image, unit), the strongest cell where asked. */
function pickEntries(net: Net, layerName: string, images: readonly HwcImage[], specs: ReadonlyArray<readonly [number, number, Where]>): WindowEntry[] {
  const layer = listAnalysedLayers(net.graph, 'position').find((l) => l.name === layerName)!;
  const s = net.graph.input.sizePx;
  const [h, w] = [layer.mapHeight, layer.mapWidth];
  return specs.map(([imageIndex, unit, where]) => {
    const map = tf.tidy(() => evaluateGraph(net.graph, net.weights, tf.transpose(tf.tensor4d(images[imageIndex]!.data, [1, s, s, 3]), [0, 3, 1, 2])).get(layer.node)!.dataSync() as Float32Array);
    let best = -1;
    for (let i = 0; i < h * w; i++) {
      const ok = where === 'max' || (where === 'top' ? i < w : i % w === 0);
      if (ok && (best < 0 || map[unit * h * w + i]! > map[unit * h * w + best]!)) best = i;
    }
    assert.ok(map[unit * h * w + best]! > 0, `${layerName} unit ${unit}: no positive cell (${where})`);
    return { imageIndex, unit, y: Math.floor(best / w), x: best % w };
  });
}

async function checkLayer(net: Net, layerName: string, specs: ReadonlyArray<readonly [number, number, Where]>, seed: number): Promise<void> {
  const images = imagesOf(net, 3, seed);
  const entries = pickEntries(net, layerName, images, specs);
  for (const method of DECONV_METHODS) {
    const want = referenceOf(net, layerName, images, entries, method);
    for (const workers of [0, 2]) {
      const projector = createFullFrameProjector(net.graph, net.weights, method, { workers, threads: 1 });
      try {
        const got = await projector.project(layerName, images, entries);
        assert.ok(relativeError(got.activations, Float32Array.from(want.activations)) < 1e-5, `${layerName} ${method}: activations`);
        got.projections.forEach((frame, e) => {
          assert.ok(want.frames[e]!.some((v) => v !== 0), `${layerName} ${method} entry ${e}: reference all zero`);
          const error = relativeError(frame, want.frames[e]!);
          assert.ok(error < 1e-4, `${net.graph.name} ${layerName} ${method} entry ${e} (${workers} workers): relative error ${error}`);
          assert.equal(nonZeroOutside(net, layerName, entries[e]!, frame), 0, `${layerName} ${method} entry ${e}: non-zero outside the receptive field`);
        });
      } finally {
        await projector.close();
      }
    }
  }
}

describe('full-frame projector of any graph', () => {
  before(() => useBackend('cpu'));
  after(() => tf.disposeVariables());

  it('equals autodiff with each method on a narrow ResNet-18, zero outside the field (border and centre cells)', async () => {
    const net = narrow('resnet18', 64, 3);
    await checkLayer(net, 'conv1', [[0, 1, 'top'], [1, 3, 'max']], 11);
    await checkLayer(net, 'layer1.0', [[2, 0, 'left'], [0, 2, 'max']], 12);
    await checkLayer(net, 'layer2.0.conv2', [[1, 5, 'max'], [1, 7, 'top']], 13);
  });

  it('equals autodiff with each method on a narrow AlexNet at 224 px', async () => {
    const net = narrow('alexnet', 224, 4);
    await checkLayer(net, 'features.0', [[0, 2, 'left'], [1, 0, 'max']], 21);
    await checkLayer(net, 'features.10', [[2, 9, 'max'], [0, 15, 'top']], 22);
  });

  it("gives the windowed engine's zfnet deconvnet for the project's own zfnet-tiny", async () => {
    const config = buildModelConfig('zfnet-tiny');
    const params = initParams(config, 7);
    const s = config.inputSizePx;
    const images = [0, 1].map((i) => ({ data: seededFloats(s * s * 3, 30 + i, 100), heightPx: s, widthPx: s, channels: 3 }));
    const net = { graph: lowerModelConfig(config), weights: graphWeightsFromParams(config, params) };
    const generic = createFullFrameProjector(net.graph, net.weights, 'deconvnet', { workers: 0, threads: 1 });
    const windowed = createProjector({ backend: 'onnx', config, params, workers: 0, threads: 1 });
    try {
      for (const [layer, specs] of [['conv2', [[0, 3, 'top'], [1, 7, 'max']]], ['conv5', [[1, 1, 'max'], [0, 2, 'left']]]] as const) {
        const entries = pickEntries(net, layer, images, specs);
        const [a, b] = [await generic.project(layer, images, entries), await windowed.project(layer, images, entries)];
        assert.ok(relativeError(a.activations, b.activations) < 1e-6, `${layer}: activations`);
        a.projections.forEach((frame, e) => {
          assert.ok(frame.some((v) => v !== 0));
          const error = relativeError(frame, b.projections[e]!);
          assert.ok(error < 1e-5, `${layer} entry ${e}: relative error ${error}`);
        });
      }
    } finally {
      await generic.close();
      await windowed.close();
      disposeParams(params);
    }
  });

  it('names a bad entry and a layer that is not a map', async () => {
    const net = narrow('resnet18', 32, 5);
    const projector = createFullFrameProjector(net.graph, net.weights, 'guided', { workers: 0, threads: 1 });
    try {
      await assert.rejects(projector.project('layer1.0', imagesOf(net, 1, 1), [{ imageIndex: 0, unit: 4, y: 0, x: 0 }]), {
        message: 'Projection entry 0 (image 0, unit 4, cell 0,0) is outside layer1.0: 1 images, 4 units, 8x8 map',
      });
      await assert.rejects(projector.project('fc', imagesOf(net, 1, 1), [{ imageIndex: 0, unit: 0, y: 0, x: 0 }]), { message: /^Layer fc of resnet18 is not a map \(\[3\]\)/ });
    } finally {
      await projector.close();
    }
  });
});
