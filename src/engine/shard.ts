/**
 * Big waves across runners (pure): a wave's targets split into N deterministic slices, one per
 * leg (`fleetgate run --shard i/N`, one GitHub matrix job each), and the tier's budget split so
 * that the legs together never have more members out than the tier allows.
 *
 * The flow: `run --open-shards N` opens the next wave (its gate, alert gate and tier hook run
 * once) and records it as sharded; each leg moves only its slice, under its own lease, and
 * writes only its own targets and its own entry in `shardLegs`, so the state's compare-and-swap
 * merges the legs' commits (`src/github/state-merge.ts`); the next unsharded run takes the
 * wave's verdict from every target's outcome — breaker, failure tolerance, observation,
 * analysis — exactly as for an unsharded wave.
 */
import type { ShardLeg, TargetState } from '../state/types.js';

/** One leg of a sharded wave: `index` of `count`, both 1-based (`2/4` is the second of four). */
export interface ShardRef {
  index: number;
  count: number;
}

/** Most legs one wave may be split into (GitHub runs at most 256 jobs per matrix). */
export const MAX_SHARDS = 64;

/**
 * Parses `i/N` (`--shard 2/4`).
 * @returns the leg, or a message saying what is wrong
 */
export function parseShardRef(text: string): ShardRef | { error: string } {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) return { error: `must be i/N like 2/4 (got ${JSON.stringify(text)})` };
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS) return { error: `N must be 1 to ${MAX_SHARDS} (got ${count})` };
  if (index < 1 || index > count) return { error: `i must be 1 to ${count} (got ${index})` };
  return { index, count };
}

/** `2/4`. */
export function formatShardRef(ref: ShardRef): string {
  return `${ref.index}/${ref.count}`;
}

/** Key of a leg in the state's `shardLegs`: `<wave>#<i>/<N>`. */
export function shardLegKey(wave: string, ref: ShardRef): string {
  return `${wave}#${formatShardRef(ref)}`;
}

/**
 * The targets of leg `ref`: the wave's ids sorted (code-unit order), the k-th of them (0-based)
 * to leg `k mod N + 1`. Every target is in exactly one leg, whatever order the plan lists them in.
 */
export function shardSlice(targets: readonly string[], ref: ShardRef): string[] {
  return [...targets].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).filter((_, k) => k % ref.count === ref.index - 1);
}

/**
 * Leg `ref`'s share of `limit` (the most members of the tier out at once): floor(limit/N), and one
 * more for the first `limit mod N` legs. The shares of the N legs add up to exactly `limit`, so a
 * leg gets 1 with a budget below N only when that keeps the total within it (the other legs get 0
 * and leave their slices to the verdict run).
 * @param limit - whole number ≥ 0
 */
export function shardBudget(limit: number, ref: ShardRef): number {
  const base = Math.floor(limit / ref.count);
  return base + (ref.index - 1 < limit % ref.count ? 1 : 0);
}

/** What the legs of a wave left, as the verdict reads it. */
export interface ShardedStepsAssessment {
  /** Why the breaker trips (a leg's own trip, or the wave's outcomes in the order they finished). */
  breakerTripped?: { reason: string; failedTargets: string[] };
  /** A leg's refused take-down. */
  budgetExhausted?: string;
  /** Consecutive failures after the wave's finished targets (the breaker's count from here on). */
  consecutiveFailures: number;
}

/**
 * The breaker and budget over every leg of a wave, as if one run had moved its targets: the
 * finished targets in the order they finished (ties by id), failures counted on from
 * `consecutiveFailures` (what earlier waves left), reset by a success; it trips at `max`. A leg
 * whose own breaker tripped trips it too (that leg stopped early; never less strict than one run).
 * @param reason - message for a trip found by counting (`Messages.breakerTripped`)
 */
export function assessShardedSteps(input: {
  waveTargets: readonly string[];
  targets: Readonly<Record<string, TargetState | undefined>>;
  legs: readonly ShardLeg[];
  consecutiveFailures: number;
  max: number;
  reason: (failed: string[], max: number) => string;
}): ShardedStepsAssessment {
  const finished = input.waveTargets
    .map((id) => ({ id, t: input.targets[id] }))
    .filter(
      (x): x is { id: string; t: TargetState } =>
        (x.t?.phase === 'Succeeded' || x.t?.phase === 'Failed') && x.t.finishedAt !== undefined,
    )
    .sort((a, b) =>
      a.t.finishedAt! < b.t.finishedAt! ? -1 : a.t.finishedAt! > b.t.finishedAt! ? 1 : a.id < b.id ? -1 : 1,
    );
  let count = input.consecutiveFailures;
  const streak: string[] = [];
  let tripped: ShardedStepsAssessment['breakerTripped'];
  for (const { id, t } of finished) {
    if (t.phase === 'Failed') {
      count++;
      streak.push(id);
      if (count >= input.max && tripped === undefined) {
        const failedTargets = streak.slice(-input.max);
        tripped = { reason: input.reason(failedTargets, input.max), failedTargets };
      }
    } else {
      count = 0;
      streak.length = 0;
    }
  }
  const legTrip = input.legs.find((l) => l.breakerTripped)?.breakerTripped;
  const exhausted = input.legs.find((l) => l.budgetExhausted !== undefined)?.budgetExhausted;
  return {
    ...((tripped ?? legTrip) && {
      breakerTripped: tripped ?? { reason: legTrip!.reason, failedTargets: legTrip!.failedTargets },
    }),
    ...(exhausted !== undefined && { budgetExhausted: exhausted }),
    consecutiveFailures: count,
  };
}
