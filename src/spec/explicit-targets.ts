/**
 * Canaries and waves chosen by the spec instead of sized: `strategy.canary` as a list of target
 * ids or `{spreadBy: <label>}` (one target per value of the label: one per zone), and
 * `strategy.waves` as a list of lists of target ids. Here: the written forms (zod, so the JSON
 * Schema and `validate` know them), their normalization, and the rules — those that need only
 * the spec (`checkExplicitRules`, run by `checkSpecRules`) and those that need the inventory
 * (`checkExplicitTargets`: run by `checkSpecRules` for an inline inventory, and by the loader
 * once a file or discovered inventory is read), each with the field's path so the problem is
 * reported at the spec's `canary` or `waves` line. Pure. See docs/planning.md.
 */
import { z } from 'zod';
import { explain, e } from './explain.js';
import type { PathSegment } from './locate.js';
import type { SpecProblem } from './problem.js';
import { tierSelects } from './selector.js';
import { closest } from './zod-issues.js';
import { parseSize } from './size.js';
import type { Size, Target, TierSpec } from './types.js';

/** Target ids listed in one message before "and N more". */
const MAX_LISTED = 5;

function listIds(ids: readonly string[]): string {
  const shown = ids.slice(0, MAX_LISTED).join(', ');
  return ids.length > MAX_LISTED ? `${shown} and ${ids.length - MAX_LISTED} more` : shown;
}

const TargetId = z
  .string(e('must be a target id', 'a target id from the inventory (quote ids YAML reads as numbers)'))
  .regex(/^\S+$/, e('must be a target id without spaces', 'a target id from the inventory'));

/** `canary: [edge-3, edge-7]`: these targets, in this order, are the canary. */
export const CanaryTargetsSchema = z
  .array(TargetId, e('must be a list of target ids', 'a list like [edge-3, edge-7]'))
  .min(1, e('must list at least one target', 'a list of target ids, or 0 for no canary'))
  .meta({
    id: 'CanaryTargets',
    description:
      "The canary's targets by id, in the order they start (members of this tier). With waves as a list, the canary is such a list or 0.",
  });

/** `canary: {spreadBy: zone}`: one target per value of the label. */
export const CanarySpreadSchema = z
  .strictObject(
    {
      spreadBy: z
        .string(e('must be a label key', 'a label key like zone'))
        .min(1, e('must be a label key', 'a label key like zone'))
        .describe(
          "Label key: the canary takes one target for each value of it among the tier's members (the first by id, values in natural order), e.g. one per zone. Members without the label go in the waves.",
        ),
    },
    {
      error: (issue) => (issue.code === 'unrecognized_keys' ? explain('unknown field', 'one of spreadBy') : undefined),
    },
  )
  .meta({ id: 'CanarySpread', description: 'A canary spread across the values of a label: one target per value.' });

/** `waves: [[edge-1, edge-2], [edge-3, edge-4, edge-5]]`: the tier's waves, listed. */
export const WaveListsSchema = z
  .array(
    z
      .array(TargetId, e('must be a list of target ids', 'a wave like [edge-1, edge-2]'))
      .min(1, e('must list at least one target', 'a wave like [edge-1, edge-2]')),
    e('must be a list of waves', 'a list of lists like [[edge-1, edge-2], [edge-3]]'),
  )
  .min(1, e('must list at least one wave', 'a list of lists like [[edge-1, edge-2], [edge-3]]'))
  .meta({
    id: 'WaveLists',
    description:
      "The tier's waves by target id, in the order they run; together with the canary they hold every member of the tier (or it is in exclude), each once.",
  });

const isPlainObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The error of a union of a size, a list form and (optionally) a map form: that of the branch the
 * written value's shape belongs to — a scalar: the size's, a list: the list's, a map: the map's —
 * instead of all of them.
 */
function byShape(hasMap: boolean) {
  return (issue: z.core.$ZodRawIssue): string | undefined => {
    if (issue.code !== 'invalid_union') return undefined;
    const branch = Array.isArray(issue.input) ? 1 : hasMap && isPlainObject(issue.input) ? 2 : 0;
    const errors = (issue as unknown as { errors: z.core.$ZodIssue[][] }).errors[branch] ?? [];
    // An unknown key of the map form is the likelier mistake than the field it misses.
    const unknown = errors.find((i) => i.code === 'unrecognized_keys');
    if (unknown !== undefined) {
      const key = unknown.keys[0] ?? '';
      const guess = closest(key, ['spreadBy']);
      return explain(
        `unknown field "${key}"${guess === undefined ? '' : `; did you mean "${guess}"?`}`,
        'one of spreadBy',
      );
    }
    return errors[0]?.message;
  };
}

/** A size or a list (`waves`): a union reporting the error of the written value's form. */
export function sizeOrList<S extends z.ZodType, L extends z.ZodType>(scalar: S, list: L) {
  return z.union([scalar, list], { error: byShape(false) });
}

/** A size, a list or a map (`canary`): a union reporting the error of the written value's form. */
export function sizeOrChoice<S extends z.ZodType, L extends z.ZodType, M extends z.ZodType>(
  scalar: S,
  list: L,
  map: M,
) {
  return z.union([scalar, list, map], { error: byShape(true) });
}

/** The explicit choices of a strategy, as written (the fields `normalizeStrategy` reads). */
export interface WrittenChoices {
  canary?: number | string | string[] | { spreadBy: string };
  waves?: number | string | string[][];
}

/** The explicit choices, normalized (`StrategySpec`'s `canaryTargets`, `canarySpreadBy`, `waveTargets`). */
export interface ExplicitChoices {
  canaryTargets?: string[];
  canarySpreadBy?: string;
  waveTargets?: string[][];
}

/**
 * The canary's and the waves' sizes of a strategy that may list them: a listed canary is a
 * count of its length, a spread one `auto` (the planner counts the label's values); with listed
 * waves an unwritten canary is 0 (no canary) and the waves' size is `auto` (unused).
 * @param defaultCanary - the canary size when none is written (`DEFAULT_CANARY`)
 * @param defaultWaves - the wave size when none is written (`DEFAULT_WAVES`)
 */
export function normalizeChoiceSizes(
  s: WrittenChoices,
  defaultCanary: string | number,
  defaultWaves: string | number,
): { canary: Size; waves: Size } & ExplicitChoices {
  const listed = Array.isArray(s.waves);
  const canary: Size = Array.isArray(s.canary)
    ? { kind: 'count', value: s.canary.length }
    : typeof s.canary === 'object'
      ? { kind: 'auto' }
      : s.canary === undefined && listed
        ? { kind: 'count', value: 0 }
        : parseSize(s.canary ?? defaultCanary, { minCount: 0 });
  return {
    canary,
    waves: Array.isArray(s.waves) ? { kind: 'auto' } : parseSize(s.waves ?? defaultWaves),
    ...(Array.isArray(s.canary) ? { canaryTargets: [...s.canary] } : {}),
    ...(typeof s.canary === 'object' && !Array.isArray(s.canary) ? { canarySpreadBy: s.canary.spreadBy } : {}),
    ...(Array.isArray(s.waves) ? { waveTargets: s.waves.map((w) => [...w]) } : {}),
  };
}

/** A written tier as these rules read it. */
interface WrittenTierChoices {
  strategy?: WrittenChoices & { quorum?: boolean };
}

/**
 * Rules that need only the spec, for every tier that lists its canary or waves:
 *
 * - not in a quorum tier (its canary and waves follow the quorum procedure) — error;
 * - with listed waves, the canary is a list or 0 (a size or `spreadBy` would take the canary
 *   out of the listed waves) — error at `canary`; no canary written — warning at `waves`;
 * - an id twice in the canary, a target in two waves, a canary target in a wave — error at the
 *   second mention.
 *
 * @param tiers - `written.tiers` (paths are `tiers[i].strategy.…`)
 */
export function checkExplicitRules(tiers: readonly WrittenTierChoices[] | undefined): SpecProblem[] {
  const out: SpecProblem[] = [];
  (tiers ?? []).forEach((tier, i) => {
    const s = tier.strategy;
    if (s === undefined) return;
    const path = (...rest: PathSegment[]): PathSegment[] => ['tiers', i, 'strategy', ...rest];
    const canaryListed = Array.isArray(s.canary);
    const canarySpread = typeof s.canary === 'object' && !canaryListed;
    const wavesListed = Array.isArray(s.waves);
    if (s.quorum === true) {
      if (canaryListed || canarySpread)
        out.push({
          path: path('canary'),
          message:
            "a quorum tier's canary is its first follower(s) (the quorum procedure: at most floor((n-1)/2) members, the leader last)",
          expected: 'a count or a percent',
          severity: 'error',
        });
      if (wavesListed)
        out.push({
          path: path('waves'),
          message:
            "a quorum tier's waves follow the quorum procedure (at most floor((n-1)/2) members each, the leader alone and last)",
          expected: 'a count, a percent or "auto"',
          severity: 'error',
        });
      return;
    }
    if (wavesListed && s.canary !== undefined && !canaryListed && s.canary !== 0)
      out.push({
        path: path('canary'),
        message:
          'with waves listed, the canary is listed too (a size or spreadBy would take its targets out of your waves)',
        expected: 'a list of target ids, or 0 for no canary',
        showGot: true,
        severity: 'error',
      });
    if (wavesListed && s.canary === undefined)
      out.push({
        path: path('waves'),
        message:
          'waves are listed but no canary is, so this tier has no canary wave: list its ids in canary, or write canary: 0 to say so',
        severity: 'warning',
      });

    const where = new Map<string, string>();
    if (Array.isArray(s.canary))
      s.canary.forEach((id, j) => {
        const seen = where.get(id);
        if (seen !== undefined)
          out.push({
            path: path('canary', j),
            message: `target "${id}" is listed twice (also ${seen})`,
            expected: 'each target once',
            severity: 'error',
          });
        else where.set(id, `canary[${j}]`);
      });
    if (Array.isArray(s.waves))
      s.waves.forEach((wave, w) =>
        wave.forEach((id, j) => {
          const seen = where.get(id);
          if (seen !== undefined)
            out.push({
              path: path('waves', w, j),
              message: seen.startsWith('canary')
                ? `target "${id}" is the canary (${seen}): it is upgraded there, not again in a wave`
                : `target "${id}" is already in ${seen}`,
              expected: 'each target in one wave',
              severity: 'error',
            });
          else where.set(id, `waves[${w}]`);
        }),
      );
  });
  return out;
}

/**
 * Rules that need the inventory, for every tier that lists its canary or waves or spreads its
 * canary: each listed id is a member of the tier (a target of the inventory that the tier is the
 * first to select); listed waves, with the canary, hold every member not in `exclude` (the ones
 * left out are named); a `spreadBy` label is carried by some member. Membership is the
 * planner's: a target belongs to the first tier whose selector picks it.
 *
 * @param tiers - the normalized tiers
 * @param targets - the inventory
 * @param exclude - the spec's `exclude` (left out on purpose: need not be in a wave)
 * @returns problems at `tiers[i].strategy.canary…` / `.waves…` (the written tiers' paths)
 */
export function checkExplicitTargets(
  tiers: readonly TierSpec[],
  targets: readonly Target[],
  exclude: readonly string[] = [],
): SpecProblem[] {
  const out: SpecProblem[] = [];
  const tierOf = new Map<string, number>();
  for (const t of targets) {
    if (tierOf.has(t.id)) continue;
    const i = tiers.findIndex((tier) => tierSelects(tier, t));
    if (i >= 0) tierOf.set(t.id, i);
  }
  const known = new Set(targets.map((t) => t.id));
  const excluded = new Set(exclude);
  const notMember = (id: string, i: number): string | undefined => {
    if (!known.has(id)) return `target "${id}" is not in the inventory`;
    const at = tierOf.get(id);
    if (at === undefined) return `target "${id}" is in no tier: this tier's select does not pick it`;
    if (at !== i) return `target "${id}" is in tier "${tiers[at]!.name}", not in "${tiers[i]!.name}"`;
    return undefined;
  };
  tiers.forEach((tier, i) => {
    const s = tier.strategy;
    const path = (...rest: PathSegment[]): PathSegment[] => ['tiers', i, 'strategy', ...rest];
    const expected = `a member of tier "${tier.name}"`;
    s.canaryTargets?.forEach((id, j) => {
      const why = notMember(id, i);
      if (why !== undefined) out.push({ path: path('canary', j), message: why, expected, severity: 'error' });
    });
    s.waveTargets?.forEach((wave, w) =>
      wave.forEach((id, j) => {
        const why = notMember(id, i);
        if (why !== undefined) out.push({ path: path('waves', w, j), message: why, expected, severity: 'error' });
      }),
    );
    const members = targets.filter((t) => tierOf.get(t.id) === i);
    if (s.waveTargets !== undefined) {
      const listed = new Set([...(s.canaryTargets ?? []), ...s.waveTargets.flat()]);
      const left = [...new Set(members.map((t) => t.id))].filter((id) => !listed.has(id) && !excluded.has(id));
      if (left.length > 0)
        out.push({
          path: path('waves'),
          message: `leave${left.length === 1 ? 's' : ''} out ${left.length} target${left.length === 1 ? '' : 's'} of tier "${tier.name}": ${listIds(left)}`,
          expected: 'every member of the tier in the canary or in one wave (or in exclude)',
          severity: 'error',
        });
    }
    const label = s.canarySpreadBy;
    if (label !== undefined && members.length > 0 && !members.some((t) => Object.hasOwn(t.labels, label)))
      out.push({
        path: path('canary', 'spreadBy'),
        message: `no target of tier "${tier.name}" has label "${label}", so the canary would be empty`,
        expected: `a label the tier's targets carry`,
        severity: 'error',
      });
  });
  return out;
}
