/**
 * Resolving a written {@link Size} (count, percent or `auto`) to a number of
 * targets, and the two tables the planner sizes waves by:
 *
 * - the **fleet-size table** (seed 000) for ordinary tiers;
 * - the **quorum rule** (quorum procedure: seed 000): never more than
 *   floor((n-1)/2) of n members down at once.
 *
 * Pure: no I/O. Percents are percent numbers (20 means 20 %), never ratios.
 */
import type { Size } from '../spec/types.js';

/** One row of the fleet-size table. */
export interface FleetSizeRow {
  /** Largest tier size (targets, inclusive) the row applies to; `Infinity` for the last row. */
  maxTargets: number;
  /** Canary size (targets) for `canary: auto`. */
  canary: number;
  /** Wave size (targets) for `waves: auto`. */
  wave: number;
}

/**
 * Fleet-size table: seed 000 (its canary and wave sizes by fleet size), looked up by the number of
 * targets in the **tier** (n):
 *
 * | tier size n   | canary | wave |
 * |---------------|--------|------|
 * | n < 50        | 1      | 5    |
 * | 50 ≤ n ≤ 500  | 2      | 25   |
 * | n > 500       | 5      | 50   |
 */
export const FLEET_SIZE_TABLE: readonly FleetSizeRow[] = Object.freeze([
  Object.freeze({ maxTargets: 49, canary: 1, wave: 5 }),
  Object.freeze({ maxTargets: 500, canary: 2, wave: 25 }),
  Object.freeze({ maxTargets: Number.POSITIVE_INFINITY, canary: 5, wave: 50 }),
]);

/**
 * The `auto` canary and wave sizes for a tier of `n` targets (fleet-size
 * table: seed 000, see {@link FLEET_SIZE_TABLE}). The sizes are not capped at
 * `n`; {@link resolveSize} does that.
 * @param n - number of targets in the tier (≥ 0).
 */
export function autoSizes(n: number): { canary: number; wave: number } {
  const row = FLEET_SIZE_TABLE.find((r) => n <= r.maxTargets) ?? FLEET_SIZE_TABLE[FLEET_SIZE_TABLE.length - 1]!;
  return { canary: row.canary, wave: row.wave };
}

/**
 * Most members of an n-member quorum that may be out of service at once
 * while a majority stays up: floor((n-1)/2) (quorum procedure: seed 000 —
 * 3 members → 1, 5 → 2). For n ≤ 2 no member can be lost safely; this returns
 * 1 (one at a time, the least unsafe choice) and the planner warns.
 * @param n - quorum members (≥ 0). Returns 1 for n ≤ 2.
 */
export function quorumSafeSize(n: number): number {
  return n >= 3 ? Math.floor((n - 1) / 2) : 1;
}

/** Tolerance for floating-point noise in `n × p / 100` (e.g. 0.7 × 100 = 70.00000000000001). */
const EPSILON = 1e-9;

/**
 * ceil(n × percent / 100), immune to floating-point noise.
 * @param n - targets (≥ 0).
 * @param percent - percent number (20 means 20 %).
 */
export function ceilPercent(n: number, percent: number): number {
  const exact = (n * percent) / 100;
  const nearest = Math.round(exact);
  return Math.abs(exact - nearest) < EPSILON ? nearest : Math.ceil(exact);
}

/**
 * Resolves a written size against a tier (or a rollback) of `n` targets:
 *
 * - `{kind:'count'}` → min(count, n) (a count of 0 stays 0: "no canary");
 * - `{kind:'percent'}` → ceil(n × p / 100), at least 1 when n > 0, at most n;
 * - `{kind:'auto'}` → min(`auto`, n), where the caller passes the value `auto`
 *   stands for (from {@link autoSizes} or {@link quorumSafeSize}).
 *
 * Returns 0 when n = 0. Callers apply their own lower bounds (a wave size and
 * a maxUnavailable are at least 1).
 * @param size - the normalized size from the spec.
 * @param n - targets it is resolved against (≥ 0).
 * @param auto - what `auto` means for this size (targets).
 */
export function resolveSize(size: Size, n: number, auto: number): number {
  if (n <= 0) return 0;
  switch (size.kind) {
    case 'count':
      return Math.min(Math.max(0, Math.floor(size.value)), n);
    case 'percent':
      return Math.min(n, Math.max(1, ceilPercent(n, size.value)));
    case 'auto':
      return Math.min(Math.max(0, auto), n);
  }
}
