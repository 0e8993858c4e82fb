/**
 * Canaries and waves the spec chooses instead of sizing: a listed canary
 * (`strategy.canary: [ids]`), a canary spread across a label's values
 * (`strategy.canary: {spreadBy: zone}`: one member per value), listed waves
 * (`strategy.waves: [[ids], …]`). PURE and deterministic, like the rest of the
 * planner: the same members (in any order) give the same choice.
 *
 * The validator refuses ids outside the tier, a target in two waves, and listed
 * waves that leave members out (`src/spec/explicit-targets.ts`); the planner
 * stays total all the same — it drops what is not a member and plans what the
 * lists leave out in waves of its own after them, each with a warning.
 */
import type { StrategySpec, Target } from '../spec/types.js';
import { compareNatural } from './natural-sort.js';
import { PlanWarnings } from './warnings.js';

/** How a tier's canary was chosen, for the plan's reader. */
export type CanaryChoice = { kind: 'listed' } | { kind: 'spread'; label: string; values: string[] };

/**
 * The canary a strategy chooses among `members` (sorted by id), or `undefined` when it sizes the
 * canary. A spread canary skips `excluded` members (the spec's `exclude`), so each label value
 * still has a canary that is touched.
 */
export function chooseCanary(
  tier: string,
  s: Pick<StrategySpec, 'canaryTargets' | 'canarySpreadBy'>,
  members: readonly Target[],
  warnings: string[],
  excluded: ReadonlySet<string> = new Set(),
): { ids: string[]; choice: CanaryChoice } | undefined {
  const memberIds = new Set(members.map((t) => t.id));
  if (s.canaryTargets !== undefined) {
    const listed = [...new Set(s.canaryTargets)];
    const outside = listed.filter((id) => !memberIds.has(id));
    if (outside.length > 0) warnings.push(PlanWarnings.ListedNotInTier(tier, outside));
    return { ids: listed.filter((id) => memberIds.has(id)), choice: { kind: 'listed' } };
  }
  const label = s.canarySpreadBy;
  if (label === undefined) return undefined;
  // Members come sorted by id (natural order): the first of each value is the canary's.
  const firstOf = new Map<string, string>();
  const unlabelled: string[] = [];
  for (const t of members) {
    // A target the spec leaves out is never touched: the value's next member is its canary.
    if (excluded.has(t.id)) continue;
    if (!Object.hasOwn(t.labels, label)) unlabelled.push(t.id);
    else if (!firstOf.has(t.labels[label]!)) firstOf.set(t.labels[label]!, t.id);
  }
  if (unlabelled.length > 0 && members.length > 0)
    warnings.push(PlanWarnings.SpreadUnlabelled(tier, label, unlabelled));
  const values = [...firstOf.keys()].sort(compareNatural);
  return { ids: values.map((v) => firstOf.get(v)!), choice: { kind: 'spread', label, values } };
}

/**
 * The waves a strategy lists, restricted to `members` not in `taken` (the canary), each target
 * once (its first mention); members no list holds follow in waves of the largest listed wave's
 * size. `undefined` when the strategy sizes its waves.
 */
export function listedWaves(
  tier: string,
  s: Pick<StrategySpec, 'waveTargets'>,
  members: readonly Target[],
  taken: ReadonlySet<string>,
  warnings: string[],
): string[][] | undefined {
  if (s.waveTargets === undefined) return undefined;
  const memberIds = new Set(members.map((t) => t.id));
  const used = new Set(taken);
  const outside: string[] = [];
  const waves: string[][] = [];
  for (const list of s.waveTargets) {
    const wave: string[] = [];
    for (const id of list) {
      if (!memberIds.has(id)) {
        if (!taken.has(id)) outside.push(id);
        continue;
      }
      if (used.has(id)) continue;
      used.add(id);
      wave.push(id);
    }
    if (wave.length > 0) waves.push(wave);
  }
  if (outside.length > 0) warnings.push(PlanWarnings.ListedNotInTier(tier, [...new Set(outside)]));
  const left = members.map((t) => t.id).filter((id) => !used.has(id));
  if (left.length > 0) {
    warnings.push(PlanWarnings.LeftOutOfListedWaves(tier, left));
    const size = Math.max(1, ...waves.map((w) => w.length));
    for (let i = 0; i < left.length; i += size) waves.push(left.slice(i, i + size));
  }
  return waves;
}
