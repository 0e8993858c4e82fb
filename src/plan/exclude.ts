/**
 * Leaving targets out of a planned rollout explicitly (`exclude:` in the spec,
 * `--exclude` on the command line). Pure.
 */
import type { RolloutPlan } from './types.js';
import { PlanWarnings } from './warnings.js';

/**
 * The plan without the given targets in its waves. Wave ids keep their meaning (the
 * state is keyed by them); a wave left empty is dropped. Excluded targets stay
 * members of their tier (`tier.targets`) and are listed in `tier.excluded`: they are
 * never touched, but a member that is down still counts against the tier's budget.
 * @param plan - the planned rollout
 * @param exclude - target ids to leave out (ids no tier knows are ignored, with a warning)
 * @returns a new plan; `plan` is not changed
 */
export function excludeFromPlan(plan: RolloutPlan, exclude: Iterable<string>): RolloutPlan {
  const out = new Set(exclude);
  if (out.size === 0) return plan;
  const known = new Set(plan.tiers.flatMap((t) => t.targets));
  const unknown = [...out].filter((id) => !known.has(id));
  const waves = plan.waves
    .map((w) => ({ ...w, targets: w.targets.filter((id) => !out.has(id)) }))
    .filter((w) => w.targets.length > 0)
    .map((w, index) => ({ ...w, index, maxUnavailable: Math.min(w.maxUnavailable, w.targets.length) }));
  const tiers = plan.tiers.map((t) => {
    const excluded = t.targets.filter((id) => out.has(id));
    return excluded.length > 0 ? { ...t, excluded } : t;
  });
  const warnings = unknown.length > 0 ? [...plan.warnings, PlanWarnings.UnknownExcluded(unknown)] : plan.warnings;
  return { ...plan, waves, tiers, warnings };
}
