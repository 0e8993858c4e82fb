/**
 * The error-budget arithmetic and the gate's decision (pure): burn rates, the budget a span
 * consumes, the long window shortened for a young rollout, and what each combination of counts
 * decides. The numbers checked against the SRE workbook's table 5-8 (a 30-day objective).
 */
import { describe, expect, it } from 'vitest';
import {
  assessSlo,
  budgetConsumed,
  burnRate,
  errorBudget,
  planBurnWindows,
  sloRanges,
  type SloAssessInput,
  type SloCounts,
} from '../../../src/analysis/slo/budget.js';
import { formatPromDuration } from '../../../src/analysis/query.js';
import type { SloSpec } from '../../../src/spec/slo.js';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const D = 24 * H;
const T = Date.UTC(2026, 0, 1, 12, 0, 0);

const SLO: SloSpec = {
  objective: 0.999,
  windowMs: 30 * D,
  bad: 'sum(increase(bad[{{window}}]))',
  total: 'sum(increase(all[{{window}}]))',
  maxBudgetConsumed: 0.5,
  burnRates: [
    { longMs: H, shortMs: 5 * MIN, rate: 14.4 },
    { longMs: 6 * H, shortMs: 30 * MIN, rate: 6 },
  ],
};

describe('error-budget arithmetic', () => {
  it('the budget is 1 − objective and the burn rate the error ratio over it', () => {
    expect(errorBudget(0.999)).toBeCloseTo(0.001, 12);
    expect(burnRate(1, 1000, 0.999)).toBeCloseTo(1, 9);
    expect(burnRate(144, 10_000, 0.999)).toBeCloseTo(14.4, 9);
    expect(burnRate(0, 1000, 0.999)).toBe(0);
    // No events: no rate, never 0.
    expect(burnRate(0, 0, 0.999)).toBeUndefined();
    expect(burnRate(Number.NaN, 10, 0.999)).toBeUndefined();
  });

  it('reproduces the workbook: 14.4× for an hour is 2% of a 30-day budget, 6× for 6 hours 5%, 1× for the window all of it', () => {
    expect(budgetConsumed(14.4, H, 30 * D)).toBeCloseTo(0.02, 12);
    expect(budgetConsumed(6, 6 * H, 30 * D)).toBeCloseTo(0.05, 12);
    expect(budgetConsumed(1, 30 * D, 30 * D)).toBe(1);
    expect(budgetConsumed(3, -5, 30 * D)).toBe(0);
  });

  it('shortens the long window to the rollout’s age, never below the short window, in whole seconds', () => {
    const pair = { longMs: H, shortMs: 5 * MIN, rate: 14.4 };
    expect(planBurnWindows(pair, 2 * H)).toEqual({ longMs: H, shortMs: 5 * MIN });
    expect(planBurnWindows(pair, 20 * MIN + 400)).toEqual({ longMs: 20 * MIN, shortMs: 5 * MIN });
    expect(planBurnWindows(pair, 90 * S)).toEqual({ longMs: 5 * MIN, shortMs: 5 * MIN });
    expect(planBurnWindows(pair, 0)).toEqual({ longMs: 5 * MIN, shortMs: 5 * MIN });
  });

  it('asks for each distinct range once, longest first', () => {
    expect(sloRanges(SLO, 10 * MIN, 10 * MIN)).toEqual([30 * MIN, 10 * MIN, 5 * MIN]);
    expect(sloRanges(SLO, 8 * H, undefined)).toEqual([6 * H, H, 30 * MIN, 5 * MIN]);
    expect(sloRanges({ ...SLO, burnRates: [] }, 0, 400)).toEqual([S]);
  });
});

/** Counts for every range from one error ratio and a request rate (requests per second). */
function steady(slo: SloSpec, ageMs: number, sinceMs: number | undefined, errorRatio: number, rps = 100) {
  const counts = new Map<number, SloCounts>();
  for (const r of sloRanges(slo, ageMs, sinceMs)) {
    const total = Math.round((rps * r) / 1000);
    counts.set(r, { ok: true, bad: Math.round(total * errorRatio), total });
  }
  return counts;
}

function input(over: Partial<SloAssessInput> & { counts: ReadonlyMap<number, SloCounts> }): SloAssessInput {
  return {
    slo: SLO,
    when: 'after',
    wave: 'edge/canary',
    sinceMs: T - 10 * MIN,
    nowMs: T,
    ageMs: 10 * MIN,
    changed: true,
    formatRange: formatPromDuration,
    ...over,
  };
}

describe('assessSlo', () => {
  it('passes a service inside its budget, recording the budget consumed and every window', () => {
    const check = assessSlo(input({ counts: steady(SLO, 10 * MIN, 10 * MIN, 0.0005) }));
    expect(check.verdict).toBe('pass');
    // 0.5× for 10 minutes of a 30-day window.
    expect(check.budget.consumed).toBeCloseTo((0.5 * 10 * MIN) / (30 * D), 12);
    expect(check.budget.measure).toMatchObject({ window: '10m', bad: 30, total: 60_000 });
    expect(check.burnRates.map((p) => [p.long.window, p.short.window, p.verdict])).toEqual([
      ['10m', '5m', 'pass'],
      ['30m', '30m', 'pass'],
    ]);
    expect(check).toMatchObject({ objective: 0.999, windowMs: 30 * D, since: new Date(T - 10 * MIN).toISOString() });
    expect(check.message).toMatch(/0\.0\d+% consumed since the rollout began \(limit 50%\), burn rate at most 0\.50×/);
  });

  it('pauses when both windows of a pair burn above its rate (2% errors at 99.9% is 20×)', () => {
    const check = assessSlo(input({ counts: steady(SLO, 10 * MIN, 10 * MIN, 0.02) }));
    expect(check.verdict).toBe('fail');
    expect(check.burnRates.map((p) => p.verdict)).toEqual(['fail', 'fail']);
    expect(check.burnRates[0]!.long.burnRate).toBeCloseTo(20, 9);
    expect(check.message).toMatch(
      /burn rate 20\.0× over 10m and 20\.0× over 5m, both above 14\.4 \(pair 1h\/5m ×14\.4\)/,
    );
  });

  it('does not pause when only the short window burns (a spike that is over in the long one)', () => {
    const counts = steady(SLO, 2 * H, undefined, 0.0001);
    counts.set(5 * MIN, { ok: true, bad: 600, total: 30_000 }); // 20× over the last 5 minutes
    const check = assessSlo(input({ counts, ageMs: 2 * H, changed: false, sinceMs: T - 2 * H }));
    expect(check.burnRates[0]).toMatchObject({ verdict: 'pass', usedLongMs: H });
    expect(check.verdict).toBe('pass');
  });

  it('pauses when the rollout consumed more than maxBudgetConsumed since it began (seed 004)', () => {
    // A 1-hour objective window: 10 minutes at 4× consume 2/3 of it, below every pair's rate.
    const slo: SloSpec = { ...SLO, windowMs: H };
    const check = assessSlo(input({ slo, counts: steady(slo, 10 * MIN, 10 * MIN, 0.004) }));
    expect(check.budget.consumed).toBeCloseTo(4 / 6, 9);
    expect(check.burnRates.every((p) => p.verdict === 'pass')).toBe(true);
    expect(check.verdict).toBe('fail');
    expect(check.message).toMatch(
      /consumed 67% of the error budget since .* \(more than 50%: 240\/60000 bad over 10m, burn rate 4\.00×\)/,
    );
  });

  it('counts nothing consumed before the rollout changed anything, and checks the burn rates only', () => {
    const check = assessSlo(input({ changed: false, ageMs: 0, counts: steady(SLO, 0, undefined, 0) }));
    expect(check.budget).toEqual({ limit: 0.5, consumed: 0 });
    expect(check.verdict).toBe('pass');
  });

  it('is inconclusive, never a pass, when Prometheus does not answer or saw no events', () => {
    const down = new Map<number, SloCounts>(
      sloRanges(SLO, 10 * MIN, 10 * MIN).map((r) => [r, { ok: false, message: 'connection refused' }]),
    );
    const check = assessSlo(input({ counts: down }));
    expect(check.verdict).toBe('inconclusive');
    expect(check.budget.consumed).toBeUndefined();
    expect(check.message).toMatch(/error budget not measured at the end of edge\/canary's window .*connection refused/);
    const quiet = steady(SLO, 10 * MIN, 10 * MIN, 0, 0);
    const none = assessSlo(input({ counts: quiet }));
    expect(none.verdict).toBe('inconclusive');
    expect(none.message).toMatch(/no events over 10m \(total 0\)/);
  });

  it('a window under the rate clears its pair even when the other was not measured; a burn wins over a gap', () => {
    const counts = steady(SLO, 10 * MIN, 10 * MIN, 0.02);
    counts.set(30 * MIN, { ok: false, message: 'timeout' });
    const check = assessSlo(input({ counts }));
    // Pair 1 (10m & 5m) burns: fail, although pair 2 could not be measured.
    expect(check.burnRates.map((p) => p.verdict)).toEqual(['fail', 'inconclusive']);
    expect(check.verdict).toBe('fail');
    const calm = steady(SLO, 10 * MIN, 10 * MIN, 0);
    calm.set(5 * MIN, { ok: false, message: 'timeout' });
    const c2 = assessSlo(input({ counts: calm }));
    expect(c2.burnRates[0]!.verdict).toBe('pass');
    expect(c2.verdict).toBe('pass');
  });
});
