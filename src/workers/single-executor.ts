/**
 * The executor shape shared by the in-process engines (tfjs on the main
 * thread, one onnxruntime session): one batch at a time on the calling
 * thread, each request validated, no work after close, released once.
 */
import { validateForwardRequest, type BatchPixels, type ForwardRequest, type ForwardResultOf } from './batch-reducers.js';
import type { ForwardExecutor } from './executor-types.js';
import type { ForwardModel } from './forward-model.js';

/** Wraps `run` and `release` as a ForwardExecutor of one worker and capacity 1. */
export function createSingleExecutor(
  model: ForwardModel,
  run: <R extends ForwardRequest>(batch: BatchPixels, request: R) => Promise<ForwardResultOf<R>>,
  release: () => void | Promise<void>,
): ForwardExecutor {
  let closed = false;
  return {
    workerCount: 1,
    capacity: 1,
    async run(batch, request) {
      if (closed) throw new Error('The forward executor was closed');
      validateForwardRequest(model, request);
      return run(batch, request);
    },
    async close() {
      if (!closed) await release();
      closed = true;
    },
  };
}
