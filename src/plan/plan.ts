/**
 * The planner: spec + inventory → ordered waves. PURE and deterministic: no
 * I/O, no clock, no randomness; the same spec and the same set of targets
 * give the identical plan whatever order the targets come in, so wave ids
 * keep their meaning across resumes (the state is keyed by them).
 *
 * Rules and where they come from:
 * - tiers run in the order the spec lists them — dependency order, leaf to
 *   core (upgrade order: seed 000) — and a tier finishes before the next;
 * - in a tier: canary, then waves (fleet-size table: seed 000, see `size.ts`);
 * - a quorum tier keeps a majority: at most floor((n-1)/2) members per wave,
 *   the leader alone and last (quorum procedure: seed 000).
 */
import { tierSelects } from '../inventory/select.js';
import type { RolloutSpec, Target, TierSpec } from '../spec/types.js';
import { compareNatural } from './natural-sort.js';
import { chooseCanary, listedWaves } from './explicit.js';
import { autoSizes, quorumSafeSize, resolveSize } from './size.js';
import type { PlannedTier, PlannedWave, RolloutPlan, WaveKind } from './types.js';
import { PlanWarnings } from './warnings.js';
import { applyReplaceStrategy, waveConcurrency } from './replace.js';

export { planRollback } from './rollback.js';
export { excludeFromPlan } from './exclude.js';
export { describePlan } from './describe.js';

/** A tier's waves before they get their global `index`. */
type TierWave = Omit<PlannedWave, 'index'>;

/** Splits `items` into chunks of `size` (the last one smaller). `size` ≥ 1. */
function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** True when the target's `label` is `"true"` in any letter case. */
function hasTrueLabel(target: Target, label: string): boolean {
  return Object.hasOwn(target.labels, label) && target.labels[label]!.toLowerCase() === 'true';
}

/**
 * Orders targets by id (natural order) and drops repeated ids, keeping for
 * each id the entry that sorts first by address then labels — so the result
 * does not depend on input order even when the input is inconsistent.
 */
function normalizeTargets(targets: readonly Target[]): { targets: Target[]; duplicates: string[] } {
  const key = (t: Target): string =>
    `${t.address}\u0000${JSON.stringify(Object.entries(t.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`;
  const sorted = [...targets].sort((a, b) => {
    const byId = compareNatural(a.id, b.id);
    if (byId !== 0) return byId;
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  const out: Target[] = [];
  const duplicates: string[] = [];
  for (const t of sorted) {
    const last = out[out.length - 1];
    if (last && last.id === t.id) {
      if (duplicates[duplicates.length - 1] !== t.id) duplicates.push(t.id);
      continue;
    }
    out.push(t);
  }
  return { targets: out, duplicates };
}

/**
 * The tier's disruption budget: most members out of service at once, for any reason.
 * `minAvailable` (resolved against n, rounded up) gives n − minAvailable; else `maxUnavailable`.
 * May be 0 (`minAvailable` ≥ n): then no member may be taken down.
 */
function tierBudget(s: TierSpec['strategy'], n: number, maxUnavailable: number): number {
  if (s.minAvailable === undefined) return maxUnavailable;
  return Math.max(0, n - resolveSize(s.minAvailable, n, n));
}

/** Builds a tier's waves: each holds at most the tier's budget out of service at once (never more than its targets). */
function waveMaker(tier: string, maxUnavailable: number, observeMs: number) {
  return (id: string, kind: WaveKind, targets: string[]): TierWave => ({
    id,
    tier,
    kind,
    targets,
    maxUnavailable: Math.min(maxUnavailable, targets.length),
    observeMs,
  });
}

/**
 * Waves of an ordinary (non-quorum) tier: the canary — the first members by id, or the ones the
 * spec lists or spreads (`chooseCanary`) — then chunks of the wave size of the others, or the
 * waves the spec lists (`listedWaves`).
 */
function planOrdinaryTier(
  tier: TierSpec,
  members: readonly Target[],
  warnings: string[],
  excluded: ReadonlySet<string>,
): { planned: PlannedTier; waves: TierWave[] } {
  const s = tier.strategy;
  const n = members.length;
  const auto = autoSizes(n);
  // The spec may choose the canary and the waves itself (explicit.ts).
  const chosen = chooseCanary(tier.name, s, members, warnings, excluded);
  const canaryIds = chosen?.ids ?? members.slice(0, resolveSize(s.canary, n, auto.canary)).map((t) => t.id);
  const listed = listedWaves(tier.name, s, members, new Set(canaryIds), warnings);
  const canarySize = canaryIds.length;
  const largestListed = Math.max(0, ...(listed ?? []).map((w) => w.length));
  const waveSize = n > 0 ? Math.max(1, listed ? largestListed : resolveSize(s.waves, n, auto.wave)) : 0;
  const budget = tierBudget(s, n, Math.max(1, resolveSize(s.maxUnavailable, n, auto.wave)));
  const maxUnavailable = Math.max(1, budget);
  const ids = members.map((t) => t.id);
  const waves: TierWave[] = [];
  const make = waveMaker(tier.name, maxUnavailable, s.observeMs);
  if (canarySize > 0) waves.push(make(`${tier.name}/canary`, 'canary', canaryIds));
  const inCanary = new Set(canaryIds);
  const rest = ids.filter((id) => !inCanary.has(id));
  (listed ?? chunk(rest, waveSize)).forEach((targets, i) => waves.push(make(`${tier.name}/${i + 1}`, 'wave', targets)));
  const planned: PlannedTier = {
    name: tier.name,
    targets: ids,
    quorum: false,
    canarySize,
    waveSize,
    maxUnavailable,
    budget,
  };
  if (chosen) planned.canaryChoice = chosen.choice;
  if (listed) planned.wavesListed = true;
  return { planned, waves };
}

/**
 * Waves of a quorum tier (quorum procedure: seed 000): followers first, in
 * waves of at most floor((n-1)/2) members — the first of them is the canary —
 * then the leader alone. `auto` sizes in a quorum tier mean floor((n-1)/2), so
 * the defaults give seed 000's procedure exactly (3 members: A, B, leader;
 * 5 members: A+B, C+D, leader); written counts and percents are capped by it.
 */
function planQuorumTier(
  tier: TierSpec,
  members: readonly Target[],
  warnings: string[],
  leaderStep: boolean,
): { planned: PlannedTier; waves: TierWave[] } {
  const s = tier.strategy;
  const n = members.length;
  const safe = quorumSafeSize(n);
  if (n > 0 && n <= 2) warnings.push(PlanWarnings.SmallQuorum(tier.name, n));

  const leaders = members.filter((t) => hasTrueLabel(t, s.leaderLabel)).map((t) => t.id);
  // A leader step finds the leader at run time; only without one is a missing label a problem.
  if (n > 0 && leaders.length === 0 && !leaderStep)
    warnings.push(PlanWarnings.NoQuorumLeader(tier.name, s.leaderLabel));
  if (leaders.length > 1) warnings.push(PlanWarnings.SeveralQuorumLeaders(tier.name, s.leaderLabel, leaders));
  const leader = leaders[0];
  const followers = members.filter((t) => t.id !== leader).map((t) => t.id);

  const canarySize = Math.min(resolveSize(s.canary, n, safe), safe, followers.length);
  const waveSize = n > 0 ? Math.max(1, Math.min(resolveSize(s.waves, n, safe), safe)) : 0;
  const budget = Math.min(tierBudget(s, n, Math.max(1, resolveSize(s.maxUnavailable, n, safe))), safe);
  const maxUnavailable = Math.max(1, budget);

  const waves: TierWave[] = [];
  const make = waveMaker(tier.name, maxUnavailable, s.observeMs);
  if (canarySize > 0) waves.push(make(`${tier.name}/canary`, 'canary', followers.slice(0, canarySize)));
  chunk(followers.slice(canarySize), waveSize).forEach((targets, i) =>
    waves.push(make(`${tier.name}/${i + 1}`, 'wave', targets)),
  );
  if (leader !== undefined) waves.push(make(`${tier.name}/leader`, 'leader', [leader]));

  const planned: PlannedTier = {
    name: tier.name,
    targets: members.map((t) => t.id),
    quorum: true,
    canarySize,
    waveSize,
    maxUnavailable,
    budget,
  };
  if (leader !== undefined) planned.leader = leader;
  if (leaderStep) planned.leaderStep = true;
  return { planned, waves };
}

/**
 * Plans a rollout: assigns targets to tiers and tiers' targets to waves.
 *
 * - **Tier membership**: a target belongs to the first tier (spec order) whose
 *   label selector it matches (`tierSelects`: equality pairs and Kubernetes set-based
 *   requirements, all of which must hold; an empty selector matches
 *   every target). A target in no tier is not upgraded; a target matched by
 *   several tiers is planned in the first. Both produce a warning.
 * - **Order**: tiers in spec order (leaf to core, seed 000), each tier's waves
 *   contiguous; inside a tier, targets by id in natural order (`edge-2` before
 *   `edge-10`).
 * - **Ordinary tier**: a canary wave (`<tier>/canary`, omitted when the canary
 *   resolves to 0), then waves `<tier>/1`, `<tier>/2`, … of the wave size (the
 *   last one smaller). Sizes are resolved against the tier's size n (`resolveSize`;
 *   `auto` = fleet-size table: seed 000).
 * - **Quorum tier** (`strategy.quorum`): see the quorum procedure (seed 000):
 *   no wave above floor((n-1)/2) members, the leader (label
 *   `strategy.leaderLabel` = "true", any case) alone in `<tier>/leader`, last. With a
 *   `leader` step the engine observes the leader right before each of the tier's waves and
 *   re-plans the tier around it (`placeQuorumLeader`).
 * - **maxUnavailable**: each wave's is min(tier maxUnavailable, wave size), ≥ 1.
 * - **budget**: the tier's most members out of service at once for any reason —
 *   `maxUnavailable`, or n − `minAvailable`; for a quorum tier at most floor((n-1)/2).
 *   The engine counts every member that is out against it before each take-down.
 * - **observeMs**: the tier's `strategy.observeMs`, on every wave (canary included).
 * - **estimatedDurationMs**: Σ over waves of ceil(targets / maxUnavailable) ×
 *   `strategy.expectedTargetMs` + `observeMs` (milliseconds).
 *
 * Deterministic: the same spec and the same set of targets give the identical
 * plan whatever order `targets` is in. It does not drop finished targets: the
 * plan stays the same across resumes, and the engine skips what the state says
 * is done.
 *
 * @param spec - the normalized spec (uses `name`, `component`, `version`, `tiers`).
 * @param targets - the inventory. Repeated ids are planned once (with a warning).
 * @returns the plan; never throws for any spec and inventory of the normalized types.
 */
export function planRollout(spec: RolloutSpec, targets: readonly Target[]): RolloutPlan {
  const warnings: string[] = [];
  const normalized = normalizeTargets(targets);
  if (normalized.duplicates.length > 0) warnings.push(PlanWarnings.DuplicateTargetId(normalized.duplicates));

  const seenTierNames = new Set<string>();
  for (const tier of spec.tiers) {
    if (seenTierNames.has(tier.name)) warnings.push(PlanWarnings.DuplicateTierName(tier.name));
    seenTierNames.add(tier.name);
  }

  // Which tiers each target matches; it belongs to the first.
  const members: Target[][] = spec.tiers.map(() => []);
  const unmatched: string[] = [];
  const overlaps = new Map<string, { tiers: string[]; ids: string[] }>();
  for (const target of normalized.targets) {
    const matched: number[] = [];
    spec.tiers.forEach((tier, i) => {
      if (tierSelects(tier, target)) matched.push(i);
    });
    const first = matched[0];
    if (first === undefined) {
      unmatched.push(target.id);
      continue;
    }
    members[first]!.push(target);
    if (matched.length > 1) {
      const key = matched.join(',');
      const group = overlaps.get(key) ?? { tiers: matched.map((i) => spec.tiers[i]!.name), ids: [] };
      group.ids.push(target.id);
      overlaps.set(key, group);
    }
  }
  if (unmatched.length > 0) warnings.push(PlanWarnings.TargetInNoTier(unmatched));
  // Map iteration follows first insertion, itself in target order: deterministic.
  for (const group of overlaps.values()) warnings.push(PlanWarnings.TargetInSeveralTiers(group.tiers, group.ids));

  const tiers: PlannedTier[] = [];
  const waves: PlannedWave[] = [];
  let estimatedDurationMs = 0;
  spec.tiers.forEach((tier, i) => {
    const tierMembers = members[i]!;
    if (tierMembers.length === 0) warnings.push(PlanWarnings.EmptyTier(tier.name));
    const drain = tier.steps?.drain ?? spec.steps.drain;
    if (tierMembers.length > 0 && drain !== undefined && drain.until === undefined && drain.graceMs === undefined)
      warnings.push(PlanWarnings.UnsettledDrain(tier.name));
    const { planned, waves: tierWaves } = tier.strategy.quorum
      ? planQuorumTier(tier, tierMembers, warnings, (tier.steps?.leader ?? spec.steps.leader) !== undefined)
      : planOrdinaryTier(tier, tierMembers, warnings, new Set(spec.exclude));
    // A replace tier's budgets: maxSurge and maxUnavailable as a Kubernetes Deployment's (src/plan/replace.ts).
    applyReplaceStrategy(tier, planned, tierWaves);
    tiers.push(planned);
    for (const w of tierWaves) {
      const estimatedMs =
        Math.ceil(w.targets.length / waveConcurrency(w)) * tier.strategy.expectedTargetMs + w.observeMs;
      waves.push({
        id: w.id,
        index: waves.length,
        tier: w.tier,
        kind: w.kind,
        targets: w.targets,
        maxUnavailable: w.maxUnavailable,
        ...(w.maxSurge !== undefined && { maxSurge: w.maxSurge }),
        observeMs: w.observeMs,
        estimatedMs,
      });
      estimatedDurationMs += estimatedMs;
    }
  });

  return {
    rollout: spec.name,
    component: spec.component,
    version: spec.version,
    tiers,
    waves,
    estimatedDurationMs,
    warnings,
  };
}
