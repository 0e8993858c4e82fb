/**
 * Rules about the quorum steps (`leader`, `transferLeadership`, `caughtUp`; docs/quorum.md).
 * Pure: the normalized spec in, problems out (all warnings: such a spec still runs).
 */
import type { SpecProblem } from './problem.js';
import type { RolloutSpec } from './types.js';

/** Steps that only a quorum tier runs. */
const QUORUM_ONLY = ['leader', 'transferLeadership'] as const;

/**
 * - `leader` or `transferLeadership` written for a tier that is not a quorum tier, or at the
 *   top level when no tier is one (warning: never run);
 * - a quorum tier with `transferLeadership` but no `leader` step (warning: the transfer
 *   cannot be confirmed, and the leader is the labelled one).
 * @param spec - the normalized spec (a tier's `steps` are its own, the top-level ones apart)
 * @returns warnings with field paths
 */
export function checkQuorumSteps(spec: RolloutSpec): SpecProblem[] {
  const out: SpecProblem[] = [];
  const anyQuorum = spec.tiers.some((t) => t.strategy.quorum);
  for (const name of QUORUM_ONLY) {
    if (spec.steps[name] !== undefined && !anyQuorum)
      out.push({
        path: ['steps', name],
        message: 'has no effect: no tier is a quorum tier (strategy.quorum: true)',
        severity: 'warning',
      });
  }
  spec.tiers.forEach((tier, i) => {
    for (const name of QUORUM_ONLY) {
      if (tier.steps?.[name] !== undefined && !tier.strategy.quorum)
        out.push({
          path: ['tiers', i, 'steps', name],
          message: `has no effect: tier ${tier.name} is not a quorum tier (strategy.quorum: true)`,
          severity: 'warning',
        });
    }
    if (!tier.strategy.quorum) return;
    const transfer = tier.steps?.transferLeadership ?? spec.steps.transferLeadership;
    const leader = tier.steps?.leader ?? spec.steps.leader;
    if (transfer !== undefined && leader === undefined)
      out.push({
        path:
          tier.steps?.transferLeadership !== undefined
            ? ['tiers', i, 'steps', 'transferLeadership']
            : ['steps', 'transferLeadership'],
        message: `tier ${tier.name} has no leader step: the leader is the labelled member (strategy.leaderLabel) and the transfer is not confirmed`,
        expected: "a leader step that prints the current leader's target id",
        severity: 'warning',
      });
  });
  return out;
}
