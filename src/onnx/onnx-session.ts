/**
 * onnxruntime sessions for the graphs this project builds (IO: loads the
 * native runtime). The execution provider is chosen once (`--execution-provider`)
 * and validated here; a provider whose libraries are missing, or a graph
 * onnxruntime refuses, becomes an error that says which and why.
 */
import * as ort from 'onnxruntime-node';
import { UsageError, invalidParameterError } from '../errors.js';

/** The execution providers a user can ask for. cpu ships inside the npm package; cuda and tensorrt need extra binaries. */
export const EXECUTION_PROVIDERS = Object.freeze(['cpu', 'cuda', 'tensorrt'] as const);
export type ExecutionProviderName = (typeof EXECUTION_PROVIDERS)[number];

/** What the engine records with a run. */
export interface OnnxEngineInfo {
  name: 'onnx';
  executionProvider: ExecutionProviderName;
  gpu: boolean;
  /** Compute threads: workers x intra-op threads per session. */
  threads: number;
  detail: string;
}

/**
 * The `--execution-provider` value.
 * @throws RangeError 'Expected one of cpu, cuda, tensorrt for execution-provider but received "rocm"' (a usage error).
 */
export function parseExecutionProvider(value: unknown): ExecutionProviderName {
  if (value === undefined || value === null) return 'cpu';
  if (typeof value !== 'string' || !(EXECUTION_PROVIDERS as readonly string[]).includes(value)) {
    throw invalidParameterError('execution-provider', `one of ${EXECUTION_PROVIDERS.join(', ')}`, value);
  }
  return value as ExecutionProviderName;
}

/** The onnxruntime-node version (recorded in the engine line). */
export function onnxRuntimeVersion(): string {
  return ort.env.versions.node ?? ort.env.versions.common;
}

export interface OnnxSessionOptions {
  executionProvider: ExecutionProviderName;
  /** Intra-op threads of the session (1 in a worker thread of the pool). */
  intraOpThreads: number;
}

/** Names the graph in error messages. */
export interface GraphLabel {
  /** e.g. "top-activations graph of zfnet" */
  description: string;
  /** The cached file the graph was read from, when it came from one. */
  path?: string;
}

const PROVIDER_HINTS: Readonly<Record<Exclude<ExecutionProviderName, 'cpu'>, string>> = Object.freeze({
  cuda: 'its binaries are not in the npm package: install them with `node node_modules/onnxruntime-node/script/install --onnxruntime-node-install=cuda12` (needs CUDA 12 and cuDNN 9 on the library path), or use --execution-provider cpu',
  tensorrt: 'it needs the CUDA provider binaries (`node node_modules/onnxruntime-node/script/install --onnxruntime-node-install=cuda12`) and TensorRT 10 on the library path, or use --execution-provider cpu',
});

function sessionOptions(options: OnnxSessionOptions): ort.InferenceSession.SessionOptions {
  const providers: ort.InferenceSession.ExecutionProviderConfig[] = options.executionProvider === 'cpu' ? ['cpu'] : [options.executionProvider, 'cpu'];
  return {
    executionProviders: providers,
    intraOpNumThreads: options.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Errors come back as exceptions with their message; the native log would repeat them with paths.
    logSeverityLevel: 4,
  };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
}

/**
 * A session for a built graph (bytes) or a cached graph file (path).
 * @throws UsageError naming the provider when it fails to load (missing
 *   libraries); Error "onnxruntime could not load the <graph> (<path>): <reason>"
 *   when the runtime refuses the graph.
 */
export async function createOnnxSession(model: Uint8Array | string, options: OnnxSessionOptions, label: GraphLabel): Promise<ort.InferenceSession> {
  try {
    return typeof model === 'string'
      ? await ort.InferenceSession.create(model, sessionOptions(options))
      : await ort.InferenceSession.create(model, sessionOptions(options));
  } catch (error) {
    const reason = firstLine(error);
    if (options.executionProvider !== 'cpu' && /ExecutionProvider|shared library|backend not found/i.test(reason)) {
      throw new UsageError(`Execution provider ${options.executionProvider} failed to load in onnxruntime-node ${onnxRuntimeVersion()} (${reason}): ${PROVIDER_HINTS[options.executionProvider]}`);
    }
    const where = label.path === undefined ? '' : ` (${label.path})`;
    throw new Error(`onnxruntime could not load the ${label.description}${where}: ${reason}`);
  }
}

/** The one line printed when the engine starts, like the tfjs backend line. */
export function describeOnnxEngine(info: OnnxEngineInfo): string {
  return `backend: onnx (${info.detail})`;
}

/** The engine description for `workers` sessions of `intraOpThreads` threads each. */
export function onnxEngineInfo(executionProvider: ExecutionProviderName, workers: number, intraOpThreads: number): OnnxEngineInfo {
  const layout = workers > 1 ? `${workers} worker threads x ${intraOpThreads} intra-op thread${intraOpThreads === 1 ? '' : 's'}` : `1 session, ${intraOpThreads} intra-op thread${intraOpThreads === 1 ? '' : 's'}`;
  return {
    name: 'onnx',
    executionProvider,
    gpu: executionProvider !== 'cpu',
    threads: workers * intraOpThreads,
    detail: `onnxruntime-node ${onnxRuntimeVersion()}, ${executionProvider} execution provider, ${layout}`,
  };
}
