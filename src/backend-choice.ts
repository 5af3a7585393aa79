/**
 * The `--backend` values and what each means for an inference pass and for
 * training. Plain data: the CLI declares the option from it, the backend
 * selection and the forward executors read it (dependencies point down: this
 * module imports nothing of the CLI).
 *
 * - `onnx`: onnxruntime (src/onnx, src/train-graph) runs every forward pass
 *   and the training step; tfjs stays for the tfjs deconvnet and small tensor work.
 * - `tensorflow`, `wasm`, `cpu`: that tfjs backend runs everything.
 * - `auto`: onnx, for inference and training.
 */
import { invalidParameterError } from './errors.js';

export const BACKEND_CHOICES = Object.freeze(['auto', 'onnx', 'tensorflow', 'wasm', 'cpu'] as const);
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/**
 * The onnxruntime execution providers a user can ask for (`--execution-provider`).
 * cpu and webgpu (Dawn over Vulkan on Linux) ship inside the npm package;
 * cuda and tensorrt need onnxruntime's GPU binaries.
 */
export const EXECUTION_PROVIDERS = Object.freeze(['cpu', 'webgpu', 'cuda', 'tensorrt'] as const);
export type ExecutionProviderName = (typeof EXECUTION_PROVIDERS)[number];

/**
 * The `--execution-provider` value.
 * @throws RangeError 'Expected one of cpu, webgpu, cuda, tensorrt for execution-provider but received "rocm"' (a usage error).
 */
export function parseExecutionProvider(value: unknown): ExecutionProviderName {
  if (value === undefined || value === null) return 'cpu';
  if (typeof value !== 'string' || !(EXECUTION_PROVIDERS as readonly string[]).includes(value)) {
    throw invalidParameterError('execution-provider', `one of ${EXECUTION_PROVIDERS.join(', ')}`, value);
  }
  return value as ExecutionProviderName;
}

/** The tfjs backend choices (what `initBackend` starts for tfjs work). */
export type TfjsBackendChoice = Exclude<BackendChoice, 'onnx'>;

/** Which engine runs forward passes and training steps. */
export type InferenceEngineName = 'onnx' | 'tfjs';

/** What a pass is for (both go to the ONNX engine under `auto`; the engine line says how it uses the cores). */
export type BackendPurpose = 'inference' | 'training';

/** The engine a forward pass or a training run uses for a `--backend` value. */
export function inferenceEngineOf(choice: BackendChoice): InferenceEngineName {
  return choice === 'auto' || choice === 'onnx' ? 'onnx' : 'tfjs';
}

/** The tfjs backend to start for work that stays on tfjs (weight initialisation, the tfjs deconvnet, main-thread tensor code). */
export function tfjsChoiceOf(choice: BackendChoice): TfjsBackendChoice {
  return choice === 'onnx' ? 'auto' : choice;
}
