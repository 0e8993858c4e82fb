/** Time is passed in, never read with `Date.now()` inside the engine, so tests can drive it. */
export interface Clock {
  /** Current time. */
  now(): Date;
  /** Resolves after `ms` milliseconds, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

interface AbortWatchers {
  readonly callbacks: Set<() => void>;
  readonly listener: () => void;
}
const watched = new WeakMap<AbortSignal, AbortWatchers>();

/**
 * Calls `fn` once when `signal` aborts (at once, before returning, when it already has).
 * @returns a function that stops watching; call it when the work `fn` would stop is done
 *   (calling it again, or after the abort, does nothing).
 *
 * However many callers watch one signal at the same time, the signal carries a single
 * `abort` listener, removed when the last of them stops watching. A run's signal lives as
 * long as the run and is shared by every concurrent sleep, HTTP attempt and command step
 * of a wave: one listener each made Node print `MaxListenersExceededWarning: 11 abort
 * listeners added to [AbortSignal]` on every run over more than 10 targets.
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) {
    fn();
    return () => {};
  }
  let entry = watched.get(signal);
  if (entry === undefined) {
    const callbacks = new Set<() => void>();
    const listener = () => {
      watched.delete(signal);
      const pending = [...callbacks];
      callbacks.clear();
      for (const callback of pending) {
        try {
          callback();
        } catch (error) {
          // As an EventTarget listener's error would: reported, without starving the others.
          process.nextTick(() => {
            throw error;
          });
        }
      }
    };
    entry = { callbacks, listener };
    watched.set(signal, entry);
    signal.addEventListener('abort', listener, { once: true });
  }
  const own = entry;
  const callback = () => fn();
  own.callbacks.add(callback);
  return () => {
    if (!own.callbacks.delete(callback) || own.callbacks.size > 0) return;
    signal.removeEventListener('abort', own.listener);
    if (watched.get(signal) === own) watched.delete(signal);
  };
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (ms <= 0 || signal?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      const unwatch = signal ? onAbort(signal, done) : undefined;
      function done() {
        clearTimeout(timer);
        unwatch?.();
        resolve();
      }
    }),
};
