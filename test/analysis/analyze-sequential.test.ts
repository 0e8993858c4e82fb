/**
 * analyzeWindow with a provider that counts events: looks every interval
 * (cumulative from the window start), an early return once decided, a
 * minimum window, `noData: wait` past the window, and never a pass without
 * enough events. A fake clock moves only when the analysis sleeps.
 */
import { describe, expect, it } from 'vitest';
import { analyzeWindow, planSequentialLooks } from '../../src/analysis/analyze.js';
import { thinLooks } from '../../src/analysis/assess-sequential.js';
import { SERIES_LIMIT } from '../../src/analysis/types.js';
import type {
  AnalysisWindow,
  Cohort,
  MeasureRequest,
  MetricProvider,
  ProviderResult,
} from '../../src/analysis/types.js';
import type { AnalysisSpec, MetricSpec, Target } from '../../src/spec/types.js';
import { metric } from './helpers/metric.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const WINDOW: AnalysisWindow = { startMs: T0, endMs: T0 + 15 * MIN };

function targets(prefix: string, n: number): Target[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i + 1}`, address: `10.0.0.${i + 1}:80`, labels: {} }));
}
const canary: Cohort = { name: 'canary', targets: targets('canary', 1) };
const baseline: Cohort = { name: 'baseline', targets: targets('stable', 19) };

function fakeClock(start: number) {
  let now = start;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: (ms: number) => {
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
    sleeps,
  };
}

/**
 * A counting provider with steady traffic: `rps` requests per second per target and an error
 * ratio per cohort; events are the expected counts (no noise), so decisions are deterministic.
 */
function countingProvider(opts: { rps: number; canaryRatio: number; baselineRatio: number; fromMs?: number }) {
  const calls: MeasureRequest[] = [];
  const provider: MetricProvider = {
    type: 'fake',
    countable: () => true,
    measure: (req) => {
      calls.push(req);
      const start = Math.max(req.window.startMs, opts.fromMs ?? -Infinity);
      const seconds = Math.max(0, (req.window.endMs - start) / 1000);
      const exposure = opts.rps * seconds * req.cohort.targets.length;
      if (exposure === 0)
        return Promise.resolve<ProviderResult>({ ok: false, verdict: 'inconclusive', message: '0/0' });
      const ratio = req.cohort.name === 'canary' ? opts.canaryRatio : opts.baselineRatio;
      const events = Math.round(exposure * ratio);
      return Promise.resolve<ProviderResult>({ ok: true, value: events / exposure, counts: { events, exposure } });
    },
  };
  return { provider, calls };
}

/** Seed 000's criterion as written: no increase > 10%, stable baseline, critical; nothing else. */
const seed000: MetricSpec = metric({
  name: 'api-5xx',
  query: 'ratio(http_requests_total{code=~"5.."}, http_requests_total)',
  maxIncreasePercent: 10,
  baseline: { cohort: 'stable' },
  severity: 'critical',
});

function spec(m: MetricSpec, extra: Partial<AnalysisSpec> = {}): AnalysisSpec {
  return { provider: { type: 'fake', config: {} }, noData: 'pause', metrics: [m], ...extra };
}

describe('planSequentialLooks', () => {
  it('looks every interval, each from the window start, the last at the window end', () => {
    const looks = planSequentialLooks({ intervalMs: MIN }, WINDOW);
    expect(looks).toHaveLength(15);
    expect(looks.every((l) => l.startMs === T0)).toBe(true);
    expect(looks.map((l) => (l.endMs - T0) / MIN)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  });

  it('looks ten times in a window shorter than ten intervals', () => {
    const looks = planSequentialLooks({ intervalMs: MIN }, { startMs: 0, endMs: 10_000 });
    expect(looks.map((l) => l.endMs)).toEqual([1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000]);
  });
});

describe('analyzeWindow with event counts (sequential)', () => {
  it('fails a 20%-error canary at the first look and returns early', async () => {
    const clock = fakeClock(T0);
    const { provider } = countingProvider({ rps: 300, canaryRatio: 0.2, baselineRatio: 0.001 });
    const r = await analyzeWindow(spec(seed000), provider, {
      cohort: canary,
      baseline,
      window: WINDOW,
      ...clock,
      stopEarly: true,
    });
    expect(r).toMatchObject({ verdict: 'fail', severity: 'critical', endedEarly: true, decidedAtMs: T0 + MIN });
    expect(clock.sleeps).toEqual([MIN]);
    expect(r.measurements).toHaveLength(1);
    expect(r.measurements[0]?.evidence?.looks).toBe(1);
    expect(r.message).toMatch(
      /^api-5xx = 0\.2 \(baseline 0\.001\) violates "no increase > 10%" \(ratio 200x, 99% interval [\d.]+x–[\d.]+x, 3600\/18000 vs 342\/342000 events: above 1\.1x\)/,
    );
    expect(r.metrics[0]).toMatchObject({ decided: true, decidedAt: new Date(T0 + MIN).toISOString() });
  });

  it('passes a good canary once a 2x regression is ruled out, before the window ends', async () => {
    const clock = fakeClock(T0);
    // ~0.1% errors, 300 requests/s per target: the canary sees ~18 errors a minute.
    const { provider } = countingProvider({ rps: 300, canaryRatio: 0.001, baselineRatio: 0.001 });
    const r = await analyzeWindow(spec(seed000), provider, {
      cohort: canary,
      baseline,
      window: WINDOW,
      ...clock,
      stopEarly: true,
    });
    expect(r.verdict).toBe('pass');
    expect(r.endedEarly).toBe(true);
    // One measurement per sequential metric in the state: the deciding look, cumulative since the window start.
    expect(r.measurements).toHaveLength(1);
    const decisive = r.measurements[0]!;
    expect(decisive.evidence?.decision).toBe('pass');
    expect(decisive.evidence?.interval?.[1]).toBeLessThan(2);
    expect(decisive.evidence?.looks).toBeGreaterThan(1);
    expect(decisive.window.start).toBe(new Date(T0).toISOString());
    expect(clock.now()).toBeLessThan(WINDOW.endMs);
  });

  it('keeps every look up to the deciding one as the series the report charts', async () => {
    const clock = fakeClock(T0);
    const { provider } = countingProvider({ rps: 300, canaryRatio: 0.001, baselineRatio: 0.001 });
    const r = await analyzeWindow(spec(seed000), provider, {
      cohort: canary,
      baseline,
      window: WINDOW,
      ...clock,
      stopEarly: true,
    });
    const decisive = r.measurements[0]!;
    const series = decisive.series!;
    expect(series).toHaveLength(decisive.evidence!.looks!);
    // One point per planned look (every minute from the window start), cumulative: the exposure grows each look.
    expect(series.map((p) => (Date.parse(p.at) - T0) / MIN)).toEqual(series.map((_, i) => i + 1));
    expect(series.slice(0, -1).every((p) => p.decision === 'continue')).toBe(true);
    // The last point is the deciding look itself, exactly as recorded.
    expect(series.at(-1)).toEqual({
      at: decisive.window.end,
      verdict: 'pass',
      value: decisive.value,
      baselineValue: decisive.baselineValue,
      estimate: decisive.evidence!.estimate,
      interval: decisive.evidence!.interval,
      decision: 'pass',
    });
    // The interval narrows as events accumulate.
    const widths = series.map((p) => p.interval![1] - p.interval![0]);
    expect(widths.at(-1)!).toBeLessThan(widths[0]!);
  });

  it('thins a long series evenly to SERIES_LIMIT, keeping the first and the deciding look', async () => {
    const clock = fakeClock(T0);
    // Too little traffic to decide in the window: noData wait keeps looking every second for 5 minutes.
    const { provider } = countingProvider({ rps: 0.05, canaryRatio: 0.001, baselineRatio: 0.001 });
    const m = { ...seed000, intervalMs: 1000, noData: 'wait' as const, maxWaitMs: 5 * MIN };
    const r = await analyzeWindow(spec(m), provider, {
      cohort: canary,
      baseline,
      window: { startMs: T0, endMs: T0 + 10_000 },
      ...clock,
    });
    const kept = r.measurements[0]!;
    expect(kept.evidence!.looks!).toBeGreaterThan(SERIES_LIMIT);
    expect(kept.series).toHaveLength(SERIES_LIMIT);
    expect(kept.series![0]!.at).toBe(new Date(T0 + 1000).toISOString());
    expect(kept.series!.at(-1)!.at).toBe(kept.window.end);
    const times = kept.series!.map((p) => Date.parse(p.at));
    expect(times.every((t, i) => i === 0 || t > times[i - 1]!)).toBe(true);
  });

  it('thinLooks: all when they fit, else evenly with both ends, ascending without repeats', () => {
    expect(thinLooks(3, 60)).toEqual([0, 1, 2]);
    expect(thinLooks(0, 60)).toEqual([]);
    expect(thinLooks(5, 3)).toEqual([0, 2, 4]);
    for (const n of [61, 100, 3601]) {
      const kept = thinLooks(n, SERIES_LIMIT);
      expect(kept).toHaveLength(SERIES_LIMIT);
      expect(kept[0]).toBe(0);
      expect(kept.at(-1)).toBe(n - 1);
      expect(new Set(kept).size).toBe(SERIES_LIMIT);
      expect(kept.every((k, i) => i === 0 || k > kept[i - 1]!)).toBe(true);
    }
    expect(() => thinLooks(5, 1)).toThrow(RangeError);
  });

  it('holds a pass until the minimum window, and still fails at once', async () => {
    const clock = fakeClock(T0);
    const good = countingProvider({ rps: 300, canaryRatio: 0.001, baselineRatio: 0.001 });
    const r = await analyzeWindow(spec(seed000, { minWindowMs: 10 * MIN }), good.provider, {
      cohort: canary,
      baseline,
      window: WINDOW,
      ...clock,
      stopEarly: true,
    });
    expect(r.verdict).toBe('pass');
    expect(clock.now()).toBe(T0 + 10 * MIN);
  });

  it('never passes when the window is too short to decide: inconclusive, with the interval', async () => {
    const clock = fakeClock(T0);
    const short = { startMs: T0, endMs: T0 + 10_000 };
    const { provider } = countingProvider({ rps: 300, canaryRatio: 0.001, baselineRatio: 0.001 });
    const r = await analyzeWindow(spec(seed000), provider, { cohort: canary, baseline, window: short, ...clock });
    expect(r.verdict).toBe('inconclusive');
    expect(r.endedEarly).toBeUndefined();
    expect(r.message).toContain('not conclusive at the end (never a pass; noData: pause)');
    expect(r.measurements).toHaveLength(1);
    expect(r.measurements[0]?.evidence?.looks).toBe(10);
  });

  it('with noData: pass, an undecided test still never passes', async () => {
    const clock = fakeClock(T0);
    const short = { startMs: T0, endMs: T0 + 10_000 };
    const { provider } = countingProvider({ rps: 300, canaryRatio: 0.001, baselineRatio: 0.001 });
    const r = await analyzeWindow(spec({ ...seed000, noData: 'pass' }), provider, {
      cohort: canary,
      baseline,
      window: short,
      ...clock,
    });
    expect(r.verdict).toBe('inconclusive');
  });

  it('minSamples: below it no verdict, even on a clear failure', async () => {
    const clock = fakeClock(T0);
    const { provider } = countingProvider({ rps: 1, canaryRatio: 0.2, baselineRatio: 0.001 });
    const m = { ...seed000, minSamples: 2000 };
    const r = await analyzeWindow(spec(m), provider, { cohort: canary, baseline, window: WINDOW, ...clock });
    expect(r.verdict).toBe('inconclusive');
    expect(r.message).toContain('fewer than minSamples 2000 (canary 900, baseline 17100)');
    expect(r.message).toContain('not enough data at the end');
  });

  it('noData: wait keeps looking past the window until the traffic floor is reached', async () => {
    const clock = fakeClock(T0);
    // Traffic starts 14 minutes into the window: the floor of 20,000 canary requests is reached ~5.5 minutes later, past the window.
    const { provider } = countingProvider({ rps: 60, canaryRatio: 0.001, baselineRatio: 0.001, fromMs: T0 + 14 * MIN });
    const m = { ...seed000, noData: 'wait' as const, minSamples: 20_000, maxWaitMs: 60 * MIN };
    const r = await analyzeWindow(spec(m), provider, { cohort: canary, baseline, window: WINDOW, ...clock });
    expect(r.verdict, r.message).toBe('pass');
    expect(r.waitedUntilMs).toBeGreaterThan(WINDOW.endMs);
    expect(clock.now()).toBeGreaterThan(WINDOW.endMs + 4 * MIN);
    expect(clock.now()).toBeLessThanOrEqual(WINDOW.endMs + 60 * MIN);
  });

  it('noData: wait gives up at maxWait: inconclusive, never a pass', async () => {
    const clock = fakeClock(T0);
    const { provider } = countingProvider({ rps: 1, canaryRatio: 0.001, baselineRatio: 0.001 });
    const m = { ...seed000, noData: 'wait' as const, minSamples: 1_000_000, maxWaitMs: 5 * MIN };
    const r = await analyzeWindow(spec(m), provider, { cohort: canary, baseline, window: WINDOW, ...clock });
    expect(r.verdict).toBe('inconclusive');
    expect(clock.now()).toBe(WINDOW.endMs + 5 * MIN);
    expect(r.message).toContain('noData: wait');
  });

  it('an elapsed window is measured at once and stops at the deciding look', async () => {
    const clock = fakeClock(WINDOW.endMs + 5 * MIN);
    const { provider, calls } = countingProvider({ rps: 300, canaryRatio: 0.2, baselineRatio: 0.001 });
    const r = await analyzeWindow(spec(seed000), provider, {
      cohort: canary,
      baseline,
      window: WINDOW,
      ...clock,
      stopEarly: true,
    });
    expect(r.verdict).toBe('fail');
    expect(clock.sleeps).toEqual([]);
    expect(calls).toHaveLength(2); // canary and baseline of the first look
  });

  it('without stopEarly (the default) every look is taken and the first decision stands', async () => {
    const clock = fakeClock(T0);
    const { provider, calls } = countingProvider({ rps: 300, canaryRatio: 0.2, baselineRatio: 0.001 });
    const r = await analyzeWindow(spec(seed000), provider, { cohort: canary, baseline, window: WINDOW, ...clock });
    expect(r.verdict).toBe('fail');
    expect(r.endedEarly).toBeUndefined();
    expect(calls).toHaveLength(30);
    expect(clock.now()).toBe(WINDOW.endMs);
    expect(r.metrics[0]?.decidedAt).toBe(new Date(T0 + MIN).toISOString());
    expect(r.measurements[0]?.evidence?.looks).toBe(1);
  });
});
