/**
 * The tests' one wait helper: poll a condition until it holds or a deadline passes. Where a test
 * waits inside `expect`, `expect.poll` does the same; this is for waits that are not assertions
 * (a run reaching a step before it is killed, a server getting ready).
 */

/**
 * The timer functions as loaded, before any test fakes them: polling waits in real time even under
 * `vi.useFakeTimers()` (where `expect.poll` would move the fake clock itself), so a test that fakes
 * `setTimeout` can wait for a request to arrive without advancing the time it controls.
 */
const realSetTimeout = globalThis.setTimeout;
const realNow = Date.now;

/** What {@link pollUntil} may be told besides the condition. */
export interface PollOptions {
  /** Appended to the error message when the time is up (the last answer seen, a log, …). */
  describe?: () => string;
  /** Milliseconds between checks (default 100). */
  intervalMs?: number;
  /** A reason to stop waiting at once (the process being waited on has exited, …); `undefined` to go on. */
  gaveUp?: () => string | undefined;
}

/**
 * Polls `check` every `intervalMs` until it resolves true. A throw counts as false (a state file
 * being replaced, a server not listening yet).
 * @param what - the error message's start, saying what was waited for
 * @param timeoutMs - how long to wait (ms)
 * @throws Error `${what} within ${timeoutMs} ms[ (reason)][; describe()]` when the time is up, or at once
 *   when `gaveUp()` returns a reason
 */
export async function pollUntil(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean> | boolean,
  o: PollOptions = {},
): Promise<void> {
  const deadline = realNow() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // Not ready yet.
    }
    const reason = o.gaveUp?.();
    if (reason !== undefined || realNow() > deadline) {
      const detail = o.describe?.();
      throw new Error(
        `${what} within ${timeoutMs} ms${reason !== undefined ? ` (${reason})` : ''}${detail ? `; ${detail}` : ''}`,
      );
    }
    await new Promise((r) => realSetTimeout(r, o.intervalMs ?? 100));
  }
}
