import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { initBackend } from '../../src/backend/select-backend.js';
import { EXECUTION_PROVIDERS, parseExecutionProvider, type ExecutionProviderName } from '../../src/backend-choice.js';
import { isConvTensor, readCheckpointFile, saveCheckpoint } from '../../src/checkpoint/checkpoint-file.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, type ModelParams } from '../../src/model/params.js';
import type { ModelConfig } from '../../src/model/spec.js';
import { graphBuilderFingerprint } from '../../src/onnx/graph-builder-fingerprint.js';
import { encodeOnnxModel } from '../../src/onnx/onnx-codec.js';
import { ONNX_DATA_TYPE } from '../../src/onnx/onnx-schema.js';
import { createOnnxSession } from '../../src/onnx/onnx-session.js';
import { float32Tensor, makeNode, tensorValueInfo } from '../../src/onnx/onnx-values.js';
import { runForwardRequest, type ForwardRequest, type TapArray } from '../../src/workers/batch-reducers.js';
import { createForwardExecutor, type ForwardExecutor } from '../../src/workers/forward-executor.js';
import type { LayerBatchReduction } from '../../src/topk/reduce-conv-tap.js';
import { assertReductionsEqual, makeBatch, makeParams, relativeError } from '../onnx/onnx-fixtures.js';
import { describeNodes, PROFILED_PROVIDER_NAMES, profileSessions, readProfiledNodes, type ProfiledNode } from '../onnx/session-profile.js';

const REQUESTS: ForwardRequest[] = [
  { reducer: 'top-activations', layers: [2, 5] },
  { reducer: 'logits' },
  { reducer: 'taps', taps: ['conv1', 'norm2', 'pool5', 'fc7', 'probs'] },
];

function assertSameAsTfjs(request: ForwardRequest, got: unknown, expected: unknown): void {
  if (request.reducer === 'top-activations') {
    (got as { layers: LayerBatchReduction[] }).layers.forEach((layer, i) => assertReductionsEqual(layer, (expected as { layers: LayerBatchReduction[] }).layers[i]!, `conv${layer.layer}`));
    return;
  }
  const g = request.reducer === 'logits' ? { logits: (got as { logits: TapArray }).logits } : (got as { taps: Record<string, TapArray> }).taps;
  const e = request.reducer === 'logits' ? { logits: (expected as { logits: TapArray }).logits } : (expected as { taps: Record<string, TapArray> }).taps;
  for (const name of Object.keys(e)) {
    assert.deepEqual(g[name]!.shape, e[name]!.shape, name);
    assert.ok(relativeError(g[name]!.data, e[name]!.data) < 1e-5, `${name}: ${relativeError(g[name]!.data, e[name]!.data)}`);
  }
}

/**
 * Runs a Conv -> Relu graph once in a session made by createOnnxSession on
 * `provider`, with onnxruntime's profiling on, and returns the node runs its
 * profile records. @throws UsageError when the provider fails to load.
 */
async function profileConvRelu(provider: ExecutionProviderName, profileDir: string): Promise<ProfiledNode[]> {
  mkdirSync(profileDir, { recursive: true });
  const model = encodeOnnxModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'conv-relu',
      node: [makeNode('Conv', 'conv', ['x', 'w'], ['c']), makeNode('Relu', 'relu', ['c'], ['y'])],
      initializer: [float32Tensor('w', [2, 1, 2, 2], Float32Array.from([1, -1, 0.5, 2, -1, 0, 1, 1]))],
      input: [tensorValueInfo('x', ONNX_DATA_TYPE.FLOAT, [1, 1, 4, 4])],
      output: [tensorValueInfo('y', ONNX_DATA_TYPE.FLOAT, [1, 2, 3, 3])],
    },
  });
  const restore = profileSessions(profileDir);
  try {
    const session = await createOnnxSession(model, { executionProvider: provider, intraOpThreads: 1 }, { description: 'conv-relu graph' });
    try {
      const x = new ort.Tensor('float32', Float32Array.from({ length: 16 }, (_, i) => i - 7), [1, 1, 4, 4]);
      const { y } = await session.run({ x });
      assert.deepEqual(y!.dims, [1, 2, 3, 3]);
    } finally {
      await session.release(); // writes the profile
    }
  } finally {
    restore();
  }
  return readProfiledNodes(profileDir);
}

describe('onnx forward executor', () => {
  let config: ModelConfig;
  let params: ModelParams;
  let pool: ForwardExecutor;
  let dir: string;

  before(async () => {
    await initBackend('wasm', { log: () => undefined });
    config = buildModelConfig('zfnet-tiny');
    params = makeParams(config, 11);
    dir = mkdtempSync(join(tmpdir(), 'onnx-executor-'));
    pool = await createForwardExecutor({ workers: 2, backend: 'onnx', executionProvider: 'cpu', model: { kind: 'params', config, params } });
  });
  after(async () => {
    await pool.close();
    disposeParams(params);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a pool of 2 workers gives exactly the in-process results, both equal to tfjs', async () => {
    const inProcess = await createForwardExecutor({ workers: 1, backend: 'auto', executionProvider: 'cpu', model: { kind: 'params', config, params } });
    try {
      for (const request of REQUESTS) {
        const batch = makeBatch(config, 3, 7);
        const expected = await runForwardRequest(config, params, batch, request);
        const single = await inProcess.run(batch, request);
        const pooled = await pool.run({ pixels: batch.pixels.slice(), shape: batch.shape }, request);
        assert.deepEqual(pooled, single, request.reducer);
        assertSameAsTfjs(request, single, expected);
      }
    } finally {
      await inProcess.close();
    }
  });

  it('caches built graphs per checkpoint hash and rebuilds a damaged one', async () => {
    const path = join(dir, 'tiny.safetensors');
    const { sha256 } = saveCheckpoint(path, { config, params });
    const cacheDir = join(dir, 'cache');
    const request: ForwardRequest = { reducer: 'top-activations', layers: [1, 3] };
    const batch = makeBatch(config, 2, 1);
    const first = await createForwardExecutor({ workers: 1, backend: 'onnx', graphCacheDir: cacheDir, model: { kind: 'checkpoint', path } });
    const expected = await first.run(batch, request);
    await first.close();
    const builder = graphBuilderFingerprint();
    assert.match(builder, /^[0-9a-f]{12}$/);
    const file = join(cacheDir, `${sha256}-${builder}-top-conv1.conv3-lrn-pool.onnx`);
    assert.deepEqual(readdirSync(cacheDir), [`${sha256}-${builder}-top-conv1.conv3-lrn-pool.onnx`]);
    const builtAt = statSync(file).mtimeMs;
    const again = await createForwardExecutor({ workers: 2, forcePool: true, backend: 'onnx', graphCacheDir: cacheDir, model: { kind: 'checkpoint', path } });
    try {
      assert.deepEqual(await again.run({ pixels: batch.pixels.slice(), shape: batch.shape }, request), expected);
    } finally {
      await again.close();
    }
    assert.equal(statSync(file).mtimeMs, builtAt, 'the cached graph was read, not rebuilt');
    writeFileSync(file, 'not a graph');
    const repaired = await createForwardExecutor({ workers: 1, backend: 'onnx', graphCacheDir: cacheDir, model: { kind: 'params', config, params, sha256 } });
    try {
      assert.deepEqual(await repaired.run(batch, request), expected);
    } finally {
      await repaired.close();
    }
    assert.ok(statSync(file).size > 1000, 'the damaged cache entry was rebuilt');
    // A graph another build of the builders wrote (its fingerprint in the name) is never read.
    const stale = join(cacheDir, `${sha256}-000000000000-top-conv1.conv3-lrn-pool.onnx`);
    writeFileSync(stale, 'a graph from another build');
    rmSync(file);
    const fresh = await createForwardExecutor({ workers: 1, backend: 'onnx', graphCacheDir: cacheDir, model: { kind: 'params', config, params, sha256 } });
    try {
      assert.deepEqual(await fresh.run(batch, request), expected);
    } finally {
      await fresh.close();
    }
    assert.equal(readFileSync(stale, 'utf8'), 'a graph from another build');
    assert.ok(statSync(file).size > 1000);
  });

  it('a checkpoint read into memory (conv tensors only on onnx, all of them on tfjs) gives the results of its params, in-process and in a pool', async () => {
    const path = join(dir, 'contents.safetensors');
    saveCheckpoint(path, { config, params });
    const convOnly = readCheckpointFile(path, { keepTensor: isConvTensor });
    const whole = readCheckpointFile(path);
    const request: ForwardRequest = { reducer: 'top-activations', layers: [1, 2, 5] };
    const batch = makeBatch(config, 3, 5);
    const expected = await runForwardRequest(config, params, batch, request);
    const cases: Array<[string, Parameters<typeof createForwardExecutor>[0]]> = [
      ['onnx in-process', { workers: 1, backend: 'onnx', graphCacheDir: null, model: { kind: 'contents', contents: convOnly } }],
      ['onnx pool', { workers: 2, backend: 'onnx', graphCacheDir: null, model: { kind: 'contents', contents: convOnly } }],
      ['wasm in-process', { workers: 1, backend: 'wasm', model: { kind: 'contents', contents: whole } }],
      ['wasm pool', { workers: 2, backend: 'wasm', model: { kind: 'contents', contents: whole } }],
    ];
    const results: unknown[] = [];
    for (const [name, options] of cases) {
      const executor = await createForwardExecutor(options);
      try {
        results.push(await executor.run({ pixels: batch.pixels.slice(), shape: batch.shape }, request));
        assertSameAsTfjs(request, results.at(-1), expected);
      } finally {
        await executor.close();
      }
    }
    assert.deepEqual(results[1], results[0], 'the onnx pool equals onnx in-process');
    await assert.rejects(createForwardExecutor({ workers: 1, backend: 'wasm', model: { kind: 'contents', contents: convOnly } }),
      { name: 'RangeError', message: 'The checkpoint was read without tensor fc6.weight, which the tfjs model needs' });
  });

  it('refuses an unknown execution provider, listing the valid ones', () => {
    assert.throws(() => parseExecutionProvider('rocm'), { name: 'RangeError', message: 'Expected one of cpu, webgpu, cuda, tensorrt for execution-provider but received "rocm"' });
    assert.equal(parseExecutionProvider(undefined), 'cpu');
  });

  it('refuses a provider that fails to load, saying how to install it', async (t) => {
    // The npm package ships the CPU binaries only; cuda loads where its binaries were installed.
    let error: Error | null = null;
    try {
      await initBackend('onnx', { purpose: 'inference', executionProvider: 'cuda', log: () => undefined });
    } catch (e) {
      error = e as Error;
    }
    if (error === null) {
      t.skip('onnxruntime-node loads the CUDA provider here: nothing to refuse (the next test checks that it runs the nodes)');
      return;
    }
    assert.equal(error.name, 'UsageError');
    assert.match(error.message, /^Execution provider cuda failed to load in onnxruntime-node \d+\.\d+\.\d+ \(.+\): its binaries are not in the npm package: install them with `node node_modules\/onnxruntime-node\/script\/install --onnxruntime-node-install=cuda12` \(needs CUDA 12 and cuDNN 9 on the library path\), or use --execution-provider cpu$/);
  });

  it('onnxruntime\'s profile names the provider that ran each node: cpu for the cpu provider', async () => {
    const nodes = await profileConvRelu('cpu', join(dir, 'profile-cpu'));
    assert.ok(nodes.length > 0 && nodes.every((n) => n.provider === 'CPUExecutionProvider'), describeNodes(nodes));
  });

  it('a GPU provider that loads runs the graph\'s nodes itself, with no silent fallback to the CPU', async (t) => {
    const refused: string[] = [];
    let checked = 0;
    for (const provider of EXECUTION_PROVIDERS.filter((p) => p !== 'cpu')) {
      let nodes: ProfiledNode[];
      try {
        nodes = await profileConvRelu(provider, join(dir, `profile-${provider}`));
      } catch (error) {
        if ((error as Error).name !== 'UsageError') throw error;
        refused.push(provider);
        continue;
      }
      const expected = PROFILED_PROVIDER_NAMES[provider];
      assert.ok(expected !== undefined && nodes.length > 0 && nodes.every((n) => n.provider === expected), `${provider} loaded, but its session ran: ${describeNodes(nodes)}`);
      checked += 1;
    }
    if (checked === 0) t.skip(`no GPU execution provider loads here (${refused.join(', ')} refused)`);
  });

  it('refuses a graph onnxruntime cannot load, naming the graph and file', async () => {
    await assert.rejects(createOnnxSession(new Uint8Array([1, 2, 3]), { executionProvider: 'cpu', intraOpThreads: 1 }, { description: 'taps graph of zfnet-tiny' }),
      { name: 'Error', message: 'onnxruntime could not load the taps graph of zfnet-tiny: Failed to load model because protobuf parsing failed.' });
    const file = join(dir, 'bad.onnx');
    writeFileSync(file, 'garbage');
    await assert.rejects(createOnnxSession(file, { executionProvider: 'cpu', intraOpThreads: 1 }, { description: 'taps graph of zfnet-tiny', path: file }),
      { message: `onnxruntime could not load the taps graph of zfnet-tiny (${file}): Load model from ${file} failed:Protobuf parsing failed.` });
  });

  it('auto runs inference and training on onnx, each saying how it uses the cores; a tfjs choice trains on tfjs', async () => {
    const inference = await initBackend('auto', { purpose: 'inference', executionProvider: 'cpu', log: () => undefined });
    assert.equal(inference.name, 'onnx');
    assert.equal(inference.executionProvider, 'cpu');
    assert.match(inference.detail, /a worker thread with a 1-thread session per core/);
    const lines: string[] = [];
    const training = await initBackend('auto', { purpose: 'training', executionProvider: 'cpu', log: (line) => lines.push(line) });
    assert.deepEqual([training.name, training.executionProvider], ['onnx', 'cpu']);
    assert.deepEqual(lines, [`backend: onnx (onnxruntime-node ${ort.env.versions.common}, cpu execution provider, one training thread with a ${availableParallelism()}-thread session)`]);
    const tfjs = await initBackend('wasm', { purpose: 'training', log: () => undefined });
    assert.equal(tfjs.name, 'wasm');
  });

  it('refuses the webgpu provider where no adapter is found, naming it and what to install', async (t) => {
    let error: Error | null = null;
    try {
      await initBackend('onnx', { purpose: 'training', executionProvider: 'webgpu', log: () => undefined });
    } catch (e) {
      error = e as Error;
    }
    if (error === null) {
      t.skip('onnxruntime-node finds a WebGPU adapter here: nothing to refuse (the GPU tests check that it runs the nodes)');
      return;
    }
    assert.equal(error.name, 'UsageError');
    assert.match(error.message, /^Execution provider webgpu failed to load in onnxruntime-node \d+\.\d+\.\d+ \(Failed to get a WebGPU adapter: .+\): it is in the npm package but needs a GPU that Vulkan can reach \(Linux: the GPU driver with its Vulkan ICD/);
  });
});
