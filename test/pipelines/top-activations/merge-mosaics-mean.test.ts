import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runMeanPipeline } from '../../../pipelines/shared/mean.js';
import { mergeStores } from '../../../pipelines/top-activations/merge-stores.js';
import { runMosaics } from '../../../pipelines/mosaics/mosaics.js';
import { runTopActivations } from '../../../pipelines/top-activations/top-activations.js';
import { initBackend } from '../../../src/backend/select-backend.js';
import { buildModelConfig } from '../../../src/model/architectures.js';
import { openStore } from '../../../src/store/open-store.js';
import { writeTinyDataset } from '../top-activations-fixture.js';

let dir: string;
let data: string;
const quiet = (): void => {};
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'merge-mean-'));
  data = join(dir, 'data');
  await writeTinyDataset(data, { classes: 2, perClass: 3, sizePx: 72 });
  await initBackend('wasm', { log: quiet });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('shards analysed with the fallback mean, merged into a store that holds a computed mean: mosaics uses the mean the run recorded and every projection checks', async () => {
  for (let i = 0; i < 2; i++) {
    const shard = openStore(join(dir, `shard${i}.db`));
    await runTopActivations({
      db: shard, data, split: 'val', model: 'zfnet-tiny', initSeed: 1, layers: [1], topK: 2, batchSize: 6, commitEvery: 1,
      shard: { index: i, count: 2 }, backend: 'wasm', force: false, decodeConcurrency: 2, strict: false, resumeCommand: '', log: quiet,
    });
    shard.close();
  }
  const targetPath = join(dir, 'target.db');
  const target = openStore(targetPath);
  await runMeanPipeline({ db: target, data, split: 'val', inputSizePx: buildModelConfig('zfnet-tiny').inputSizePx, outDir: join(dir, 'mean'), log: quiet });
  target.close();
  const merged = mergeStores({ sources: [join(dir, 'shard0.db'), join(dir, 'shard1.db')], into: targetPath, force: false, log: quiet });
  const db = openStore(targetPath);
  try {
    const lines: string[] = [];
    const result = await runMosaics({ db, runId: merged.runId, layers: [1], units: { kind: 'list', units: [0, 1] }, seed: 1, backend: 'wasm', outDir: join(dir, 'mosaics'), batchSize: 4, unitsPerSheet: 16, columns: 4, log: (l) => lines.push(l) });
    assert.equal(result.projections, 4);
    assert.ok(lines.some((l) => /^mean image: the built-in fallback \(.*\): the one run \S+ subtracted \(not the store's \(\d+ px, val of .*\)\)$/.test(l)), lines.join('\n'));
  } finally {
    db.close();
  }
});
