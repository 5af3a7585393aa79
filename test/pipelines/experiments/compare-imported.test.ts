/**
 * compare with imported models: a narrow torchvision AlexNet and ResNet-18
 * (written as ONNX by the project's builder and imported) side by side. The
 * first conv layer's statistics equal a direct computation from the model
 * file's PyTorch-layout weights; the top-9 part runs a pass of each model's
 * own layer and draws its mosaics; a rerun reuses the passes; a checkpoint
 * and an imported model compare through the CLI; refusals name the layer.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { layoutSideBySide, type Layer2Options } from '../../../pipelines/experiments/compare-layer2.js';
import { runComparePipeline } from '../../../pipelines/experiments/compare.js';
import { initBackend } from '../../../src/backend/select-backend.js';
import { computeBandEnergies } from '../../../src/experiments/filter-spectrum.js';
import { loadImportedModel } from '../../../src/import/imported-model-file.js';
import { openStore, type Store } from '../../../src/store/open-store.js';
import { getRun } from '../../../src/store/runs.js';
import { runCli } from '../../cli/run-cli.js';
import { importNarrowModel } from '../imported-models-fixture.js';
import { writeTinyDataset } from '../top-activations-fixture.js';

const quiet = (): void => {};
let dir = '';
let db: Store;
const paths = { anet: '', r18: '' };
const top9 = (layer: string): Layer2Options => ({ layer, data: join(dir, 'data'), split: 'val', units: { kind: 'list', units: [0, 1, 2, 3] }, seed: 1, backend: 'auto', workers: 1 });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'compare-imported-'));
  await writeTinyDataset(join(dir, 'data'), { classes: 2, perClass: 3, sizePx: 80 });
  await initBackend('cpu', { log: quiet });
  db = openStore(join(dir, 'store.db'));
  paths.anet = importNarrowModel(db, dir, 'anet', 'alexnet', 224, 3);
  paths.r18 = importNarrowModel(db, dir, 'r18', 'resnet18', 64, 4);
});
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Per filter of a PyTorch-layout conv weight [F, 3, k, k]: RMS, and band energies of the [k, k, 3, F] layout built here. */
function directStats(modelPath: string, weight: string): { rms: number[]; bands: ReturnType<typeof computeBandEnergies> } {
  const model = loadImportedModel(modelPath);
  const [f, c, kh, kw] = model.graph.weightShapes[weight] as [number, number, number, number];
  const values = model.weights.get(weight)!;
  const per = c * kh * kw;
  const rms = Array.from({ length: f }, (_, o) => Math.sqrt(values.subarray(o * per, (o + 1) * per).reduce((a, v) => a + v * v, 0) / per));
  const tfjs = new Float32Array(values.length);
  for (let o = 0; o < f; o++) for (let i = 0; i < c; i++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) tfjs[((y * kw + x) * c + i) * f + o] = values[((o * c + i) * kh + y) * kw + x]!;
  return { rms, bands: computeBandEnergies(tfjs, [kh, kw, c, f]) };
}

describe('compare on imported models', () => {
  it("compares the first conv layers and each model's named layer, and reuses the passes on a rerun", async () => {
    const outDir = join(dir, 'compare');
    const sources = [{ model: 'anet' }, { model: 'r18' }];
    const result = await runComparePipeline({ db, sources, deadRatio: 0.1, outDir, layer2: top9('conv2,layer1.0'), log: quiet });
    assert.deepEqual(result.summaries.map((s) => [s.label, s.model, s.filterLayer, s.kernelPx, s.filters]), [['A', 'anet', 'features.0', 11, 4], ['B', 'r18', 'conv1', 7, 4]]);
    const stored = db.prepare('SELECT checkpoint, filter, rms, band_low, band_mid, band_high FROM filter_stats WHERE run_id = ? ORDER BY checkpoint, filter').all(result.runId) as Array<{ checkpoint: string; filter: number; rms: number; band_low: number; band_mid: number; band_high: number }>;
    assert.equal(stored.length, 8);
    for (const [label, path, weight] of [['A', paths.anet, 'features.0.weight'], ['B', paths.r18, 'conv1.weight']] as const) {
      const want = directStats(path, weight);
      for (const row of stored.filter((r) => r.checkpoint === label)) {
        assert.ok(Math.abs(row.rms - want.rms[row.filter]!) <= 1e-6 * want.rms[row.filter]!, `${label} filter ${row.filter} rms`);
        const b = want.bands[row.filter]!;
        assert.deepEqual([row.band_low, row.band_mid, row.band_high].map((v) => v.toFixed(9)), [b.low, b.mid, b.high].map((v) => v.toFixed(9)), `${label} filter ${row.filter} bands`);
      }
    }
    const panels = result.layer2!.panels;
    assert.deepEqual(panels.map((p) => [p.label, p.model, p.layer, p.status, p.mosaicsDir]), [
      ['A', 'anet', 'features.3', 'finished', 'top9-A-anet-features.3'], ['B', 'r18', 'layer1.0', 'finished', 'top9-B-r18-layer1.0'],
    ]);
    assert.deepEqual(panels.map((p) => p.sheet), ['top9-A-anet-features.3/features.3/sheet-01.png', 'top9-B-r18-layer1.0/layer1.0/sheet-01.png']);
    const sheets = await Promise.all(panels.map((p) => sharp(join(outDir, p.sheet)).metadata()));
    const expected = layoutSideBySide(sheets.map((m) => ({ widthPx: m.width!, heightPx: m.height! })));
    const picture = await sharp(join(outDir, 'top9-side-by-side.png')).metadata();
    assert.deepEqual([picture.width, picture.height], [expected.widthPx, expected.heightPx]);
    for (const file of ['filters-A-anet.png', 'filters-B-r18.png', 'bands.png', 'filters.csv']) assert.ok(existsSync(join(outDir, file)), file);
    const options = getRun(db, result.runId)!.options as { models: unknown[]; layer2: { layer: string; topActivationsRuns: Array<{ layer: string; runId: string }> } };
    assert.deepEqual(options.models, [
      { label: 'A', model: 'anet', path: paths.anet, sha256: loadImportedModel(paths.anet).sha256, filterLayer: 'features.0' },
      { label: 'B', model: 'r18', path: paths.r18, sha256: loadImportedModel(paths.r18).sha256, filterLayer: 'conv1' },
    ]);
    assert.equal(options.layer2.layer, 'conv2,layer1.0');
    assert.deepEqual(options.layer2.topActivationsRuns.map((r) => [r.layer, r.runId]), panels.map((p) => [p.layer, p.topActivationsRunId]));
    const summary = JSON.parse(readFileSync(join(outDir, 'summary.json'), 'utf8')) as { summaries: Array<{ filterLayer: string }> };
    assert.deepEqual(summary.summaries.map((s) => s.filterLayer), ['features.0', 'conv1']);
    const again = await runComparePipeline({ db, sources, deadRatio: 0.1, outDir: join(dir, 'again'), layer2: top9('features.3,layer1.0'), log: quiet });
    assert.deepEqual(again.layer2!.panels.map((p) => `${p.topActivationsRunId} ${p.status}`), panels.map((p) => `${p.topActivationsRunId} already-finished`));
  });

  it('names a layer a model lacks, a wrong count of layers and an unknown model', async () => {
    const sources = [{ model: 'anet' }, { model: 'r18' }];
    await assert.rejects(runComparePipeline({ db, sources, deadRatio: 0.1, outDir: join(dir, 'bad'), layer2: top9('conv2'), log: quiet }), {
      name: 'UsageError', message: /^Expected layer names, globs or numbers of r18's map layers for --layer but received "conv2"; its map layers: 1:conv1, 2:maxpool, 3:layer1\.0\.conv1, /,
    });
    await assert.rejects(runComparePipeline({ db, sources, deadRatio: 0.1, outDir: join(dir, 'bad'), layer2: top9('conv2,conv3,conv4'), log: quiet }), {
      name: 'UsageError', message: 'Expected one layer name, or one per model (2) separated by commas, for --layer but received "conv2,conv3,conv4"',
    });
    await assert.rejects(runComparePipeline({ db, sources: [{ model: 'anet' }, { model: 'vgg' }], deadRatio: 0.1, outDir: join(dir, 'bad'), layer2: null, log: quiet }), {
      name: 'UsageError', message: 'No imported model named "vgg" in the store; imported: anet, r18',
    });
  });

  it('compares a checkpoint with an imported model through the CLI (conv2 of both: an alias of features.3)', () => {
    const checkpoint = join(dir, 'zfnet-tiny.safetensors');
    const made = runCli(['init', '--model', 'zfnet-tiny', '--out', checkpoint, '--backend', 'cpu']);
    assert.equal(made.status, 0, made.stderr);
    const args = ['compare', '--checkpoints', checkpoint, '--models', 'anet', '--data', join(dir, 'data'), '--units', '0-1', '--workers', '1', '--db', join(dir, 'store.db'), '--out', join(dir, 'cli')];
    const result = runCli(args);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^A +zfnet-tiny +conv1 +7x7 /m);
    assert.match(result.stdout, /^B +anet +features\.0 +11x11 /m);
    assert.match(result.stdout, /^A conv2 top-9: run top-activations-\S+ \(finished\), sheets in top9-A-zfnet-tiny-conv2$/m);
    assert.match(result.stdout, /^B features\.3 top-9: run top-activations-\S+ \((?:already-)?finished\), sheets in top9-B-anet-features\.3$/m);
    assert.ok(existsSync(join(dir, 'cli', 'top9-B-anet-features.3', 'features.3', 'sheet-01.png')));
    const one = runCli(['compare', '--models', 'anet', '--db', join(dir, 'store.db'), '--no-layer2']);
    assert.equal(one.status, 2);
    assert.equal(one.stderr.trim(), 'run-pipeline: Expected two models for --checkpoints and --models together but received 1');
  });
});
