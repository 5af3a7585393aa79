/**
 * The report of a top-activations run over an imported model (a narrow
 * ResNet-18 written as ONNX by the project's builder): one section per
 * analysed layer under its own name with its unit statistics as the store
 * holds them, links to the mosaics pages of the units that have one and the
 * first sheet of the layers mosaics drew (deconvnet and guided), nothing
 * named conv1..conv5; and a zfnet-tiny run's report still by conv1..conv5.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importModel } from '../../../pipelines/import/import-model.js';
import { runMosaics, type MosaicsOptions } from '../../../pipelines/mosaics/mosaics.js';
import { writeReport } from '../../../pipelines/report/report.js';
import { runTopActivations, type TopActivationsOptions } from '../../../pipelines/top-activations/top-activations.js';
import { initBackend } from '../../../src/backend/select-backend.js';
import { openStore, type Store } from '../../../src/store/open-store.js';
import { queryUnitRows } from '../../../src/store/top-activations-store.js';
import { writeTinyDataset } from '../top-activations-fixture.js';
import { writeNarrowOnnx } from '../imported-models-fixture.js';

const quiet = (): void => {};
let dir = '';
let data = '';
let outRoot = '';
let db: Store;
let runId = '';
let projectRunId = '';

function passOptions(extra: Partial<TopActivationsOptions>): TopActivationsOptions {
  return {
    db, data, split: 'val', initSeed: 1, topK: 3, batchSize: 4, commitEvery: 1, shard: { index: 0, count: 1 }, backend: 'auto', force: false,
    decodeConcurrency: 2, strict: false, workers: 1, resumeCommand: '', log: quiet, ...extra,
  };
}

function mosaicsOptions(extra: Partial<MosaicsOptions>): MosaicsOptions {
  return { db, runId, units: { kind: 'list', units: [0, 1] }, seed: 0, backend: 'auto', batchSize: 6, workers: 0, unitsPerSheet: 16, columns: 2, log: quiet, ...extra };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'report-imported-'));
  data = join(dir, 'data');
  outRoot = join(dir, 'out');
  await writeTinyDataset(data, { classes: 2, perClass: 3, sizePx: 72 });
  writeNarrowOnnx(dir, 'r18', 'resnet18', 64, 2, 2);
  db = openStore(join(dir, 'store.db'));
  importModel({ db, file: join(dir, 'r18.onnx'), name: 'r18', preset: 'torchvision', preprocessing: {}, outDir: join(dir, 'models') });
  await initBackend('cpu', { log: quiet });
  runId = (await runTopActivations(passOptions({ model: 'r18', layers: 'conv1,layer1.0,layer4.1' }))).runId;
  await runMosaics(mosaicsOptions({ layers: 'conv1,layer1.0', outDir: join(outRoot, 'mosaics', runId) }));
  await runMosaics(mosaicsOptions({ layers: 'conv1', method: 'guided', units: { kind: 'list', units: [0] }, outDir: join(outRoot, 'mosaics', `${runId}-guided`) }));
  projectRunId = (await runTopActivations(passOptions({ model: 'zfnet-tiny', layers: [1, 2, 3, 4, 5], backend: 'cpu' }))).runId;
});
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The report's sections per layer: heading, the note under it, the sheet (if any), the table's rows. */
function readLayerSections(html: string): Array<{ name: string; note: string; sheet: string | null; rows: string[][] }> {
  return html.split('<h3 ').slice(1).map((part) => ({
    name: /^[^>]*>([^<]+)<\/h3>/.exec(part)![1]!,
    note: /<p class="note">([^<]+)<\/p>/.exec(part)![1]!,
    sheet: /<img src="([^"]+)"/.exec(part)?.[1] ?? null,
    rows: [...part.matchAll(/<tr>(<td.*?)<\/tr>/g)].map((row) => [...row[1]!.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((cell) => cell[1]!)),
  }));
}

describe('report of a run over an imported model', () => {
  it('has a section per analysed layer under its own name with the stored unit statistics and the mosaics drawn', () => {
    const result = writeReport({ db, runId, outRoot });
    assert.equal(result.passes, 1);
    const html = readFileSync(result.path, 'utf8');
    const reportDir = dirname(result.path);
    const sections = readLayerSections(html);
    assert.deepEqual(sections.map((s) => s.name), ['conv1', 'layer1.0', 'layer4.1']);
    assert.deepEqual(sections.map((s) => s.note), ['conv layer 1, 4 units, 32x32 map, receptive field 7 px', 'conv layer 5, 4 units, 16x16 map, receptive field 27 px', 'conv layer 29, 32 units, 2x2 map, receptive field 435 px']);
    for (const [i, number] of [1, 5, 29].entries()) {
      const stored = queryUnitRows(db, runId, number, { sort: 'unit', deadOnly: false, limit: null });
      const rows = sections[i]!.rows;
      assert.equal(rows.length, stored.length, sections[i]!.name);
      rows.forEach((cells, u) => {
        assert.equal(cells[0]!.replace(/<[^>]+>/g, ''), String(u));
        assert.equal(Number(cells[2]), Number(stored[u]!.firingRate!.toPrecision(4)), `${sections[i]!.name} unit ${u} firing rate`);
      });
    }
    const linked = (cells: string[]): string | null => /href="([^"]+)"/.exec(cells[0]!)?.[1] ?? null;
    for (const section of sections.slice(0, 2)) {
      const links = section.rows.map(linked);
      assert.deepEqual(links.map((l) => l !== null), [true, true, false, false], section.name);
      for (const l of links.filter((x): x is string => x !== null)) assert.ok(existsSync(resolve(reportDir, l)), l);
      assert.ok(section.sheet !== null && existsSync(resolve(reportDir, section.sheet)), `${section.name} sheet`);
    }
    assert.equal(sections[0]!.rows.map(linked)[1], `../../mosaics/${runId}/conv1/unit-0001.html`);
    assert.deepEqual([sections[2]!.sheet, sections[2]!.rows.some((cells) => linked(cells) !== null)], [null, false]);
    const index = /<a href="([^"]+)">All mosaics<\/a>/.exec(html)![1]!;
    const guided = /<a href="([^"]+)">guided mosaics<\/a>/.exec(html)![1]!;
    assert.ok(existsSync(resolve(reportDir, index)) && existsSync(resolve(reportDir, guided)));
    assert.match(html, new RegExp(`top-activations run ${runId} of r18 over val: 6 images, 0 skipped`));
    assert.doesNotMatch(html, /conv[2-5]/);
  });

  it("a zfnet-tiny run's report still has conv1..conv5, with no mosaics", () => {
    const html = readFileSync(writeReport({ db, runId: projectRunId, outRoot }).path, 'utf8');
    const sections = readLayerSections(html);
    assert.deepEqual(sections.map((s) => s.name), ['conv1', 'conv2', 'conv3', 'conv4', 'conv5']);
    assert.ok(sections.every((s) => s.sheet === null && s.rows.length > 0));
    assert.match(html, /No mosaics drawn yet \(run-pipeline mosaics\)\./);
  });
});
