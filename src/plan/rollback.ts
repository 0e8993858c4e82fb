/**
 * Rollback batches: which targets go back together, and how many at once.
 * Pure. Rollbacks go in larger batches than the rollout (`rollback.waves`,
 * default 50 %: seed 001, "faster rollback") but a quorum tier still never
 * loses more than floor((n-1)/2) members at once (quorum procedure: seed 000).
 */
import type { RolloutSpec } from '../spec/types.js';
import { autoSizes, quorumSafeSize, resolveSize } from './size.js';
import type { PlannedTier, RolloutPlan } from './types.js';

/** One batch of a rollback. Structurally the engine's `RollbackBatch`. */
export interface PlannedRollbackBatch {
  /** `rollback/1`, `rollback/2`, … in the order the batches run. */
  id: string;
  /** Target ids, in the order given to {@link planRollback}. */
  targets: string[];
  /** Most targets of this batch out of service at once (≥ 1, ≤ batch size). */
  maxUnavailable: number;
}

/** What a batch may hold, for the tier its targets are in. */
interface Group {
  /** Tier name, or `undefined` for targets the plan does not know. */
  tier: string | undefined;
  /** Largest batch for this tier. */
  cap: number;
  /** Concurrency cap from the tier (a quorum's safe size), or `Infinity`. */
  concurrencyCap: number;
  /** The quorum leader, rolled back in a batch of its own. */
  leader: string | undefined;
}

/**
 * Plans the batches of a rollback over `targetIds`, keeping their order (the
 * engine passes the touched targets newest wave first).
 *
 * - Batch size: `spec.rollback.waves` resolved against the number of targets
 *   being rolled back, n (`resolveSize`; percent → ceil(n × p / 100), `auto` →
 *   the seed 000 wave size for n), at least 1.
 * - A batch holds targets of one tier only (a new batch starts where the tier
 *   changes), so tiers are restored one after another in the order given.
 * - Quorum tier of n members (from `plan.tiers`): batches of at most
 *   floor((n-1)/2) members (1 when n ≤ 2), and the leader alone in its batch.
 * - `maxUnavailable` of a batch: `spec.rollback.maxUnavailable` resolved
 *   against n when set, else the batch size; never above the batch size nor,
 *   for a quorum tier, above floor((n-1)/2); at least 1.
 * - Ids the plan does not know (e.g. targets removed from the inventory since)
 *   are rolled back too, batched together as one more group.
 * - Repeated ids are kept once (first occurrence).
 *
 * @param spec - the spec (uses `rollback`).
 * @param plan - the rollout's plan, to know each target's tier and the quorum tiers.
 * @param targetIds - targets to roll back, in the order to roll them back.
 * @param leaders - quorum leaders observed now (tier name → target id), instead of the plan's
 *   labelled ones: the engine asks the tier's `leader` step before a rollback.
 * @returns batches `rollback/1`, `rollback/2`, …; empty when `targetIds` is.
 */
export function planRollback(
  spec: Pick<RolloutSpec, 'rollback'>,
  plan: Pick<RolloutPlan, 'tiers'>,
  targetIds: readonly string[],
  leaders: Readonly<Record<string, string>> = {},
): PlannedRollbackBatch[] {
  const ids = [...new Set(targetIds)];
  const n = ids.length;
  if (n === 0) return [];
  const auto = autoSizes(n).wave;
  const batchSize = Math.max(1, resolveSize(spec.rollback.waves, n, auto));
  const rollbackMaxUnavailable =
    spec.rollback.maxUnavailable === undefined
      ? undefined
      : Math.max(1, resolveSize(spec.rollback.maxUnavailable, n, auto));

  const tierOf = new Map<string, PlannedTier>();
  for (const tier of plan.tiers) for (const id of tier.targets) if (!tierOf.has(id)) tierOf.set(id, tier);
  const groupOf = (id: string): Group => {
    const tier = tierOf.get(id);
    if (!tier) return { tier: undefined, cap: batchSize, concurrencyCap: Infinity, leader: undefined };
    if (!tier.quorum) return { tier: tier.name, cap: batchSize, concurrencyCap: Infinity, leader: undefined };
    const safe = quorumSafeSize(tier.targets.length);
    return {
      tier: tier.name,
      cap: Math.min(batchSize, safe),
      concurrencyCap: safe,
      leader: leaders[tier.name] ?? tier.leader,
    };
  };

  const batches: PlannedRollbackBatch[] = [];
  let current: { group: Group; targets: string[] } | undefined;
  const close = (): void => {
    if (!current || current.targets.length === 0) return;
    const size = current.targets.length;
    const wanted = rollbackMaxUnavailable ?? size;
    batches.push({
      id: `rollback/${batches.length + 1}`,
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
  return batches;
}
