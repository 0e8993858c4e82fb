/**
 * One state shared by several runners, as on GitHub: each engine gets its own port whose
 * `write()` is local (compare-and-swap on its own copy) and whose `commit()` is a
 * compare-and-swap on the shared copy that, when refused, re-reads and merges through the real
 * `mergeRemoteState` (appended approvals, legs of a sharded wave on disjoint targets) and
 * throws `StateConflictError` on anything else — the GitHub port's rules without HTTP.
 */
import { StateConflictError } from '../../../src/errors.js';
import { adoptMerged, mergeRemoteState } from '../../../src/github/state-merge.js';
import type { StatePort } from '../../../src/state/port.js';
import type { RolloutState } from '../../../src/state/types.js';
import type { Clock } from '../../../src/util/clock.js';
import { checkedState } from './schema-check.js';

export class SharedStateBackend {
  private stored: RolloutState | undefined;
  /** Goes up with every commit (the blob sha's part in the compare-and-swap). */
  private seq = 0;
  /** Every commit that landed, with whether it needed a merge. */
  readonly commits: { message: string; revision: number; merged: boolean }[] = [];
  /** Refused commits (after the merge said no). */
  readonly refused: string[] = [];

  constructor(
    private readonly clock: Clock,
    initial?: RolloutState,
  ) {
    if (initial) this.stored = structuredClone(initial);
  }

  /** The shared state (a copy). */
  current(): RolloutState {
    if (!this.stored) throw new Error('nothing committed yet');
    return structuredClone(this.stored);
  }

  /** A port for one runner (one engine). */
  port(): StatePort {
    let base: RolloutState | undefined; // what this runner last read or committed
    let mine: RolloutState | undefined; // its local copy (last write)
    let live: RolloutState | undefined;
    let baseSeq = -1;
    const port: StatePort = {
      location: 'shared://rollouts/test.state.yaml',
      shared: true,
      read: () => {
        base = this.stored && structuredClone(this.stored);
        baseSeq = this.seq;
        mine = base && structuredClone(base);
        return Promise.resolve(base && structuredClone(base));
      },
      write: (state) => {
        const actual = mine?.revision ?? 0;
        if (state.revision !== actual)
          return Promise.reject(new StateConflictError('local copy changed', state.revision, actual));
        mine = checkedState(
          structuredClone({ ...state, revision: actual + 1, updatedAt: this.clock.now().toISOString() }),
          `local write of revision ${actual + 1}`,
        );
        live = state;
        return Promise.resolve(structuredClone(mine));
      },
      commit: (message) => {
        if (!mine) return Promise.resolve();
        for (let attempt = 0; attempt < 5; attempt++) {
          if (baseSeq === this.seq) {
            this.stored = checkedState(structuredClone(mine), `commit "${message}"`);
            base = structuredClone(mine);
            baseSeq = ++this.seq;
            this.commits.push({ message, revision: mine.revision, merged: attempt > 0 });
            return Promise.resolve();
          }
          const verdict = mergeRemoteState(base, this.stored, mine);
          if (!verdict.ok) {
            this.refused.push(`${message}: ${verdict.reason}`);
            return Promise.reject(
              new StateConflictError(
                `shared state changed: ${verdict.reason}`,
                base?.revision ?? 0,
                this.stored?.revision ?? 0,
              ),
            );
          }
          base = this.stored && structuredClone(this.stored);
          baseSeq = this.seq;
          mine = verdict.merged;
          if (live) {
            for (const a of verdict.adopted) live.approvals.push(a);
            adoptMerged(live, mine, verdict.fromRemote);
            live.revision = mine.revision;
          }
        }
        return Promise.reject(new StateConflictError('still refused after 5 merges', 0, 0));
      },
    };
    return port;
  }
}
