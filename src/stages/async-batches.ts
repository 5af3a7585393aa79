/**
 * The sink adapter: turns a highland stream into an AsyncIterable that keeps
 * up to `prefetch` items ready ahead of the consumer. Upstream work runs while
 * the consumer computes (so a slow model is never starved), and stops when
 * the buffer is full (so memory stays bounded). Breaking out of the loop
 * destroys the stream.
 */
import _ from 'highland';

type Slot<T> = { value: T } | { error: unknown };

/** Adapts `stream` to async iteration with a bounded read-ahead (>= 1 item). */
export function iterateWithPrefetch<T>(stream: Highland.Stream<T>, prefetch: number): AsyncIterableIterator<T> {
  const ready: Array<Slot<T>> = [];
  let pulling = false;
  let ended = false;
  let wake: (() => void) | null = null;

  const fill = (): void => {
    while (!pulling && !ended && ready.length < Math.max(1, prefetch)) {
      pulling = true;
      let sync = true;
      stream.pull((error, x) => {
        pulling = false;
        if (error) { ready.push({ error }); ended = true; } else if (_.isNil(x)) ended = true; else ready.push({ value: x as T });
        wake?.();
        wake = null;
        if (!sync) fill();
      });
      sync = false;
    }
  };

  const iterator: AsyncIterableIterator<T> = {
    async next(): Promise<IteratorResult<T>> {
      fill();
      while (ready.length === 0 && !ended) {
        await new Promise<void>((resolve) => { wake = resolve; });
      }
      const slot = ready.shift();
      if (slot === undefined) return { done: true, value: undefined };
      if ('error' in slot) throw slot.error;
      fill();
      return { done: false, value: slot.value };
    },
    async return(): Promise<IteratorResult<T>> {
      ended = true;
      ready.length = 0;
      stream.destroy();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() { return iterator; },
  };
  return iterator;
}
