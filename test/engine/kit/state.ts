/**
 * An in-memory `StatePort` with the real ports' compare-and-swap: a write must carry the
 * stored revision (0 = nothing stored yet), else it throws `StateConflictError`; the
 * stored copy gets revision + 1. The state is copied synchronously when `write` is
 * called (as the file port serializes it), so later changes by the engine do not leak in, and
 * checked against the state file's schema (`checkedState`).
 */
import { StateConflictError } from '../../../src/errors.js';
import type { Clock } from '../../../src/util/clock.js';
import type { StatePort } from '../../../src/state/port.js';
import type { RolloutState } from '../../../src/state/types.js';
import { checkedState } from './schema-check.js';

export class MemoryStatePort implements StatePort {
  readonly location = 'memory://rollouts/test.state.yaml';
  private stored: RolloutState | undefined;
  /** `commit(message)` calls, in order, with the revision they made durable. */
  readonly commits: { message: string; revision: number }[] = [];
  /** Successful writes. */
  writes = 0;
  /** Called with a copy of every stored state (tests check what was on "disk" when). */
  onWrite?: (state: RolloutState) => void;

  constructor(
    private readonly clock: Clock,
    initial?: RolloutState,
  ) {
    if (initial) this.stored = structuredClone(initial);
  }

  read(): Promise<RolloutState | undefined> {
    return Promise.resolve(this.stored ? structuredClone(this.stored) : undefined);
  }

  write(state: RolloutState): Promise<RolloutState> {
    const actual = this.stored?.revision ?? 0;
    if (state.revision !== actual) {
      return Promise.reject(
        new StateConflictError(
          `${this.location} changed under this run (revision ${actual}, expected ${state.revision})`,
          state.revision,
          actual,
        ),
      );
    }
    const next: RolloutState = checkedState(
      structuredClone({ ...state, revision: actual + 1, updatedAt: this.clock.now().toISOString() }),
      `write of revision ${actual + 1}`,
    );
    this.stored = next;
    this.writes++;
    this.onWrite?.(structuredClone(next));
    return Promise.resolve(structuredClone(next));
  }

  commit(message: string): Promise<void> {
    this.commits.push({ message, revision: this.stored?.revision ?? 0 });
    return Promise.resolve();
  }

  /** The stored state (a copy); throws when nothing was written. */
  current(): RolloutState {
    if (!this.stored) throw new Error('nothing stored yet');
    return structuredClone(this.stored);
  }

  /** Replaces the stored state as another writer would (its revision goes up by one). */
  overwrite(change: (state: RolloutState) => void): void {
    const s = this.current();
    change(s);
    s.revision = (this.stored?.revision ?? 0) + 1;
    this.stored = s;
  }
}
