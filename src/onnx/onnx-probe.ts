/**
 * Starts the onnx engine for a pass: checks that the execution provider
 * loads by creating a one-node session on it, before any work begins, and
 * returns what the pass records.
 */
import { ONNX_DATA_TYPE } from './onnx-schema.js';
import { encodeOnnxModel } from './onnx-codec.js';
import { createOnnxSession, onnxEngineInfo, type ExecutionProviderName, type OnnxEngineInfo } from './onnx-session.js';
import { makeNode, tensorValueInfo } from './onnx-values.js';

/** A graph with one Relu: enough for onnxruntime to load the provider. */
function probeModel(): Uint8Array {
  return encodeOnnxModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'probe',
      node: [makeNode('Relu', 'relu', ['x'], ['y'])],
      input: [tensorValueInfo('x', ONNX_DATA_TYPE.FLOAT, [1])],
      output: [tensorValueInfo('y', ONNX_DATA_TYPE.FLOAT, [1])],
    },
  });
}

/**
 * Loads onnxruntime with `provider` and describes the engine.
 * @throws UsageError naming the provider when it fails to load (see createOnnxSession).
 */
export async function probeOnnxEngine(provider: ExecutionProviderName, threads: number, purpose: 'inference' | 'training' = 'inference'): Promise<OnnxEngineInfo> {
  const session = await createOnnxSession(probeModel(), { executionProvider: provider, intraOpThreads: 1 }, { description: 'probe graph' });
  await session.release();
  return onnxEngineInfo(provider, threads, purpose);
}
