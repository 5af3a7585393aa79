/**
 * The plain arrays one windowed deconvnet batch sends to onnxruntime and gets
 * back, shared by the in-process sessions and the worker threads (they cross
 * the thread boundary as transferable buffers).
 */
import * as ort from 'onnxruntime-node';
import type { Pair } from '../graph/model-graph.js';
import type { ReachPlan } from '../graph/reach-window.js';
import type { WindowBatch } from './window-inputs.js';

export interface DeconvFeeds {
  count: number;
  pixels: Float32Array;
  pixelsDims: number[];
  select: BigInt64Array;
  valid: { level: number; data: Uint8Array; sizePx: Pair }[];
}

export interface DeconvOutputs {
  /** [E] */
  activation: Float32Array;
  /** [E, C0, r0, c0] */
  projection: Float32Array;
}

/** The feeds of a prepared batch. */
export function feedsOfBatch(plan: ReachPlan, batch: WindowBatch): DeconvFeeds {
  const input = plan.levels[0]!;
  return {
    count: batch.count,
    pixels: batch.pixels,
    pixelsDims: [batch.count, input.channels, ...input.sizePx],
    select: batch.select,
    valid: [...batch.valid].map(([level, data]) => ({ level, data, sizePx: plan.levels[level]!.sizePx })),
  };
}

/** Buffers to transfer with a postMessage of the feeds. */
export function transferablesOf(feeds: DeconvFeeds): ArrayBuffer[] {
  return [feeds.pixels.buffer, feeds.select.buffer, ...feeds.valid.map((v) => v.data.buffer)] as ArrayBuffer[];
}

/** Runs one batch on a session of a deconv graph (src/onnx/build-deconv-graph.ts). */
export async function runDeconvSession(session: ort.InferenceSession, feeds: DeconvFeeds): Promise<DeconvOutputs> {
  const inputs: Record<string, ort.Tensor> = {
    pixels: new ort.Tensor('float32', feeds.pixels, feeds.pixelsDims),
    select: new ort.Tensor('int64', feeds.select, [feeds.count, 1]),
  };
  for (const v of feeds.valid) inputs[`valid.${v.level}`] = new ort.Tensor('bool', v.data, [feeds.count, 1, ...v.sizePx]);
  const out = await session.run(inputs);
  return { activation: out['activation']!.data as Float32Array, projection: out['projection']!.data as Float32Array };
}
