/**
 * Chooses and starts the TensorFlow.js backend.
 *
 * - `tensorflow`: libtensorflow through `@tensorflow/tfjs-node-gpu` or
 *   `@tensorflow/tfjs-node`. Neither is a dependency (their install downloads
 *   libtensorflow); a user who wants it runs `npm install @tensorflow/tfjs-node-gpu`.
 * - `wasm`: `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD), plus this
 *   project's extra wasm kernels. In Node it runs single-threaded: tfjs only
 *   starts its threaded build in browsers with cross-origin isolation.
 * - `cpu`: `@tensorflow/tfjs-backend-cpu`, plain JavaScript (slow, the reference).
 * - `auto`: tensorflow when one of the packages is installed and loads, else wasm.
 * - `onnx` (and `auto`): onnxruntime runs the forward passes (src/onnx,
 *   src/workers/onnx-executor.ts) and the training step (src/train-graph,
 *   src/train/onnx-trainer.ts) on the execution provider chosen with
 *   `--execution-provider`; tfjs is still started (as `auto`, quietly) for
 *   the tensor work that stays on it.
 *
 * The choice is printed once to stderr and returned as BackendInfo, which
 * commands record with their run.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { UsageError } from '../errors.js';
import { registerWasmKernels } from '../kernels/register-wasm-kernels.js';
import { inferenceEngineOf, tfjsChoiceOf, type BackendChoice, type BackendPurpose, type ExecutionProviderName } from '../backend-choice.js';

export type { BackendChoice, BackendPurpose };
export type BackendName = 'tensorflow' | 'wasm' | 'cpu' | 'onnx';

export interface BackendInfo {
  name: BackendName;
  /** True only for tensorflow when libtensorflow found a CUDA device. */
  gpu: boolean;
  /** Threads the backend computes on (wasm and cpu: 1 in Node; tensorflow: its pool, one per core). */
  threads: number;
  /** One human line, e.g. "XNNPACK, SIMD, 1 thread: tfjs-backend-wasm is single-threaded in Node". */
  detail: string;
  /** onnx only: the onnxruntime execution provider (cpu, webgpu, cuda, tensorrt). */
  executionProvider?: ExecutionProviderName;
}

/** The native packages `auto` and `tensorflow` try, in order. */
export const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

export interface InitBackendOptions {
  /** Where the one line "backend: ..." goes; default stderr. */
  log?: (line: string) => void;
  /**
   * A forward pass or a training run: under `auto` and `onnx` it goes to the
   * onnx engine, whose line says how the pass uses the cores. Absent: tfjs
   * work only (initialisation, the tfjs deconvnet), on tfjs.
   */
  purpose?: BackendPurpose;
  /** The onnx execution provider; default: the one set by setExecutionProvider (the CLI's --execution-provider), else cpu. */
  executionProvider?: ExecutionProviderName;
}

let current: { choice: BackendChoice; info: BackendInfo } | null = null;
let executionProvider: ExecutionProviderName = 'cpu';
let engine: { key: string; info: BackendInfo } | null = null;

/** Sets the execution provider of later onnx passes (the CLI calls it once with --execution-provider). */
export function setExecutionProvider(provider: ExecutionProviderName): void {
  executionProvider = provider;
}

/** The execution provider onnx passes use (see setExecutionProvider). */
export function currentExecutionProvider(): ExecutionProviderName {
  return executionProvider;
}

async function startOnnxEngine(choice: BackendChoice, purpose: BackendPurpose, options: InitBackendOptions): Promise<BackendInfo> {
  await startTfjs(tfjsChoiceOf(choice), { log: () => undefined });
  const provider = options.executionProvider ?? executionProvider;
  const key = `${choice}:${provider}:${purpose}`;
  if (engine?.key === key) return engine.info;
  const { probeOnnxEngine } = await import('../onnx/onnx-probe.js');
  const info = await probeOnnxEngine(provider, availableParallelism(), purpose);
  engine = { key, info };
  (options.log ?? ((line) => process.stderr.write(`${line}\n`)))(describeBackend(info));
  return info;
}

/**
 * Starts what a pass needs and returns what it records (BackendInfo):
 * - a `purpose` under `auto` or `onnx`: the onnx engine (its execution
 *   provider probed with a one-node graph), tfjs started quietly beside it for
 *   the tensor work that stays on tfjs; the engine line says how the pass uses
 *   the cores (worker threads for inference, one training session);
 * - otherwise a tfjs backend (`onnx` means tfjs `auto` for tfjs work).
 * Calling it again with the same choice returns the same info without
 * printing; a different choice switches backends (tensors move lazily) and prints again.
 * @throws UsageError when `tensorflow` is asked for but no native package loads,
 *   or when a backend or the execution provider fails to start.
 */
export async function initBackend(choice: BackendChoice, options: InitBackendOptions = {}): Promise<BackendInfo> {
  if (options.purpose !== undefined && inferenceEngineOf(choice) === 'onnx') return startOnnxEngine(choice, options.purpose, options);
  return startTfjs(tfjsChoiceOf(choice), options);
}

async function startTfjs(choice: Exclude<BackendChoice, 'onnx'>, options: InitBackendOptions): Promise<BackendInfo> {
  if (current !== null && current.choice === choice && tf.getBackend() === current.info.name) return current.info;
  let info: BackendInfo | null = null;
  if (choice === 'tensorflow' || choice === 'auto') info = await startTensorflow(choice === 'tensorflow');
  if (info === null) info = choice === 'cpu' ? await startCpu() : await startWasm();
  current = { choice, info };
  (options.log ?? ((line) => process.stderr.write(`${line}\n`)))(describeBackend(info));
  return info;
}

/** "backend: wasm (XNNPACK, SIMD, 1 thread: ...)". */
export function describeBackend(info: BackendInfo): string {
  return `backend: ${info.name} (${info.detail})`;
}

async function activate(name: BackendName): Promise<void> {
  let ok = false;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (error) {
    throw new UsageError(`Backend ${name} failed to start: ${(error as Error).message}`);
  }
  if (!ok) throw new UsageError(`Backend ${name} failed to start (see the messages above)`);
}

async function startCpu(): Promise<BackendInfo> {
  await activate('cpu');
  // The cpu backend prints "Hi, looks like you are running TensorFlow.js in
  // Node.js..." on its first tensor; the choice was explicit, so mark it seen.
  // (Only this message: enableProdMode would hide every tfjs warning.)
  const backend = tf.backend() as unknown as { firstUse?: boolean };
  if (backend.firstUse === true) backend.firstUse = false;
  return { name: 'cpu', gpu: false, threads: 1, detail: 'plain JavaScript, 1 thread' };
}

async function startWasm(): Promise<BackendInfo> {
  await activate('wasm');
  // tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter (and a scalar-loop
  // Conv2DBackpropInput); the project's XNNPACK-based ones replace them.
  registerWasmKernels();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { name: 'wasm', gpu: false, threads: 1, detail: `XNNPACK${simd ? ', SIMD' : ''}, 1 thread: tfjs-backend-wasm is single-threaded in Node` };
}

/**
 * Loads the first native package that imports and registers `tensorflow` in
 * this process's tfjs-core. Returns null when none does and `required` is false.
 */
async function startTensorflow(required: boolean): Promise<BackendInfo | null> {
  const failures: string[] = [];
  // libtensorflow logs its CPU-feature and CUDA probing at INFO/WARNING level;
  // keep errors only, unless the user chose a level.
  process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '2';
  for (const name of NATIVE_PACKAGES) {
    try {
      await import(name);
    } catch (error) {
      failures.push(`${name}: ${firstLine(error)}`);
      continue;
    }
    if (tf.findBackendFactory('tensorflow') === null) {
      failures.push(`${name}: loaded, but registered its backend in another copy of @tensorflow/tfjs-core (install the version matching @tensorflow/tfjs-core ${tf.version_core})`);
      continue;
    }
    await activate('tensorflow');
    const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
    const gpu = backend.isUsingGpuDevice === true;
    return { name: 'tensorflow', gpu, threads: availableParallelism(), detail: `${name}, ${gpu ? 'GPU: CUDA device found' : 'no GPU found'}` };
  }
  if (!required) return null;
  throw new UsageError(`Backend tensorflow needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node (npm install @tensorflow/tfjs-node-gpu@${tf.version_core}); none loaded: ${failures.join('; ')}`);
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  return code === 'ERR_MODULE_NOT_FOUND' ? 'not installed' : message.split('\n')[0]!;
}
