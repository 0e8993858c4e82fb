/**
 * Bounded concurrency for the engine: a worker pool over a list, and a notifier
 * that wakes waiters when something changes (a target left the in-flight set).
 */

/**
 * Runs `worker` over `items` with at most `limit` at once, starting no new item once
 * `stop()` says so (items already started finish).
 */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  stop: () => boolean,
  worker: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length && !stop()) {
      const item = items[next++]!;
      await worker(item);
    }
  });
  await Promise.all(runners);
}

/**
 * {@link pool} that keeps each item's answer: item → what `worker` returned, in the items'
 * order (not the order they finished). An item not started because `stop()` said so is absent.
 */
export async function poolMap<T, R>(
  items: readonly T[],
  limit: number,
  stop: () => boolean,
  worker: (item: T) => Promise<R>,
): Promise<Map<T, R>> {
  const answers = new Map<T, R>();
  await pool(items, limit, stop, async (item) => {
    answers.set(item, await worker(item));
  });
  const ordered = new Map<T, R>();
  for (const item of items) if (answers.has(item)) ordered.set(item, answers.get(item)!);
  return ordered;
}

/** Wakes every `wait()`er at the next `notify()`. */
export class Notifier {
  private waiters: (() => void)[] = [];

  /** Resolves at the next `notify()`. */
  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  notify(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const wake of waiting) wake();
  }
}
