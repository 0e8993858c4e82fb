/**
 * Rollback waves: which targets go back together, and how many at once.
 * Pure. Rollbacks go in larger waves than the rollout (`rollback.waves`,
 * default 50 %: seed 001, "faster rollback") but a quorum tier still never
 * loses more than floor((n-1)/2) members at once (quorum procedure: seed 000).
 */
import type { RolloutSpec } from '../spec/types.js';
import { autoSizes, quorumSafeSize, resolveSize } from './size.js';
import type { PlannedTier, RolloutPlan } from './types.js';

/** One wave of a rollback: the plan's, and the one type the engine runs (`EngineDeps.planRollback`). */
export interface RollbackWave {
  /** `rollback/1`, `rollback/2`, … in the order the waves run. */
  id: string;
  /** Target ids, in the order given to {@link planRollback}. */
  targets: string[];
  /** Most targets of this wave out of service at once (≥ 1, ≤ the wave's size). */
  maxUnavailable: number;
}

/** What a wave may hold, for the tier its targets are in. */
interface Group {
  /** Tier name, or `undefined` for targets the plan does not know. */
  tier: string | undefined;
  /** Largest wave for this tier (targets). */
  cap: number;
  /** Concurrency cap from the tier (a quorum's safe size), or `Infinity`. */
  concurrencyCap: number;
  /** The quorum leader, rolled back in a wave of its own. */
  leader: string | undefined;
}

/**
 * Plans the waves of a rollback over `targetIds`, keeping their order (the
 * engine passes the touched targets newest wave first).
 *
 * - Wave size: `spec.rollback.waves` resolved against the number of targets
 *   being rolled back, n (`resolveSize`; percent → ceil(n × p / 100), `auto` →
 *   the seed 000 wave size for n), at least 1.
 * - A wave holds targets of one tier only (a new wave starts where the tier
 *   changes), so tiers are restored one after another in the order given.
 * - Quorum tier of n members (from `plan.tiers`): waves of at most
 *   floor((n-1)/2) members (1 when n ≤ 2), and the leader alone in its wave.
 * - `maxUnavailable` of a wave: `spec.rollback.maxUnavailable` resolved
 *   against n when set, else the wave's size; never above the wave's size nor,
 *   for a quorum tier, above floor((n-1)/2); at least 1.
 * - Ids the plan does not know (e.g. targets removed from the inventory since)
 *   are rolled back too, in waves of their own (one more group, as a tier is).
 * - Repeated ids are kept once (first occurrence).
 *
 * @param spec - the spec (uses `rollback`).
 * @param plan - the rollout's plan, to know each target's tier and the quorum tiers.
 * @param targetIds - targets to roll back, in the order to roll them back.
 * @param leaders - quorum leaders observed now (tier name → target id), instead of the plan's
 *   labelled ones: the engine asks the tier's `leader` step before a rollback.
 * @returns waves `rollback/1`, `rollback/2`, …; empty when `targetIds` is.
 */
export function planRollback(
  spec: Pick<RolloutSpec, 'rollback'>,
  plan: Pick<RolloutPlan, 'tiers'>,
  targetIds: readonly string[],
  leaders: Readonly<Record<string, string>> = {},
): RollbackWave[] {
  const ids = [...new Set(targetIds)];
  const n = ids.length;
  if (n === 0) return [];
  const auto = autoSizes(n).wave;
  const waveSize = Math.max(1, resolveSize(spec.rollback.waves, n, auto));
  const rollbackMaxUnavailable =
    spec.rollback.maxUnavailable === undefined
      ? undefined
      : Math.max(1, resolveSize(spec.rollback.maxUnavailable, n, auto));

  const tierOf = new Map<string, PlannedTier>();
  for (const tier of plan.tiers) for (const id of tier.targets) if (!tierOf.has(id)) tierOf.set(id, tier);
  const groupOf = (id: string): Group => {
    const tier = tierOf.get(id);
    if (!tier) return { tier: undefined, cap: waveSize, concurrencyCap: Infinity, leader: undefined };
    if (!tier.quorum) return { tier: tier.name, cap: waveSize, concurrencyCap: Infinity, leader: undefined };
    const safe = quorumSafeSize(tier.targets.length);
    return {
      tier: tier.name,
      cap: Math.min(waveSize, safe),
      concurrencyCap: safe,
      leader: leaders[tier.name] ?? tier.leader,
    };
  };

  const waves: RollbackWave[] = [];
  let current: { group: Group; targets: string[] } | undefined;
  const close = (): void => {
    if (!current || current.targets.length === 0) return;
    const size = current.targets.length;
    const wanted = rollbackMaxUnavailable ?? size;
    waves.push({
      id: `rollback/${waves.length + 1}`,
      targets: current.targets,
      maxUnavailable: Math.max(1, Math.min(wanted, size, current.group.concurrencyCap)),
    });
    current = undefined;
  };

  for (const id of ids) {
    const group = groupOf(id);
    const isLeader = group.leader === id;
    const fits =
      current !== undefined && current.group.tier === group.tier && current.targets.length < group.cap && !isLeader;
    if (!fits) {
      close();
      current = { group, targets: [] };
    }
    current!.targets.push(id);
    if (isLeader) close();
  }
  close();
  return waves;
}
