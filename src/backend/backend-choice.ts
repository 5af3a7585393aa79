/**
 * The `--backend` values and what each means for an inference pass and for
 * training. Plain data: the CLI declares the option from it, the backend
 * selection and the forward executors read it (dependencies point down: this
 * module imports nothing of the CLI).
 *
 * - `onnx`: onnxruntime (src/onnx) runs every forward pass; tfjs stays for
 *   training and the deconvnet.
 * - `tensorflow`, `wasm`, `cpu`: that tfjs backend runs everything.
 * - `auto`: onnx for inference, and for training tensorflow when installed,
 *   else wasm (as before the onnx engine).
 */
import { invalidParameterError } from '../errors.js';

export const BACKEND_CHOICES = Object.freeze(['auto', 'onnx', 'tensorflow', 'wasm', 'cpu'] as const);
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** The onnxruntime execution providers a user can ask for (`--execution-provider`). cpu ships inside the npm package; cuda and tensorrt need onnxruntime's GPU binaries. */
export const EXECUTION_PROVIDERS = Object.freeze(['cpu', 'cuda', 'tensorrt'] as const);
export type ExecutionProviderName = (typeof EXECUTION_PROVIDERS)[number];

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

/** The tfjs backend choices (what `initBackend` starts for tfjs work). */
export type TfjsBackendChoice = Exclude<BackendChoice, 'onnx'>;

/** Which engine runs forward passes. */
export type InferenceEngineName = 'onnx' | 'tfjs';

/** What a pass is for: inference passes go to the ONNX engine under `auto`. */
export type BackendPurpose = 'inference' | 'training';

/** The engine a forward pass runs on for a `--backend` value. */
export function inferenceEngineOf(choice: BackendChoice): InferenceEngineName {
  return choice === 'auto' || choice === 'onnx' ? 'onnx' : 'tfjs';
}

/** The tfjs backend to start for work that stays on tfjs (training, deconvnet, main-thread tensor code). */
export function tfjsChoiceOf(choice: BackendChoice): TfjsBackendChoice {
  return choice === 'onnx' ? 'auto' : choice;
}
