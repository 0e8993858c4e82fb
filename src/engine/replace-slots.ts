/**
 * Slots: how the engine reaches a target a `replace` tier put in another's place. PURE (reads the
 * state only).
 *
 * The plan keeps the ids it was made with (a wave's targets never change under a rollout); once
 * a target is retired its slot stands for the target provisioned in its place, whose id, address
 * and labels the state records (`replacedBy` on the old entry, `replaces` on the new one). So the
 * observation window, the analysis cohort and the budget's health probes of a replaced slot reach
 * the new target, not the retired one.
 */
import type { Target } from '../spec/types.js';
import type { RolloutState, TargetState } from '../state/types.js';

/** Longest replacement chain followed (a slot replaced again by a rollback, and so on). */
const MAX_CHAIN = 64;

/**
 * The target in `id`'s slot now: `id` itself, or (after its retirement) its replacement's, then
 * theirs, and so on.
 * @param inventory - the inventory's target of an id (undefined: not listed)
 * @returns the target (from the inventory, else the address and labels the state recorded for a
 *   provisioned one), or undefined when neither knows it
 */
export function liveTarget(
  state: RolloutState | undefined,
  id: string,
  inventory: (id: string) => Target | undefined,
): Target | undefined {
  let cur = id;
  for (let i = 0; i < MAX_CHAIN; i++) {
    const ts = state?.targets[cur];
    if (ts?.retired === true && ts.replacedBy !== undefined) cur = ts.replacedBy;
    // A blue-green slot whose new pool member was observed healthy: the observation window and
    // the analysis of the new pool reach it (the old one serves until the switch).
    else if (ts?.replace?.mode === 'pool' && ts.phase === 'Succeeded' && ts.replace.new !== undefined)
      cur = ts.replace.new;
    else break;
  }
  return inventory(cur) ?? recordedTarget(state, cur);
}

/** A target a rollout provisioned, as the state recorded it (id, address, labels), or undefined. */
export function recordedTarget(state: RolloutState | undefined, id: string): Target | undefined {
  const ts = state?.targets[id];
  if (ts?.replaces !== undefined && ts.address) return { id, address: ts.address, labels: { ...(ts.labels ?? {}) } };
  return undefined;
}

/** The inventory id whose slot a provisioned target `id` took (following `replaces` back), or undefined. */
export function replacedSlot(state: RolloutState | undefined, id: string): string | undefined {
  let cur = state?.targets[id]?.replaces;
  for (let i = 0; cur !== undefined && i < MAX_CHAIN; i++) {
    const up = state?.targets[cur]?.replaces;
    if (up === undefined) return cur;
    cur = up;
  }
  return cur;
}

/**
 * Whether a slot with a replacement under way is out of service, by the step it is at:
 * - `surge`: never (the new target was in service before the old one left);
 * - `drainFirst`: from the old one's drain until the new one is in service (`retire` comes after).
 * @returns undefined for a target with no replacement (the in-place rule applies)
 */
export function replaceLeftOut(ts: Pick<TargetState, 'phase' | 'step' | 'replace' | 'retired'>): boolean | undefined {
  if (ts.replace === undefined || ts.retired) return ts.retired ? false : undefined;
  if (ts.replace.mode === 'surge' || ts.replace.mode === 'pool') return false;
  if (ts.phase !== 'Progressing' && ts.phase !== 'Failed' && ts.phase !== 'RollbackFailed') return false;
  return ts.step === 'drain' || ts.step === 'provision' || ts.step === 'verifyNew' || ts.step === 'inService';
}
