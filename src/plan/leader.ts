/**
 * Re-planning a quorum tier around the leader the engine has just observed (the `leader`
 * step): leadership moves during a rollout, so the member that leads right before a wave
 * starts is the one kept for last. PURE: the engine observes, this only rearranges.
 *
 * Rules (quorum procedure, docs/quorum.md):
 * - the tier's waves that have started keep their members (what the state recorded for
 *   them), except an observed leader no step has touched yet, which is taken out;
 * - every other member of the tier (not excluded), in natural order, fills the tier's
 *   pending follower waves in plan order — the canary up to the tier's canary size, the
 *   others up to its wave size (both ≤ floor((n-1)/2)) — and a wave left empty is dropped;
 *   members left over get new waves `<tier>/<k>` numbered after the highest one;
 * - the observed leader, when it is not in a started wave, is alone in `<tier>/leader`, last.
 *
 * The result depends only on the plan, the started waves and the leader, so a later run
 * that observes the same leader arrives at the same waves (their ids key the state).
 */
import type { PlannedWave, RolloutPlan, WaveKind } from './types.js';

/** A wave of the tier that has started: its id, the members recorded for it, when it started. */
export interface StartedWave {
  id: string;
  targets: readonly string[];
  /** ISO time it started (orders the started waves; absent = after those that have one, in the given order). */
  startedAt?: string;
}

/** What the engine observed and recorded, for one quorum tier. */
export interface ObservedLeadership {
  /** Name of the quorum tier. */
  tier: string;
  /** Target id of the member leading now; must be a member of the tier. */
  leader: string;
  /** The tier's waves that have started (any phase but Pending), as the state recorded them. */
  started: readonly StartedWave[];
  /** Members no step has touched yet (state phase Pending, or no record): only these may still move. */
  untouched: ReadonlySet<string>;
}

function kindOf(id: string): WaveKind {
  if (id.endsWith('/leader')) return 'leader';
  if (id.endsWith('/canary')) return 'canary';
  return 'wave';
}

/**
 * The plan with `observed.tier`'s waves rearranged so `observed.leader` goes last (see the
 * module's rules). Waves of other tiers are unchanged; every wave's `index` is renumbered and
 * the tier's `leader` set.
 * @param plan - the plan as planned (after exclusions), not one this function already changed:
 *   the result is a function of the plan, the started waves and the leader only
 * @param observed - the leader the engine observed and the tier's started waves
 * @returns a new plan; the plan itself when the tier is not a quorum tier of it or the leader
 *   is not one of its members (the engine reports that before calling)
 */
export function placeQuorumLeader(plan: RolloutPlan, observed: ObservedLeadership): RolloutPlan {
  const tier = plan.tiers.find((t) => t.name === observed.tier);
  if (!tier || !tier.quorum || !tier.targets.includes(observed.leader)) return plan;
  const { leader } = observed;
  const excluded = new Set(tier.excluded ?? []);
  const tierWaves = plan.waves.filter((w) => w.tier === tier.name);
  const first = plan.waves.findIndex((w) => w.tier === tier.name);
  const observeMs = tierWaves[0]?.observeMs ?? 0;
  const make = (id: string, kind: WaveKind, targets: string[]): Omit<PlannedWave, 'index'> => ({
    id,
    tier: tier.name,
    kind,
    targets,
    maxUnavailable: Math.max(1, Math.min(tier.maxUnavailable, targets.length)),
    observeMs,
  });

  // Started waves, in the order they started.
  const started = observed.started
    .map((w, i) => ({ w, i }))
    .sort((a, b) => {
      const at = a.w.startedAt ?? '\uffff';
      const bt = b.w.startedAt ?? '\uffff';
      return at < bt ? -1 : at > bt ? 1 : a.i - b.i;
    })
    .map(({ w }) => w);
  const startedIds = new Set(started.map((w) => w.id));
  const kept = started
    .map((w) =>
      make(
        w.id,
        kindOf(w.id),
        w.targets.filter((id) => !(id === leader && observed.untouched.has(id))),
      ),
    )
    .filter((w) => w.targets.length > 0);
  const settled = new Set(kept.flatMap((w) => w.targets));

  const followers = tier.targets.filter((id) => id !== leader && !settled.has(id) && !excluded.has(id));
  const rest: Omit<PlannedWave, 'index'>[] = [];
  let next = 0;
  for (const w of tierWaves) {
    if (startedIds.has(w.id) || w.kind === 'leader') continue;
    const size = Math.max(1, w.kind === 'canary' ? tier.canarySize : tier.waveSize);
    const targets = followers.slice(next, next + size);
    next += targets.length;
    if (targets.length > 0) rest.push(make(w.id, w.kind, targets));
  }
  const numbers = [...tierWaves.map((w) => w.id), ...startedIds]
    .map((id) => /\/(\d+)$/.exec(id)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number);
  let k = Math.max(0, ...numbers);
  const size = Math.max(1, tier.waveSize);
  while (next < followers.length) {
    const targets = followers.slice(next, next + size);
    next += targets.length;
    rest.push(make(`${tier.name}/${++k}`, 'wave', targets));
  }
  if (!settled.has(leader) && !excluded.has(leader)) {
    const id = startedIds.has(`${tier.name}/leader`) ? `${tier.name}/leader-${leader}` : `${tier.name}/leader`;
    rest.push(make(id, 'leader', [leader]));
  }

  const before = first < 0 ? plan.waves : plan.waves.slice(0, first);
  const after = first < 0 ? [] : plan.waves.slice(first).filter((w) => w.tier !== tier.name);
  const waves = [...before, ...kept, ...rest, ...after].map((w, index) => ({ ...w, index }));
  const tiers = plan.tiers.map((t) => (t.name === tier.name ? { ...t, leader } : t));
  return { ...plan, tiers, waves };
}
