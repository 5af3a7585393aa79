/**
 * A store for the explorer's tests: a tiny dataset (3 classes x 4 images,
 * 72 px), zfnet-tiny checkpoints of two "epochs" (different seeds) and a
 * finished top-activations run of layers 1-5 over each, all made here.
 */
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { runTopActivations } from '../../pipelines/top-activations/top-activations.js';
import { initBackend } from '../../src/backend/select-backend.js';
import { saveCheckpoint } from '../../src/checkpoint/checkpoint-file.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, initParams } from '../../src/model/params.js';
import type { Renderer } from '../../src/serve/render-engine.js';
import { buildServeApp, type ServeApp } from '../../src/serve/server.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import { createServeCache } from '../../src/store/serve-cache.js';
import { createServeQueries } from '../../src/store/serve-queries.js';
import { writeTinyDataset } from '../pipelines/top-activations-fixture.js';

export interface ServeFixture {
  dbPath: string;
  dataRoot: string;
  /** The two runs, epoch 1 then epoch 2. */
  runIds: [string, string];
}

/** Builds the store under `dir` (about 15 s on wasm). */
export async function writeServeFixture(dir: string): Promise<ServeFixture> {
  const dataRoot = join(dir, 'data');
  await writeTinyDataset(dataRoot, { classes: 3, perClass: 4, sizePx: 72 });
  await initBackend('wasm', { log: () => undefined });
  const config = buildModelConfig('zfnet-tiny', { numClasses: 3 });
  const dbPath = join(dir, 'store.db');
  const db = openStore(dbPath);
  const runIds: string[] = [];
  try {
    for (const epoch of [1, 2]) {
      const checkpoint = join(dir, 'checkpoints', `epoch-${String(epoch).padStart(4, '0')}.safetensors`);
      const params = initParams(config, 10 + epoch);
      saveCheckpoint(checkpoint, { config, params });
      disposeParams(params);
      const result = await runTopActivations({
        db, data: dataRoot, split: 'val', checkpoint, initSeed: 1, layers: [1, 2, 3, 4, 5], topK: 9,
        batchSize: 6, commitEvery: 1, shard: { index: 0, count: 1 }, backend: 'wasm', force: false,
        decodeConcurrency: 2, strict: false, resumeCommand: '', log: () => undefined,
      });
      runIds.push(result.runId);
    }
  } finally {
    db.close();
  }
  return { dbPath, dataRoot, runIds: runIds as [string, string] };
}

/** The explorer over a store as the tests drive it: pages read through a read-only handle, the cache written through another. */
export interface TestServe {
  serve: ServeApp;
  reader: Store;
  writer: Store;
  get(url: string, method?: 'GET' | 'POST'): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** Builds the app (no port: requests go through fastify's inject). */
export function openTestServe(dbPath: string, outRoot: string, createRenderer: (reader: Store) => Promise<Renderer>): TestServe {
  const writer = openStore(dbPath, { mustExist: true });
  const reader = openStore(dbPath, { mustExist: true, readonly: true });
  const serve = buildServeApp({ queries: createServeQueries(reader), cache: createServeCache(writer), createRenderer: () => createRenderer(reader), outRoot, log: () => undefined });
  return {
    serve, reader, writer,
    get: (url, method = 'GET') => serve.app.inject({ method, url }),
    close: async () => {
      await serve.close();
      reader.close();
      writer.close();
    },
  };
}
