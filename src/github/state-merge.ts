/**
 * Deciding what to do when the state file changed on GitHub under a run (the
 * contents API refused our blob sha). Pure: states in, verdict out.
 *
 * The only remote change merged is an **appended approval** (a fallback approval
 * or an environment approval recorded by another job while this one ran): approvals
 * are append-only audit records that change no decision the engine took. Anything
 * else — another run advancing waves, a decision, a rollback — is a conflict to
 * report, never to overwrite.
 *
 * One more rule, for the legs of a sharded wave (`run --shard i/N`, `src/engine/shard.ts`): when
 * both the remote and this write are a leg's — each changed its own entry of `shardLegs` and
 * otherwise only `targets` (and silences) — they merge key by key as long as no target, leg or
 * silence was changed differently on both sides. A run's lease, a phase, a wave, a decision:
 * any change outside those fields, on either side, is refused as before (so a dispatched
 * rollback's lease never merges with a leg, nor a leg with a rollback's lease).
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
      /**
       * Keys whose value was taken from the remote (another leg's targets, its `shardLegs` entry,
       * its silences by id): the caller copies `merged`'s values for them into its live state.
       */
      fromRemote?: LegKeys;
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

/** Keys of the fields legs of a sharded wave write, by field. */
export interface LegKeys {
  targets: string[];
  shardLegs: string[];
  silences: string[];
}

/** Fields a leg of a sharded wave writes: the only ones merged key by key. */
const LEG_FIELDS: ReadonlySet<string> = new Set(['targets', 'shardLegs', 'silences']);

type Keyed = Record<string, unknown>;

function byId(list: readonly { id: string }[] | undefined): Keyed {
  return Object.fromEntries((list ?? []).map((x) => [x.id, x]));
}

/**
 * Three-way merge of one keyed field: a key changed on one side only takes that side's value; a
 * key changed on both sides to different values is a conflict.
 */
function mergeKeyed(
  base: Keyed,
  remote: Keyed,
  local: Keyed,
): { ok: true; merged: Keyed; fromRemote: string[] } | { ok: false; key: string } {
  const merged: Keyed = { ...local };
  const fromRemote: string[] = [];
  for (const k of new Set([...Object.keys(base), ...Object.keys(remote), ...Object.keys(local)])) {
    const b = canonical(base[k]);
    const r = canonical(remote[k]);
    const l = canonical(local[k]);
    if (r === b || r === l) continue;
    if (l !== b) return { ok: false, key: k };
    fromRemote.push(k);
    if (remote[k] === undefined) delete merged[k];
    else merged[k] = remote[k];
  }
  return { ok: true, merged, fromRemote: fromRemote.sort() };
}

/**
 * The legs' rule (see the module comment): `undefined` when it does not apply (not both writes a
 * leg's, or a change outside the legs' fields), else the merged fields or the conflict.
 */
function mergeLegs(
  base: RolloutState,
  remote: RolloutState,
  local: RolloutState,
  remoteChanged: string[],
):
  | { ok: true; fields: Pick<RolloutState, 'targets' | 'shardLegs' | 'silences'>; fromRemote: LegKeys }
  | { ok: false; reason: string }
  | undefined {
  const localChanged = changedFields(base, local);
  const legsOnly = (changed: string[]) => changed.includes('shardLegs') && changed.every((k) => LEG_FIELDS.has(k));
  if (!legsOnly(remoteChanged) || !legsOnly(localChanged)) return undefined;
  const targets = mergeKeyed(base.targets, remote.targets, local.targets);
  if (!targets.ok) return { ok: false, reason: `another leg of the wave changed target ${targets.key} too` };
  const legs = mergeKeyed(base.shardLegs ?? {}, remote.shardLegs ?? {}, local.shardLegs ?? {});
  if (!legs.ok) return { ok: false, reason: `another writer changed shard leg ${legs.key} too` };
  const silences = mergeKeyed(byId(base.silences), byId(remote.silences), byId(local.silences));
  if (!silences.ok) return { ok: false, reason: `another leg of the wave changed silence ${silences.key} too` };
  const silenceList = Object.values(silences.merged) as NonNullable<RolloutState['silences']>;
  return {
    ok: true,
    fields: {
      targets: targets.merged as RolloutState['targets'],
      shardLegs: Object.keys(legs.merged).length > 0 ? (legs.merged as RolloutState['shardLegs']) : undefined,
      silences: silenceList.length > 0 || local.silences !== undefined ? silenceList : undefined,
    },
    fromRemote: { targets: targets.fromRemote, shardLegs: legs.fromRemote, silences: silences.fromRemote },
  };
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
 * Copies what a merge took from the remote (`verdict.fromRemote`) from `merged` into `live`, the
 * state the engine goes on changing, so its next write carries the other legs' changes.
 */
export function adoptMerged(live: RolloutState, merged: RolloutState, fromRemote: LegKeys | undefined): void {
  if (!fromRemote) return;
  for (const id of fromRemote.targets) {
    const t = merged.targets[id];
    if (t) live.targets[id] = structuredClone(t);
    else delete live.targets[id];
  }
  for (const key of fromRemote.shardLegs) {
    const leg = merged.shardLegs?.[key];
    if (leg) (live.shardLegs ??= {})[key] = structuredClone(leg);
    else if (live.shardLegs) delete live.shardLegs[key];
  }
  if (fromRemote.silences.length > 0) {
    const taken = new Set(fromRemote.silences);
    live.silences = [
      ...(live.silences ?? []).filter((x) => !taken.has(x.id)),
      ...(merged.silences ?? []).filter((x) => taken.has(x.id)).map((x) => structuredClone(x)),
    ];
  }
}

/**
 * Three-way check of a refused state write.
 *
 * @param base - the remote state this run last read or wrote (`undefined`: the file did not exist)
 * @param remote - the remote state now
 * @param local - what this run wants to write
 * @returns `ok` with the merged state when the remote only appended approvals to `base`, or
 *   when both are legs of a sharded wave that changed disjoint targets (`fromRemote` names what
 *   was taken over); otherwise the reason, naming what changed.
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
  const legs = changed.length > 0 ? mergeLegs(base, remote, local, changed) : undefined;
  if (legs && !legs.ok) return legs;
  if (changed.length > 0 && !legs) {
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
    ...(legs?.fields ?? {}),
    approvals: [...local.approvals, ...adopted],
    revision: Math.max(local.revision, remote.revision + 1),
  };
  return { ok: true, merged, adopted, ...(legs && { fromRemote: legs.fromRemote }) };
}
