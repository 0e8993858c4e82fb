import { describe, expect, it } from 'vitest';
import {
  analyzeWindow,
  beginAnalysisWindow,
  defaultBeforeWindow,
  formatMeasurements,
  mapToBefore,
  planEvaluations,
} from '../../src/analysis/analyze.js';
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
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i + 1}`,
    address: `127.0.0.1:${9000 + i}`,
    labels: {},
  }));
}
const canary: Cohort = { name: 'canary', targets: targets('canary', 2) };
const baseline: Cohort = { name: 'baseline', targets: targets('stable', 3) };

function spec(...metrics: MetricSpec[]): AnalysisSpec {
  return { provider: { type: 'fake', config: {} }, noData: 'pause', metrics };
}

/** A clock that only moves when the code under test sleeps. */
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
    set: (t: number) => {
      now = t;
    },
  };
}

/** A provider answering from a function of the request; it records every request and fails loudly on ones it does not expect. */
function fakeProvider(answer: (req: MeasureRequest) => ProviderResult | undefined, clock?: { now: () => number }) {
  const calls: Array<MeasureRequest & { atMs: number | undefined }> = [];
  const begun: Array<{ cohorts: Cohort[]; window: AnalysisWindow }> = [];
  const provider: MetricProvider = {
    type: 'fake',
    beginWindow: (cohorts, window) => {
      begun.push({ cohorts, window });
      return Promise.resolve();
    },
    measure: (req) => {
      calls.push({ ...req, atMs: clock?.now() });
      const r = answer(req);
      if (r === undefined) throw new Error(`unexpected request ${req.query} for ${req.cohort.name}`);
      return Promise.resolve(r);
    },
  };
  return { provider, calls, begun };
}

const errorRate = metric({
  name: 'error-rate',
  query: 'ratio(errors{instance=~"{{targets.regex}}"}[{{window}}])',
  maxIncreasePercent: 10,
  baseline: { cohort: 'stable' },
  severity: 'critical',
  count: 3,
  intervalMs: 5 * MIN,
});

describe('planEvaluations', () => {
  it('count 1 measures the whole window', () => {
    expect(planEvaluations({ count: 1, intervalMs: MIN }, WINDOW)).toEqual([WINDOW]);
  });

  it('count N with interval × N = window splits it evenly', () => {
    expect(planEvaluations({ count: 3, intervalMs: 5 * MIN }, WINDOW)).toEqual([
      { startMs: T0, endMs: T0 + 5 * MIN },
      { startMs: T0 + 5 * MIN, endMs: T0 + 10 * MIN },
      { startMs: T0 + 10 * MIN, endMs: T0 + 15 * MIN },
    ]);
  });

  it('a short interval ends the sub-windows at the window end, the first reaching back to the start', () => {
    expect(planEvaluations({ count: 3, intervalMs: MIN }, WINDOW)).toEqual([
      { startMs: T0, endMs: T0 + 13 * MIN },
      { startMs: T0 + 13 * MIN, endMs: T0 + 14 * MIN },
      { startMs: T0 + 14 * MIN, endMs: T0 + 15 * MIN },
    ]);
  });

  it('a long interval is shortened to window / count', () => {
    const subs = planEvaluations({ count: 4, intervalMs: 10 * MIN }, WINDOW);
    expect(subs.map((s) => s.endMs - s.startMs)).toEqual([3.75 * MIN, 3.75 * MIN, 3.75 * MIN, 3.75 * MIN]);
    expect(subs[3]?.endMs).toBe(WINDOW.endMs);
  });

  it('maps sub-windows onto the before window', () => {
    const before = defaultBeforeWindow(WINDOW);
    expect(before).toEqual({ startMs: T0 - 15 * MIN, endMs: T0 });
    expect(mapToBefore({ startMs: T0 + 5 * MIN, endMs: T0 + 10 * MIN }, WINDOW, before)).toEqual({
      startMs: T0 - 10 * MIN,
      endMs: T0 - 5 * MIN,
    });
    expect(mapToBefore(WINDOW, WINDOW, { startMs: 0, endMs: 30 * MIN })).toEqual({ startMs: 0, endMs: 30 * MIN });
  });
});

describe('analyzeWindow', () => {
  it('given an open window, waits until each measurement is due and measures canary and baseline over the same sub-window', async () => {
    const clock = fakeClock(WINDOW.startMs);
    const { provider, calls } = fakeProvider((req) => ok(req.cohort.name === 'canary' ? 0.0101 : 0.01), clock);
    const result = await analyzeWindow(spec(errorRate), provider, {
      cohort: canary,
      baseline,
      window: WINDOW,
      now: clock.now,
      sleep: clock.sleep,
    });
    expect(clock.sleeps).toEqual([5 * MIN, 5 * MIN, 5 * MIN]);
    expect(result.verdict).toBe('pass');
    expect(result.measurements).toHaveLength(3);
    expect(calls.map((c) => [c.cohort.name, c.atMs, c.window.endMs])).toEqual([
      ['canary', T0 + 5 * MIN, T0 + 5 * MIN],
      ['baseline', T0 + 5 * MIN, T0 + 5 * MIN],
      ['canary', T0 + 10 * MIN, T0 + 10 * MIN],
      ['baseline', T0 + 10 * MIN, T0 + 10 * MIN],
      ['canary', T0 + 15 * MIN, T0 + 15 * MIN],
      ['baseline', T0 + 15 * MIN, T0 + 15 * MIN],
    ]);
    // The baseline is measured with the same template rendered for the baseline targets.
    expect(calls[0]?.query).toBe(String.raw`ratio(errors{instance=~"127\\.0\\.0\\.1:9000|127\\.0\\.0\\.1:9001"}[5m])`);
    expect(calls[1]?.query).toBe(
      String.raw`ratio(errors{instance=~"127\\.0\\.0\\.1:9000|127\\.0\\.0\\.1:9001|127\\.0\\.0\\.1:9002"}[5m])`,
    );
    expect(result.measurements[0]).toMatchObject({
      cohort: ['canary-1', 'canary-2'],
      value: 0.0101,
      baselineValue: 0.01,
      verdict: 'pass',
    });
  });

  it('given an elapsed window, measures everything at once without sleeping', async () => {
    const clock = fakeClock(WINDOW.endMs + 60 * MIN);
    const { provider, calls } = fakeProvider((req) => ok(req.cohort.name === 'canary' ? 0.0213 : 0.0101));
    const result = await analyzeWindow(spec(errorRate), provider, {
      cohort: canary,
      baseline,
      window: WINDOW,
      now: clock.now,
      sleep: clock.sleep,
    });
    expect(clock.sleeps).toEqual([]);
    expect(calls).toHaveLength(6);
    expect(result).toMatchObject({ verdict: 'fail', severity: 'critical' });
    expect(result.message).toBe(
      'error-rate = 0.0213 (baseline 0.0101) violates "no increase > 10%" (+111%) (3 of 3 measurements); failed 3 > failureLimit 0 [critical]',
    );
  });

  it('compares "before" metrics with the same targets over the before window', async () => {
    const m = metric({
      name: 'lat',
      query: 'q[{{window}}] {{targets}}',
      maxIncreasePercent: 5,
      baseline: { cohort: 'before' },
    });
    const clock = fakeClock(WINDOW.endMs);
    const before = { startMs: T0 - 40 * MIN, endMs: T0 - 10 * MIN };
    const { provider, calls } = fakeProvider((req) => ok(req.window.endMs <= T0 ? 1 : 1.2));
    const result = await analyzeWindow(spec(m), provider, {
      cohort: canary,
      baseline,
      window: WINDOW,
      before,
      now: clock.now,
      sleep: clock.sleep,
    });
    expect(calls.map((c) => [c.cohort.name, c.window, c.query])).toEqual([
      ['canary', WINDOW, 'q[15m] canary-1|canary-2'],
      ['canary', before, 'q[30m] canary-1|canary-2'],
    ]);
    expect(result.verdict).toBe('fail');
    expect(result.message).toBe('lat = 1.2 (before 1) violates "no increase > 5%" (+20%) [warning]');
  });

  it('falls back from a stable baseline to "before" when no target is left on the old version, and says so', async () => {
    const clock = fakeClock(WINDOW.endMs);
    const { provider, calls } = fakeProvider((req) => ok(req.window.endMs <= T0 ? 0.01 : 0.0102));
    const result = await analyzeWindow(spec({ ...errorRate, count: 1 }), provider, {
      cohort: canary,
      baseline: { name: 'baseline', targets: [] },
      window: WINDOW,
      now: clock.now,
      sleep: clock.sleep,
    });
    expect(calls.map((c) => c.window)).toEqual([WINDOW, defaultBeforeWindow(WINDOW)]);
    expect(result.verdict).toBe('pass');
    expect(result.message).toContain('(before 0.01)');
    expect(result.message).toContain(
      'no target left on the old version: compared with the same targets before the wave',
    );
  });

  it('a provider that throws gives an `error` measurement and an inconclusive verdict, never a pass', async () => {
    const clock = fakeClock(WINDOW.endMs);
    const { provider } = fakeProvider(() => undefined);
    const result = await analyzeWindow(spec(metric({ threshold: { op: '<', value: 1 } })), provider, {
      cohort: canary,
      window: WINDOW,
      now: clock.now,
      sleep: clock.sleep,
    });
    expect(result.verdict).toBe('inconclusive');
    expect(result.measurements[0]?.verdict).toBe('error');
    expect(result.message).toContain('fake provider failed unexpectedly: unexpected request q for canary');
  });

  it('an empty canary cohort is an `error`, never a pass', async () => {
    const clock = fakeClock(WINDOW.endMs);
    const { provider, calls } = fakeProvider(() => ok(0));
    const result = await analyzeWindow(spec(metric({ threshold: { op: '<', value: 1 } })), provider, {
      cohort: { name: 'canary', targets: [] },
      window: WINDOW,
      now: clock.now,
      sleep: clock.sleep,
    });
    expect(calls).toHaveLength(0);
    expect(result.verdict).toBe('inconclusive');
    expect(result.message).toContain('the canary cohort has no targets');
  });

  it('aborting while waiting records the missing measurements as errors', async () => {
    const controller = new AbortController();
    let now = WINDOW.startMs;
    const sleep = (ms: number): Promise<void> => {
      if (now > WINDOW.startMs) {
        controller.abort();
        return new Promise(() => undefined); // never resolves: only the abort ends the wait
      }
      now += ms;
      return Promise.resolve();
    };
    const { provider, calls } = fakeProvider(() => ok(0.001));
    const m = metric({ threshold: { op: '<', value: 0.01 }, count: 3, intervalMs: 5 * MIN });
    const result = await analyzeWindow(spec(m), provider, {
      cohort: canary,
      window: WINDOW,
      now: () => now,
      sleep,
      signal: controller.signal,
    });
    expect(calls).toHaveLength(1);
    expect(result.verdict).toBe('inconclusive');
    expect(result.measurements.map((x) => x.verdict)).toEqual(['pass', 'error', 'error']);
    expect(result.measurements[1]?.message).toContain('aborted');
  });

  it('refuses a window that ends before it starts', async () => {
    const { provider } = fakeProvider(() => ok(0));
    await expect(
      analyzeWindow(spec(metric({ threshold: { op: '<', value: 1 } })), provider, {
        cohort: canary,
        window: { startMs: 10, endMs: 5 },
        now: () => 0,
        sleep: () => Promise.resolve(),
      }),
    ).rejects.toThrow(RangeError);
  });
});

describe('beginAnalysisWindow', () => {
  it('passes the non-empty cohorts to the provider and reports a provider that throws', async () => {
    const { provider, begun } = fakeProvider(() => ok(0));
    expect(
      await beginAnalysisWindow(provider, {
        cohort: canary,
        baseline: { name: 'baseline', targets: [] },
        window: WINDOW,
      }),
    ).toBeUndefined();
    expect(begun).toEqual([{ cohorts: [canary], window: WINDOW }]);
    const broken: MetricProvider = {
      type: 'x',
      beginWindow: () => Promise.reject(new Error('boom')),
      measure: () => Promise.resolve(ok(0)),
    };
    expect(await beginAnalysisWindow(broken, { cohort: canary, window: WINDOW })).toBe('x.beginWindow failed: boom');
  });
});

describe('formatMeasurements', () => {
  it('prints one row per measurement with value, baseline, threshold, window and targets', async () => {
    const clock = fakeClock(WINDOW.endMs);
    const { provider } = fakeProvider((req) => ok(req.cohort.name === 'canary' ? 0.0213 : 0.0101));
    const result = await analyzeWindow(spec({ ...errorRate, count: 1 }), provider, {
      cohort: canary,
      baseline,
      window: WINDOW,
      now: clock.now,
      sleep: clock.sleep,
    });
    const text = formatMeasurements(result.measurements);
    for (const word of [
      'Metric',
      'Verdict',
      'Baseline',
      'error-rate',
      'fail',
      '0.0213',
      '0.0101',
      'no increase > 10%',
      '12:00:00–12:15:00',
      'canary-1, canary-2',
    ]) {
      expect(text).toContain(word);
    }
    expect(formatMeasurements([{ ...result.measurements[0]!, cohort: ['a', 'b', 'c', 'd'] }])).toContain('4 targets');
  });
});

function ok(value: number): ProviderResult {
  return { ok: true, value };
}
