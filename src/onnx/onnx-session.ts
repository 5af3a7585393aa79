/**
 * onnxruntime sessions for the graphs this project builds (IO: loads the
 * native runtime). The execution provider is chosen once (`--execution-provider`)
 * and validated here; a provider whose libraries are missing, or a graph
 * onnxruntime refuses, becomes an error that says which and why.
 */
import * as ort from 'onnxruntime-node';
import { EXECUTION_PROVIDERS, parseExecutionProvider, type ExecutionProviderName } from '../backend-choice.js';
import { UsageError } from '../errors.js';

export { EXECUTION_PROVIDERS, parseExecutionProvider, type ExecutionProviderName };

/** What the engine records with a run. */
export interface OnnxEngineInfo {
  name: 'onnx';
  executionProvider: ExecutionProviderName;
  gpu: boolean;
  /** Compute threads: workers x intra-op threads per session, or one training session's intra-op threads. */
  threads: number;
  detail: string;
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

// onnxruntime's own log repeats, with native paths, what the exceptions below
// already say (e.g. a missing CUDA library); keep only fatal lines.
ort.env.logLevel = 'fatal';

const PROVIDER_HINTS: Readonly<Record<Exclude<ExecutionProviderName, 'cpu'>, string>> = Object.freeze({
  webgpu: 'it is in the npm package but needs a GPU that Vulkan can reach (Linux: the GPU driver with its Vulkan ICD, e.g. the NVIDIA driver or mesa-vulkan-drivers; `vulkaninfo --summary` lists what it sees), or use --execution-provider cpu',
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

/** The first line of an error, without the native source location onnxruntime puts before a failed check's message. */
function firstLine(error: unknown): string {
  const line = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
  return /^\/onnxruntime_src\/\S+:\d+ .*? was false\. (.+)$/.exec(line)?.[1] ?? line;
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
    if (options.executionProvider !== 'cpu' && /ExecutionProvider|shared library|backend not found|WebGPU adapter/i.test(reason)) {
      throw new UsageError(`Execution provider ${options.executionProvider} failed to load in onnxruntime-node ${onnxRuntimeVersion()} (${reason}): ${PROVIDER_HINTS[options.executionProvider]}`);
    }
    const where = label.path === undefined ? '' : ` (${label.path})`;
    throw new Error(`onnxruntime could not load the ${label.description}${where}: ${reason}`);
  }
}

/**
 * The engine description: `threads` compute threads, by default one worker
 * thread per core, each with a single-threaded session (forward passes, see
 * onnx-executor.ts), or, for training, one session with `threads` intra-op
 * threads in one training thread (src/train/onnx-trainer.ts).
 */
export function onnxEngineInfo(executionProvider: ExecutionProviderName, threads: number, purpose: 'inference' | 'training' = 'inference'): OnnxEngineInfo {
  const gpu = executionProvider !== 'cpu';
  const layout = purpose === 'training'
    ? `one training thread with a ${threads}-thread session`
    : `${threads} thread${threads === 1 ? '' : 's'}: a worker thread with a 1-thread session per core unless --workers says otherwise`;
  return { name: 'onnx', executionProvider, gpu, threads, detail: `onnxruntime-node ${onnxRuntimeVersion()}, ${executionProvider} execution provider${gpu ? ' (GPU)' : ''}, ${layout}` };
}
