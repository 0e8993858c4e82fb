/**
 * Error-budget arithmetic and the gate's decision (spec `slo`). Pure: counts
 * and times in, a decision out; the engine does the queries.
 *
 * Definitions (SRE workbook, ch. 5 "Alerting on SLOs"):
 * - the error budget is 1 − objective of the events (99.9% → 0.1% may be bad);
 * - the burn rate over a range is its error ratio ÷ (1 − objective): at 1 the
 *   budget lasts exactly the objective's window, at 14.4 a 30-day budget is
 *   gone in 50 hours (2% of it in one hour);
 * - the budget a span consumed is its burn rate × (span ÷ objective window).
 *   This takes the span's traffic as typical of the window (the workbook's
 *   reading of burn rates); it needs no 30 days of history in Prometheus.
 *
 * The gate pauses when the rollout consumed more than `maxBudgetConsumed`
 * since it began (seed 004: more than 50%), or when both windows of a
 * fast/slow pair burn faster than the pair's rate. A rollout younger than a
 * pair's long window has the long window shortened to its age, never below
 * the short window ({@link planBurnWindows}): the long window then sees the
 * rollout's own time, not hours of healthy history before it that would hide
 * a regression. Anything not measured is inconclusive, never a pass.
 */
import { formatDuration } from '../../spec/duration.js';
import type { BurnRatePairSpec, SloSpec } from '../../spec/slo.js';
import type { SloCheck, SloPairCheck, SloWindowMeasure } from './types.js';

/** Shortest range the gate queries (ms): Prometheus's ranges are counted in whole seconds here. */
export const MIN_SLO_RANGE_MS = 1000;

/**
 * The error budget: the share of events that may be bad, 1 − objective (0.999 → 0.001).
 * @param objective - a ratio in (0, 1)
 */
export function errorBudget(objective: number): number {
  return 1 - objective;
}

/**
 * The burn rate of `bad` out of `total` events against `objective`: (bad ÷ total) ÷ (1 − objective).
 * @returns undefined when there were no events (`total` ≤ 0), or the counts are not finite
 */
export function burnRate(bad: number, total: number, objective: number): number | undefined {
  if (!(total > 0) || !Number.isFinite(bad) || !Number.isFinite(total) || bad < 0) return undefined;
  return bad / total / errorBudget(objective);
}

/**
 * The share of the objective window's budget a span burning at `rate` consumed: rate × span ÷ window.
 * @param spanMs - the span's length (ms)
 * @param windowMs - the objective's window (ms)
 * @returns a ratio of the budget (0.5 = half of it; above 1 = more than all of it)
 */
export function budgetConsumed(rate: number, spanMs: number, windowMs: number): number {
  return (rate * Math.max(0, spanMs)) / windowMs;
}

/** A range rounded to whole seconds, at least {@link MIN_SLO_RANGE_MS}. */
export function sloRangeMs(ms: number): number {
  return Math.max(MIN_SLO_RANGE_MS, Math.round(ms / 1000) * 1000);
}

/**
 * The windows a pair is checked over for a rollout `elapsedMs` old: the long window shortened to
 * the rollout's age when that is shorter, never below the short window (both rounded to whole
 * seconds); the short window and the rate as written.
 */
export function planBurnWindows(pair: BurnRatePairSpec, elapsedMs: number): { longMs: number; shortMs: number } {
  const shortMs = sloRangeMs(pair.shortMs);
  const longMs = sloRangeMs(Math.min(pair.longMs, Math.max(pair.shortMs, elapsedMs)));
  return { longMs: Math.max(longMs, shortMs), shortMs };
}

/**
 * Every range (ms) one check queries: the rollout's age (when it changed anything) and each pair's
 * windows, distinct, longest first.
 * @param sinceMs - the budget's span (ms), or undefined when nothing was changed yet
 */
export function sloRanges(slo: SloSpec, elapsedMs: number, sinceMs: number | undefined): number[] {
  const out = new Set<number>();
  if (sinceMs !== undefined) out.add(sloRangeMs(sinceMs));
  for (const pair of slo.burnRates) {
    const w = planBurnWindows(pair, elapsedMs);
    out.add(w.longMs);
    out.add(w.shortMs);
  }
  return [...out].sort((a, b) => b - a);
}

/** What the queries answered for one range: counts, or why not. */
export type SloCounts = { ok: true; bad: number; total: number; badEmpty?: boolean } | { ok: false; message: string };

/** What {@link assessSlo} decides on. */
export interface SloAssessInput {
  slo: SloSpec;
  when: 'before' | 'after';
  /** Wave id, for the message. */
  wave: string;
  /** When the budget is counted from (epoch ms). */
  sinceMs: number;
  /** Now (epoch ms): the queries' evaluation time. */
  nowMs: number;
  /** The rollout's age (ms): long windows are shortened to it ({@link planBurnWindows}). */
  ageMs: number;
  /** True when the rollout changed anything since `sinceMs` (else the budget consumed is 0, not measured). */
  changed: boolean;
  /** The counts by range (ms, as {@link sloRanges} returned them). */
  counts: ReadonlyMap<number, SloCounts>;
  /** Formats a range as sent (`formatPromDuration`). */
  formatRange: (ms: number) => string;
}

function measureOf(rangeMs: number, input: SloAssessInput): SloWindowMeasure {
  const out: SloWindowMeasure = { window: input.formatRange(rangeMs), windowMs: rangeMs };
  const c = input.counts.get(rangeMs);
  if (!c) return { ...out, problem: 'not measured' };
  if (!c.ok) return { ...out, problem: c.message };
  out.bad = c.bad;
  out.total = c.total;
  if (c.badEmpty) out.badEmpty = true;
  const rate = burnRate(c.bad, c.total, input.slo.objective);
  if (rate === undefined) return { ...out, problem: `no events over ${out.window} (total ${c.total})` };
  out.errorRatio = c.bad / c.total;
  out.burnRate = rate;
  return out;
}

/** `0.0123` → `1.2%`; for messages only (the state keeps the ratio). */
function pct(ratio: number): string {
  const p = ratio * 100;
  return `${p >= 10 ? p.toFixed(0) : p >= 1 ? p.toFixed(1) : p.toPrecision(2)}%`;
}

/** `0.999` → `99.9%`, `0.99995` → `99.995%`: an objective as people write it. */
export function formatObjective(ratio: number): string {
  return `${Number((ratio * 100).toPrecision(10))}%`;
}

function times(rate: number): string {
  return `${rate >= 100 ? rate.toFixed(0) : rate >= 10 ? rate.toFixed(1) : rate.toFixed(2)}×`;
}

/**
 * Decides one check of the error-budget gate (see the file's comment for the rules).
 * Verdict: `fail` when the budget consumed exceeds `maxBudgetConsumed` or a pair has both windows
 * over its rate (fail wins over a window that was not measured); else `inconclusive` when anything
 * needed was not measured (Prometheus unreachable, no data, no events); else `pass`.
 */
export function assessSlo(input: SloAssessInput): SloCheck {
  const { slo, nowMs, sinceMs } = input;
  const spanMs = Math.max(0, nowMs - sinceMs);
  const budget: SloCheck['budget'] = { limit: slo.maxBudgetConsumed };
  const fails: string[] = [];
  const unknown: string[] = [];
  if (input.changed) {
    const m = measureOf(sloRangeMs(spanMs), input);
    budget.measure = m;
    if (m.burnRate !== undefined) {
      budget.consumed = budgetConsumed(m.burnRate, m.windowMs, slo.windowMs);
      if (budget.consumed > slo.maxBudgetConsumed)
        fails.push(
          `the rollout consumed ${pct(budget.consumed)} of the error budget since ${new Date(sinceMs).toISOString()} (more than ${pct(slo.maxBudgetConsumed)}: ${m.bad}/${m.total} bad over ${m.window}, burn rate ${times(m.burnRate)})`,
        );
    } else {
      unknown.push(`budget since ${new Date(sinceMs).toISOString()}: ${m.problem}`);
    }
  } else {
    budget.consumed = 0;
  }
  const burnRates: SloPairCheck[] = slo.burnRates.map((pair) => {
    const w = planBurnWindows(pair, input.ageMs);
    const long = measureOf(w.longMs, input);
    const short = measureOf(w.shortMs, input);
    const over = (m: SloWindowMeasure) => m.burnRate !== undefined && m.burnRate > pair.rate;
    const under = (m: SloWindowMeasure) => m.burnRate !== undefined && m.burnRate <= pair.rate;
    // One window under the rate clears the pair, whatever the other shows.
    const verdict: SloPairCheck['verdict'] =
      over(long) && over(short) ? 'fail' : under(long) || under(short) ? 'pass' : 'inconclusive';
    const name = `${formatDuration(pair.longMs)}/${formatDuration(pair.shortMs)} ×${pair.rate}`;
    if (verdict === 'fail')
      fails.push(
        `burn rate ${times(long.burnRate!)} over ${long.window} and ${times(short.burnRate!)} over ${short.window}, both above ${pair.rate} (pair ${name})`,
      );
    else if (verdict === 'inconclusive')
      unknown.push(
        `pair ${name}: ${[...new Set([long.problem, short.problem].filter((p) => p !== undefined))].join('; ')}`,
      );
    return { longMs: pair.longMs, usedLongMs: w.longMs, shortMs: w.shortMs, rate: pair.rate, long, short, verdict };
  });
  const where = input.when === 'before' ? `before ${input.wave} starts` : `at the end of ${input.wave}'s window`;
  const objective = `objective ${formatObjective(slo.objective)} over ${formatDuration(slo.windowMs)}`;
  let verdict: SloCheck['verdict'];
  let message: string;
  if (fails.length > 0) {
    verdict = 'fail';
    message = `error budget ${where} (${objective}): ${fails.join('; ')}`;
  } else if (unknown.length > 0) {
    verdict = 'inconclusive';
    message = `error budget not measured ${where} (${objective}): ${unknown.join('; ')}`;
  } else {
    verdict = 'pass';
    const worst = burnRates.flatMap((p) => [p.long.burnRate ?? 0, p.short.burnRate ?? 0]);
    message = `error budget ${where}: ${pct(budget.consumed ?? 0)} consumed since the rollout began (limit ${pct(slo.maxBudgetConsumed)})${worst.length > 0 ? `, burn rate at most ${times(Math.max(...worst))}` : ''}`;
  }
  return {
    at: new Date(nowMs).toISOString(),
    when: input.when,
    verdict,
    message,
    objective: slo.objective,
    windowMs: slo.windowMs,
    queries: { bad: slo.bad, total: slo.total },
    since: new Date(sinceMs).toISOString(),
    budget,
    burnRates,
  };
}
