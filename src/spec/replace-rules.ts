/**
 * Rules about the `replace` and `blueGreen` strategies (docs/replace-and-blue-green.md).
 * Pure: the normalized spec and the spec as written in, problems with field paths out.
 *
 * The budget rule is Kubernetes' for a Deployment's rolling update: `maxSurge` and
 * `maxUnavailable` may not both be 0, or no old target could ever leave nor a new one come
 * (the API server refuses such a Deployment the same way).
 */
import type { SpecProblem } from './problem.js';
import type { WrittenRolloutSpec } from './schema.js';
import type { RolloutSpec, Size } from './types.js';

const isZero = (size: Size): boolean => size.kind === 'count' && size.value === 0;

/** Steps only a `replace` or `blueGreen` tier runs, with the strategies that run each. */
const STRATEGY_STEPS: Readonly<Record<string, readonly string[]>> = {
  provision: ['replace', 'blueGreen'],
  retire: ['replace', 'blueGreen'],
  inService: ['replace'],
  switch: ['blueGreen'],
};

/**
 * - `maxUnavailable: 0` on a tier that is not `replace` (error: an in-place tier takes targets down to upgrade them);
 * - `replace` with `maxSurge: 0` and `maxUnavailable: 0` (error, as Kubernetes refuses it);
 * - `replace` or `blueGreen` on a quorum tier (error: a member's identity is the cluster's membership),
 *   or with `shards` (error: the surge is counted by one run, a pool switched once);
 * - `maxSurge` written on a tier that is not `replace`, `keepOldPool` on one that is not `blueGreen` (warnings);
 * - `provision`, `retire`, `inService`, `switch` where no tier runs them (warnings).
 * @param spec - the normalized spec
 * @param written - the spec as written (for paths and "was it written")
 * @returns problems with field paths; `parse.ts` locates them
 */
export function checkReplaceRules(spec: RolloutSpec, written: WrittenRolloutSpec): SpecProblem[] {
  const out: SpecProblem[] = [];
  if (written.tiers === undefined) return checkStrategySteps(spec, written, out);
  spec.tiers.forEach((tier, i) => {
    const s = {
      ...tier.strategy,
      type: tier.strategy.type ?? 'inPlace',
      maxSurge: tier.strategy.maxSurge ?? { kind: 'auto' },
    };
    const w = written.tiers?.[i]?.strategy;
    const at = (field: string) => ['tiers', i, 'strategy', field];
    if (w?.maxUnavailable !== undefined && isZero(s.maxUnavailable) && s.type !== 'replace')
      out.push({
        path: at('maxUnavailable'),
        message: `is 0, but tier ${tier.name} is ${s.type}: ${s.type === 'inPlace' ? 'an in-place tier takes each target out of service to upgrade it' : 'the old pool leaves service at the switch'}`,
        expected: 'a count ≥ 1 or a percent; 0 only with type: replace and maxSurge ≥ 1',
        severity: 'error',
      });
    if (s.type === 'replace' && isZero(s.maxSurge) && isZero(s.maxUnavailable))
      out.push({
        path: at('maxSurge'),
        message: `and maxUnavailable are both 0 in tier ${tier.name}: no new target may be added and no old one may leave, so nothing can be replaced (Kubernetes refuses the same)`,
        expected: 'maxSurge ≥ 1 (new targets first), or maxUnavailable ≥ 1 (old targets leave first)',
        got: 'maxSurge: 0, maxUnavailable: 0',
        severity: 'error',
      });
    if (s.quorum && s.type !== 'inPlace')
      out.push({
        path: at('type'),
        message: `${s.type} is not for a quorum tier (${tier.name}): its members are the cluster's membership and leave one at a time, the leader last`,
        expected: 'inPlace (the default) for a quorum tier',
        showGot: true,
        severity: 'error',
      });
    if (s.shards !== undefined && s.type !== 'inPlace')
      out.push({
        path: at('shards'),
        message: `tier ${tier.name} is ${s.type}: ${s.type === 'blueGreen' ? 'its pool is switched once, as a whole' : 'maxSurge is counted by one run, and legs would each take it'}, so it is never split across runners`,
        expected: 'no shards (or type: inPlace)',
        severity: 'error',
      });
    if (w?.maxSurge !== undefined && s.type !== 'replace')
      out.push({
        path: at('maxSurge'),
        message: `has no effect: tier ${tier.name} is ${s.type}, maxSurge is for type: replace${s.type === 'blueGreen' ? ' (a blue-green tier provisions its whole new pool)' : ''}`,
        severity: 'warning',
      });
    if (w?.keepOldPool !== undefined && s.type !== 'blueGreen')
      out.push({
        path: at('keepOldPool'),
        message: `has no effect: tier ${tier.name} is ${s.type}, keepOldPool is for type: blueGreen`,
        severity: 'warning',
      });
  });
  return checkStrategySteps(spec, written, out);
}

/** `provision`, `retire`, `inService`, `switch` written where no tier of a strategy that runs them would. */
function checkStrategySteps(spec: RolloutSpec, written: WrittenRolloutSpec, out: SpecProblem[]): SpecProblem[] {
  const types = new Set(spec.tiers.map((t) => t.strategy.type ?? 'inPlace'));
  for (const [name, runBy] of Object.entries(STRATEGY_STEPS)) {
    if (
      (written.steps as Record<string, unknown> | undefined)?.[name] !== undefined &&
      !runBy.some((t) => types.has(t as 'replace'))
    )
      out.push({
        path: ['steps', name],
        message: `has no effect: no tier is of type ${runBy.join(' or ')}`,
        severity: 'warning',
      });
    spec.tiers.forEach((tier, i) => {
      if ((written.tiers?.[i]?.steps as Record<string, unknown> | undefined)?.[name] === undefined) return;
      if (runBy.includes(tier.strategy.type ?? 'inPlace')) return;
      out.push({
        path: ['tiers', i, 'steps', name],
        message: `has no effect: tier ${tier.name} is ${tier.strategy.type ?? 'inPlace'}, ${name} is run by type ${runBy.join(' or ')}`,
        severity: 'warning',
      });
    });
  }
  return out;
}
