/**
 * A virtual clock for engine unit tests. `sleep` registers a timer; in `auto` mode
 * (the default) the clock jumps to the earliest timer as soon as every task of the
 * engine is waiting (nothing left in the microtask queue: a `setImmediate` runs), so
 * concurrent sleepers wake in time order and a 15-minute observation window runs in
 * microseconds. In manual mode time moves only with {@link FakeClock.advance}.
 */
import type { Clock } from '../../../src/util/clock.js';
import { onAbort } from '../../../src/util/clock.js';

/** 2026-01-01T12:00:00Z. */
export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
}

export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Timer[] = [];
  private scheduled = false;
  /** Number of sleeps started (how many waits the engine made). */
  sleeps = 0;

  constructor(
    start = T0,
    readonly auto = true,
  ) {
    this.t = start;
  }

  now(): Date {
    return new Date(this.t);
  }

  nowMs(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps++;
    if (signal?.aborted) return Promise.resolve();
    if (!(ms > 0)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let done = false;
      const timer: Timer = {
        at: this.t + ms,
        seq: this.seq++,
        fire: () => {
          if (done) return;
          done = true;
          unwatch();
          this.timers = this.timers.filter((x) => x !== timer);
          resolve();
        },
      };
      const unwatch = signal ? onAbort(signal, () => timer.fire()) : () => {};
      this.timers.push(timer);
      this.schedule();
    });
  }

  /** Moves time forward without waking anyone (a later run, after an environment's wait timer). */
  jump(ms: number): void {
    this.t += ms;
  }

  /** Timers waiting now. */
  get pending(): number {
    return this.timers.length;
  }

  /**
   * Manual mode: moves time forward by `ms`, waking each timer due on the way in time
   * order and letting the engine run between them.
   */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await idle();
      const next = this.earliest();
      if (!next || next.at > end) break;
      this.fireDue(next.at);
    }
    this.t = end;
    await idle();
  }

  private earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const x of this.timers) if (!best || x.at < best.at || (x.at === best.at && x.seq < best.seq)) best = x;
    return best;
  }

  private fireDue(at: number): void {
    this.t = Math.max(this.t, at);
    const due = this.timers.filter((x) => x.at <= this.t).sort((a, b) => a.at - b.at || a.seq - b.seq);
    for (const x of due) x.fire();
  }

  private schedule(): void {
    if (!this.auto || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const next = this.earliest();
      if (!next) return;
      this.fireDue(next.at);
      if (this.timers.length > 0) this.schedule();
    });
  }
}

/** Resolves once the microtask queue has drained (every in-memory task waits on something). */
export function idle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
