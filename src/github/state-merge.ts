/**
 * Deciding what to do when the state file changed on GitHub under a run (the
 * contents API refused our blob sha). Pure: states in, verdict out.
 *
 * The only remote change merged is an **appended approval** (a fallback approval
 * or an environment approval recorded by another job while this one ran): approvals
 * are append-only audit records that change no decision the engine took. Anything
 * else — another run advancing waves, a decision, a rollback — is a conflict to
 * report, never to overwrite.
 */
import type { Approval, RolloutState } from '../state/types.js';

/** Fields that legitimately differ between two writes of the same progress. */
const VOLATILE = new Set(['revision', 'updatedAt', 'approvals']);

export type MergeVerdict =
  | {
      ok: true;
      /** `local` plus the approvals the remote appended, with a revision above both. */
      merged: RolloutState;
      /** Approvals taken over from the remote. */
      adopted: Approval[];
    }
  | { ok: false; reason: string };

function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .filter(([, x]) => x !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    }
    return v;
  });
}

function sameApproval(a: Approval, b: Approval): boolean {
  return a.gate === b.gate && a.by === b.by && a.at === b.at;
}

/** Top-level fields (other than volatile ones) whose values differ. */
export function changedFields(a: RolloutState, b: RolloutState): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const out: string[] = [];
  for (const k of keys) {
    if (VOLATILE.has(k)) continue;
    if (
      canonical((a as unknown as Record<string, unknown>)[k]) !==
      canonical((b as unknown as Record<string, unknown>)[k])
    )
      out.push(k);
  }
  return out.sort();
}

/**
 * Three-way check of a refused state write.
 *
 * @param base - the remote state this run last read or wrote (`undefined`: the file did not exist)
 * @param remote - the remote state now
 * @param local - what this run wants to write
 * @returns `ok` with the merged state when the remote only appended approvals to `base`;
 *   otherwise the reason, naming what changed.
 */
export function mergeRemoteState(
  base: RolloutState | undefined,
  remote: RolloutState | undefined,
  local: RolloutState,
): MergeVerdict {
  if (remote === undefined) {
    return base === undefined
      ? { ok: true, merged: local, adopted: [] }
      : { ok: false, reason: 'the state file was deleted on GitHub' };
  }
  if (base === undefined) {
    return {
      ok: false,
      reason: `another run created the state file (revision ${remote.revision}, phase ${remote.phase})`,
    };
  }
  const changed = changedFields(base, remote);
  if (changed.length > 0) {
    return {
      ok: false,
      reason: `another writer changed ${changed.join(', ')} (revision ${base.revision} → ${remote.revision}, phase ${remote.phase})`,
    };
  }
  const prefixKept =
    remote.approvals.length >= base.approvals.length &&
    base.approvals.every((a, i) => sameApproval(a, remote.approvals[i]!));
  if (!prefixKept) return { ok: false, reason: 'another writer removed or rewrote recorded approvals' };
  const appended = remote.approvals.slice(base.approvals.length);
  const adopted = appended.filter((a) => !local.approvals.some((l) => sameApproval(l, a)));
  const merged: RolloutState = {
    ...local,
    approvals: [...local.approvals, ...adopted],
    revision: Math.max(local.revision, remote.revision + 1),
  };
  return { ok: true, merged, adopted };
}
