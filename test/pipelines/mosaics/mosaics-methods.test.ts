/**
 * mosaics --method guided|gradient on the project's own zfnet: each drawn
 * projection equals autodiff on tfjs through the lowered graph with the
 * method's ReLU rule (LRN passed unchanged), on the run's own input (its mean
 * image subtracted); the tfjs engines refuse these methods by name.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { runMosaics } from '../../../pipelines/mosaics/mosaics.js';
import { loadRunMean } from '../../../pipelines/shared/run-source.js';
import { runTopActivations } from '../../../pipelines/top-activations/top-activations.js';
import { initBackend } from '../../../src/backend/select-backend.js';
import { prepareCentreInput } from '../../../src/experiments/experiment-inputs.js';
import { lowerModelConfig } from '../../../src/graph/lower-model-config.js';
import { buildModelConfig } from '../../../src/model/architectures.js';
import { receptiveFieldBox } from '../../../src/model/geometry.js';
import { disposeParams, initParams } from '../../../src/model/params.js';
import { geometryOfLayer } from '../../../src/mosaic/mosaic-layers.js';
import { graphWeightsFromParams } from '../../../src/onnx/graph-weights.js';
import { openStore, type Store } from '../../../src/store/open-store.js';
import { getTopActivationRun, queryTopRows } from '../../../src/store/top-activations-store.js';
import { referenceProjection } from '../../onnx/projection-reference.js';
import { readNpyValues } from '../imported-models-fixture.js';
import { writeTinyDataset } from '../top-activations-fixture.js';

const quiet = (): void => {};
let dir = '';
let db: Store;
let runId = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mosaics-methods-'));
  await writeTinyDataset(join(dir, 'data'), { classes: 3, perClass: 3, sizePx: 72 });
  await initBackend('cpu', { log: quiet });
  db = openStore(join(dir, 'store.db'));
  runId = (await runTopActivations({
    db, data: join(dir, 'data'), split: 'val', model: 'zfnet-tiny', initSeed: 4, layers: [2, 3], topK: 3, batchSize: 5, commitEvery: 1,
    shard: { index: 0, count: 1 }, backend: 'auto', force: false, decodeConcurrency: 2, strict: false, workers: 1, resumeCommand: '', log: quiet,
  })).runId;
});
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('mosaics --method on the project zfnet', () => {
  it('draws guided and gradient projections equal to autodiff through the lowered graph', async () => {
    const run = getTopActivationRun(db, runId)!;
    const config = buildModelConfig('zfnet-tiny', { numClasses: 3 });
    const params = initParams(config, 4);
    const graph = lowerModelConfig(config);
    const weights = graphWeightsFromParams(config, params);
    const mean = loadRunMean(db, run);
    const s = config.inputSizePx;
    try {
      for (const method of ['guided', 'gradient'] as const) {
        const outDir = join(dir, method);
        const result = await runMosaics({ db, runId, method, layers: 'conv2,conv3', units: { kind: 'list', units: [0, 1, 2, 3] }, seed: 1, backend: 'onnx', workers: 1, outDir, batchSize: 6, unitsPerSheet: 8, columns: 4, log: quiet });
        assert.equal(result.projections, 2 * 4 * 3);
        for (const layer of run.analysedLayers) {
          const rows = queryTopRows(db, runId, layer.number, null).filter((r) => r.unit < 4);
          for (const row of rows) {
            const input = await prepareCentreInput(row.path, s, mean);
            const nchw = tf.tidy(() => tf.transpose(tf.tensor4d(input.input, [1, s, s, 3]), [0, 3, 1, 2]) as tf.Tensor4D);
            const grad = referenceProjection(graph, weights, nchw, layer.node, [(row.unit * layer.mapHeight + row.y) * layer.mapWidth + row.x], method);
            nchw.dispose();
            const box = receptiveFieldBox(geometryOfLayer(layer), row.y, row.x, s);
            const want = new Float32Array(box.heightPx * box.widthPx * 3);
            for (let y = 0; y < box.heightPx; y++) {
              for (let x = 0; x < box.widthPx; x++) for (let c = 0; c < 3; c++) want[(y * box.widthPx + x) * 3 + c] = grad[(c * s + box.top + y) * s + box.left + x]!;
            }
            const got = readNpyValues(join(outDir, layer.name, 'units', `unit-${String(row.unit).padStart(4, '0')}-rank${row.rank}.npy`));
            const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
            assert.ok(scale > 0 || row.value === 0, `${method} ${layer.name} unit ${row.unit}: reference all zero`);
            got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) <= 1e-4 * scale + 1e-9, `${method} ${layer.name} unit ${row.unit} rank ${row.rank} value ${i}: ${v} vs ${want[i]}`));
          }
        }
      }
    } finally {
      disposeParams(params);
    }
  });

  it('refuses guided on a tfjs engine by name', async () => {
    await assert.rejects(runMosaics({ db, runId, method: 'guided', units: { kind: 'all' }, seed: 1, backend: 'cpu', outDir: join(dir, 'x'), batchSize: 6, unitsPerSheet: 8, columns: 4, log: quiet }), {
      name: 'UsageError', message: '--method guided runs on the onnx engine only; use --backend auto or onnx',
    });
  });
});
