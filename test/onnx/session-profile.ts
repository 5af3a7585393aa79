/**
 * Test helper: which execution provider really ran each node of onnxruntime
 * sessions. A session asked for `[cuda, cpu]` may still run its nodes on the
 * CPU; onnxruntime's own profile (the `enableProfiling` session option) names
 * the provider of every node it ran. `profileSessions` turns profiling on for
 * the sessions this process creates (by wrapping `InferenceSession.create`);
 * a released session writes its profile. Another process gets the same by
 * `--import` of session-profile-preload.js (main thread only: worker threads
 * do not run preloaded modules, so run it with `--workers 1`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

/** The environment variable naming the profile folder for session-profile-preload.js. */
export const PROFILE_DIR_ENV = 'ZFNET_TEST_ONNX_PROFILE_DIR';

/** onnxruntime's names of the execution providers, as its profiles give them. */
export const PROFILED_PROVIDER_NAMES: Readonly<Record<string, string>> = Object.freeze({
  cpu: 'CPUExecutionProvider',
  webgpu: 'WebGpuExecutionProvider',
  cuda: 'CUDAExecutionProvider',
  tensorrt: 'TensorrtExecutionProvider',
});

/** One node run, from a profile. */
export interface ProfiledNode {
  /** e.g. "relu_kernel_time" */
  event: string;
  op: string;
  provider: string;
}

/**
 * Makes every session created from now on write its profile under `dir`
 * (one file per session); returns the function that undoes it.
 */
export function profileSessions(dir: string): () => void {
  const original = ort.InferenceSession.create;
  let count = 0;
  const create = (model: string | Uint8Array, options: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> => {
    count += 1;
    return (original as (m: string | Uint8Array, o: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>)
      .call(ort.InferenceSession, model, { ...options, enableProfiling: true, profileFilePrefix: join(dir, `session-${process.pid}-${count}`) });
  };
  ort.InferenceSession.create = create as typeof ort.InferenceSession.create;
  return () => { ort.InferenceSession.create = original; };
}

/** The node runs of every profile under `dir`. */
export function readProfiledNodes(dir: string): ProfiledNode[] {
  return readdirSync(dir).filter((f) => f.startsWith('session-') && f.endsWith('.json')).flatMap((f) => {
    const events = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Array<{ cat?: string; name?: string; args?: { op_name?: string; provider?: string } }>;
    return events.filter((e) => e.cat === 'Node' && e.args?.provider !== undefined)
      .map((e) => ({ event: e.name ?? '', op: e.args!.op_name ?? '', provider: e.args!.provider! }));
  });
}

/** "Relu on CPUExecutionProvider x 3, ..." for messages. */
export function describeNodes(nodes: readonly ProfiledNode[]): string {
  const counts = new Map<string, number>();
  for (const n of nodes) counts.set(`${n.op} on ${n.provider}`, (counts.get(`${n.op} on ${n.provider}`) ?? 0) + 1);
  return [...counts].map(([k, c]) => `${k} x ${c}`).join(', ') || 'no node runs';
}
