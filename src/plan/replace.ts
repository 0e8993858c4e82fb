/**
 * Planning a `replace` tier (docs/replace-and-blue-green.md), and the inventory a replacement
 * leaves behind. PURE: no I/O.
 *
 * Budgets follow a Kubernetes Deployment's rolling update
 * (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#rolling-update-deployment):
 * `maxSurge` — how many targets may exist above the tier's size n at once — rounds a percent up;
 * `maxUnavailable` — how many of the n may be out of service at once — is the tier's budget as for
 * any tier (`minAvailable` gives n − minAvailable). Both may not be 0 (the spec refuses it). A
 * replacement that finds a surge slot free provisions its new target before the old one leaves (no
 * capacity is lost); the others take the old one out first, within the budget. So a wave runs at most
 * maxSurge + maxUnavailable replacements at once, never more than n + maxSurge targets exist and
 * never fewer than n − maxUnavailable are in service.
 */
import type { RolloutState } from '../state/types.js';
import type { Target, TierSpec } from '../spec/types.js';
import { autoSizes, resolveSize } from './size.js';
import type { PlannedTier, PlannedWave } from './types.js';

/** `maxSurge` when a strategy omits it: 25 %, rounded up (the Kubernetes default). */
const DEFAULT_SURGE = { kind: 'percent', value: 25 } as const;

/**
 * Resolves a `replace` tier's budgets and writes them on the tier and its waves (in place):
 * `planned.maxSurge` (ceil of a percent, at most n), `planned.budget` and `maxUnavailable` (the
 * written maxUnavailable, 0 allowed, or n − minAvailable), and per wave `maxSurge` and
 * `maxUnavailable` capped by the wave's size. When both resolve to 0 (a spec the validator
 * refuses) one surge slot is used, so a replace never deadlocks. Other tiers are left as they are.
 * @param tier - the tier's spec
 * @param planned - the tier as `planOrdinaryTier` planned it
 * @param waves - its waves (their `maxUnavailable` is rewritten)
 */
export function applyReplaceStrategy(
  tier: TierSpec,
  planned: PlannedTier,
  waves: Array<Omit<PlannedWave, 'index'>>,
): void {
  if (tier.strategy.type === 'blueGreen') return applyBlueGreenStrategy(tier, planned, waves);
  if (tier.strategy.type !== 'replace') return;
  const s = tier.strategy;
  const n = planned.targets.length;
  const unavailable =
    s.minAvailable !== undefined
      ? Math.max(0, n - resolveSize(s.minAvailable, n, n))
      : resolveSize(s.maxUnavailable, n, autoSizes(n).wave);
  let surge = resolveSize(s.maxSurge ?? DEFAULT_SURGE, n, 0);
  if (surge + unavailable === 0 && n > 0) surge = 1;
  planned.strategy = 'replace';
  planned.maxSurge = surge;
  planned.budget = unavailable;
  planned.maxUnavailable = unavailable;
  for (const w of waves) {
    w.maxUnavailable = Math.min(unavailable, w.targets.length);
    w.maxSurge = Math.min(surge, w.targets.length);
  }
}

/**
 * A `blueGreen` tier is one wave, `<tier>/pool`: its whole new pool is provisioned at once (every
 * member a surge slot: nothing leaves service before the switch), observed and analysed together;
 * the tier's `canary` and `waves` do not apply (seed 004: "create new node pool … shift traffic,
 * then decommission old pool").
 */
function applyBlueGreenStrategy(tier: TierSpec, planned: PlannedTier, waves: Array<Omit<PlannedWave, 'index'>>): void {
  const n = planned.targets.length;
  planned.strategy = 'blueGreen';
  planned.maxSurge = n;
  planned.canarySize = 0;
  planned.waveSize = n;
  if (n === 0) return;
  const pool: Omit<PlannedWave, 'index'> = {
    id: `${tier.name}/pool`,
    tier: tier.name,
    kind: 'wave',
    targets: [...planned.targets],
    maxUnavailable: 0,
    maxSurge: n,
    observeMs: tier.strategy.observeMs,
  };
  waves.splice(0, waves.length, pool);
}

/** Replacements at once in a wave: its surge slots and its budget (in-place waves: its maxUnavailable). */
export function waveConcurrency(wave: Pick<PlannedWave, 'maxUnavailable' | 'maxSurge'>): number {
  return Math.max(1, wave.maxUnavailable + (wave.maxSurge ?? 0));
}

/** Phases in which a rollout is under way (its plan must not change under it). */
const IN_FLIGHT = new Set(['Progressing', 'Paused', 'RollingBack']);

/**
 * The inventory as replacements left it (observe, then act: the state says which targets were
 * provisioned and retired; the inventory source may not know yet).
 *
 * - A rollout in flight keeps its plan: a target it provisioned (`replaces`) is left out (the plan's
 *   slot of the target it replaced stands for it), and a target it retired that the inventory no
 *   longer lists is put back from the state (address and labels), so its slot stays planned.
 * - Otherwise every listed id that `replacements` says was replaced is swapped for the target in
 *   its place now (a listed replacement is not listed twice).
 *
 * @param targets - the inventory as loaded
 * @param state - the rollout's state (absent: the inventory as it is)
 * @returns the targets to plan with, and the ids swapped (old → new) for a message
 */
export function followReplacements(
  targets: readonly Target[],
  state: RolloutState | undefined,
): { targets: Target[]; swapped: Record<string, string> } {
  const swapped: Record<string, string> = {};
  if (!state) return { targets: [...targets], swapped };
  if (IN_FLIGHT.has(state.phase)) {
    const out = targets.filter((t) => state.targets[t.id]?.replaces === undefined);
    const listed = new Set(out.map((t) => t.id));
    for (const [id, ts] of Object.entries(state.targets)) {
      if (ts.retired && ts.replaces === undefined && !listed.has(id) && ts.address)
        out.push({ id, address: ts.address, labels: { ...(ts.labels ?? {}) } });
    }
    return { targets: out, swapped };
  }
  const replacements = state.replacements ?? {};
  const ids = new Set(targets.map((t) => t.id));
  const out: Target[] = [];
  const added = new Set<string>();
  for (const t of targets) {
    const r = replacements[t.id];
    if (r === undefined) {
      if (!added.has(t.id)) out.push(t);
      added.add(t.id);
      continue;
    }
    swapped[t.id] = r.by;
    if (ids.has(r.by) || added.has(r.by)) continue;
    added.add(r.by);
    out.push({ id: r.by, address: r.address, labels: { ...(r.labels ?? t.labels) } });
  }
  return { targets: out, swapped };
}

/**
 * Records that `old` was replaced by `by` in `replacements` (in place), collapsing chains: an
 * entry that led to `old` now leads to `by`, and `old` gets an entry of its own only when no entry
 * led to it (it was listed by the inventory itself), so the map holds at most one entry per
 * inventory id.
 */
export function recordReplacement(
  replacements: Record<string, { by: string; address: string; labels?: Record<string, string>; at: string }>,
  old: string,
  by: { id: string; address: string; labels: Record<string, string> },
  at: string,
): void {
  const entry = {
    by: by.id,
    address: by.address,
    ...(Object.keys(by.labels).length > 0 && { labels: { ...by.labels } }),
    at,
  };
  let led = false;
  for (const [key, r] of Object.entries(replacements)) {
    if (r.by !== old) continue;
    replacements[key] = { ...entry };
    led = true;
  }
  if (!led) replacements[old] = entry;
}
