/** Test helper: the backends every deconv test runs on. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

export const TEST_BACKENDS = ['cpu', 'wasm'] as const;

/** Switches tfjs to `name` and waits until it is ready. */
export async function useBackend(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tfjs backend ${name} failed to initialise`);
  await tf.ready();
}
