/**
 * The spec's rules that can only be judged once a file or discovered inventory is read (an
 * inline inventory is judged by `checkSpecRules` while the spec is parsed): today the listed and
 * spread canaries and the listed waves (`checkExplicitTargets`). The problems are located in the
 * spec file, at the field that names the targets (`tiers[0].strategy.canary[1]`), so they read
 * like every other spec problem: `rollouts/edge.yaml:14:17 tiers[0].strategy.canary[1]: …`.
 */
import { readFile } from 'node:fs/promises';
import { checkExplicitTargets } from './explicit-targets.js';
import type { Issue } from './issue.js';
import { locateProblems, MAX_ALIAS_COUNT, toIssue, yamlSourceOf, type TargetLocator } from './located.js';
import { formatPath } from './locate.js';
import { checkMembership } from './rules.js';
import type { WrittenRolloutSpec } from './schema.js';
import type { RolloutSpec, Target } from './types.js';

/**
 * Judges the spec against the inventory it loaded (a file or a discovery command), with the
 * same rules an inline inventory meets while the spec is parsed: every id a tier's `canary` or
 * `waves` lists is a member of that tier, listed waves leave no member out, a `spreadBy` label
 * is carried by some member (`checkExplicitTargets`); each target is in exactly one tier, every
 * tier selects some target, a quorum tier has at most one leader (`checkMembership`). Problems
 * about a tier are located in the spec; problems about a target where `where` says it is
 * written (the inventory file, or the spec's `inventory.discover` for a command's output).
 * Never for an inline inventory (the parser did it).
 * @param specPath - the spec file (for the issues' positions)
 * @returns located errors and warnings
 */
export async function checkSpecAgainstInventory(
  specPath: string,
  spec: RolloutSpec,
  targets: readonly Target[],
  where?: TargetLocator,
): Promise<{ errors: Issue[]; warnings: Issue[] }> {
  if (spec.inventory.kind === 'inline') return { errors: [], warnings: [] };
  const judge = (written: WrittenRolloutSpec) => {
    const membership = where
      ? checkMembership(spec, written, targets, (i) => where.path(i))
      : { targets: [], spec: [] };
    return { membership, inSpec: [...checkExplicitTargets(spec.tiers, targets, spec.exclude), ...membership.spec] };
  };
  // The usual case, nothing to report, needs no positions: the spec file is read again only for problems.
  const first = judge({} as WrittenRolloutSpec);
  if (first.inSpec.length === 0 && first.membership.targets.length === 0) return { errors: [], warnings: [] };
  const text = await readFile(specPath, 'utf8').catch(() => '');
  const source = text === '' ? undefined : yamlSourceOf(text);
  const written = (
    source?.doc.errors.length === 0 ? source.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) : {}
  ) as WrittenRolloutSpec;
  const { membership, inSpec } = judge(written);
  const issues = [
    ...(source && source.doc.errors.length === 0
      ? locateProblems(specPath, source, written, inSpec)
      : inSpec.map((p) => toIssue(specPath, 0, 0, { ...p, path: formatPath(p.path) }))),
    ...(where ? await where.locate(membership.targets) : []),
  ];
  return {
    errors: issues.filter((i) => i.severity === 'error'),
    warnings: issues.filter((i) => i.severity === 'warning'),
  };
}
