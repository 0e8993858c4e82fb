/**
 * The state write chain: every change the engine makes to the state in memory
 * reaches the state port through here. Writes are coalesced: every request made
 * while a write is in flight shares the one next write, so a wave of many
 * targets costs a few writes per step, not one per target and step
 * (bench/RESULTS.md: a 1,000-target wave, 5,000 writes → 11).
 */
import type { RolloutState } from '../state/types.js';
import type { StatePort } from '../state/port.js';

export class StateWriter {
  /** The last write started (or failed): later writes follow it. */
  private lastWrite: Promise<void> = Promise.resolve();
  /** The write not started yet that every change made from now on will be in. */
  private nextWrite: Promise<void> | undefined;
  /** The last commit started: commits run one at a time (the lease renewal commits beside the run's own). */
  private lastCommit: Promise<void> = Promise.resolve();

  /**
   * @param store - where the state goes
   * @param current - the state object to write (read at the moment the write starts)
   */
  constructor(
    private readonly store: StatePort,
    private readonly current: () => RolloutState,
  ) {}

  /**
   * Persists the current state. Resolves once a write that started after this call has
   * finished. A failed write poisons the chain: every later persist fails too, so no
   * target is touched after it.
   * @throws StateConflictError, StateWriteError (from the port)
   */
  persist(): Promise<void> {
    if (this.nextWrite) return this.nextWrite;
    const write = this.lastWrite.then(async () => {
      // From here on, changes need the write after this one (the state is serialized synchronously by the port).
      this.nextWrite = undefined;
      const state = this.current();
      const written = await this.store.write(state);
      state.revision = written.revision;
      state.updatedAt = written.updatedAt;
    });
    this.lastWrite = write;
    this.nextWrite = write;
    return write;
  }

  /** Asks for a write without waiting for it; its failure surfaces at the next awaited write. */
  persistSoon(): void {
    this.persist().catch(() => undefined);
  }

  /**
   * Persists, then makes the write durable where people look (a git commit).
   * @throws StateConflictError, StateWriteError
   */
  persistAndCommit(message: string): Promise<void> {
    const done = this.lastCommit
      .catch(() => undefined)
      .then(async () => {
        await this.persist();
        await this.store.commit(message);
      });
    this.lastCommit = done;
    return done;
  }
}
