/**
 * run-pipeline serve: the explorer over a store. It opens the store twice:
 * read-only for every page, and writable only for its cache table (after
 * applying the schema, so the table exists); both in WAL mode, so it reads
 * while other commands write. Renders run in a worker thread on the chosen
 * backend, started on the first render.
 */
import type { AddressInfo } from 'node:net';
import type { BackendChoice } from '../../src/backend/select-backend.js';
import { UsageError } from '../../src/errors.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import { createServeCache } from '../../src/store/serve-cache.js';
import { createServeQueries } from '../../src/store/serve-queries.js';
import type { Renderer } from '../../src/serve/render-engine.js';
import { buildServeApp, type ServeApp } from '../../src/serve/server.js';
import { createWorkerRenderer } from './serve-worker-renderer.js';

/** Hosts that only this machine reaches. */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '::1']);

export interface ServeOptions {
  dbPath: string;
  port: number;
  host: string;
  backend: BackendChoice;
  /** Folder renders are written under (out/serve/...). */
  outRoot: string;
  queueCapacity?: number;
  /** Default: the worker-thread model renderer. */
  createRenderer?: () => Promise<Renderer>;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  serve: ServeApp;
  /** Stops accepting, lets a running render finish, closes the renderer and the store. */
  close(): Promise<void>;
}

/** True when `host` binds beyond this machine. */
export function isExposedHost(host: string): boolean {
  return !LOOPBACK_HOSTS.has(host);
}

/**
 * Starts the explorer and returns its URL.
 * @throws UsageError when the store does not exist; the listen error when the port is taken
 */
export async function startServe(options: ServeOptions): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const writer = openStore(options.dbPath, { mustExist: true });
  let reader: Store | null = null;
  try {
    reader = openStore(options.dbPath, { mustExist: true, readonly: true });
    const serve = buildServeApp({
      queries: createServeQueries(reader), cache: createServeCache(writer), outRoot: options.outRoot, queueCapacity: options.queueCapacity, log,
      createRenderer: options.createRenderer ?? (() => createWorkerRenderer({ dbPath: options.dbPath, backend: options.backend })),
    });
    if (isExposedHost(options.host)) log(`serve: warning: listening on ${options.host}, not 127.0.0.1: anyone who reaches this machine can browse the store`);
    await serve.app.listen({ port: options.port, host: options.host }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') throw new UsageError(`Port ${options.port} on ${options.host} is in use: pass another --port (0 picks a free one)`);
      if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') throw new UsageError(`Cannot listen on host ${options.host}: ${error.message}`);
      throw error;
    });
    const address = serve.app.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const stores = [reader, writer];
    return {
      url: `http://${host}:${address.port}/`, serve,
      close: async () => {
        try { await serve.close(); } finally { for (const db of stores) db.close(); }
      },
    };
  } catch (error) {
    reader?.close();
    writer.close();
    throw error;
  }
}
