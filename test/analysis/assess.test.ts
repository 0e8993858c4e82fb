import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assessAnalysis,
  assessMeasurement,
  assessMetric,
  relativeChangePercent,
  satisfiesThreshold,
} from '../../src/analysis/assess.js';
import type { Observation } from '../../src/analysis/extra-types.js';
import type { AnalysisSpec, MetricSpec } from '../../src/spec/types.js';
import { metric, notOk, observation, ok } from './helpers/metric.js';

function spec(...metrics: MetricSpec[]): AnalysisSpec {
  return { provider: { type: 'scrape', config: {} }, noData: 'pause', metrics };
}

function analyse(m: MetricSpec, observations: Observation[]) {
  return assessMetric(
    m,
    observations.map((o) => assessMeasurement(m, o)),
  );
}

describe('absolute thresholds', () => {
  it.each([
    ['<', 0.01, 0.005, true],
    ['<', 0.01, 0.01, false],
    ['<=', 30, 30, true],
    ['>', 0.99, 0.995, true],
    ['>=', 0.99, 0.98, false],
    ['==', 0, 0, true],
    ['!=', 1, 1, false],
  ] as const)('value %s %s with %s → %s', (op, limit, value, expected) => {
    expect(satisfiesThreshold(value, { op, value: limit })).toBe(expected);
  });

  it('never satisfies with a non-finite value', () => {
    for (const v of [Number.NaN, Infinity, -Infinity]) {
      expect(satisfiesThreshold(v, { op: '!=', value: 1 })).toBe(false);
      expect(satisfiesThreshold(v, { op: '>', value: 0 })).toBe(false);
    }
  });

  it('passes and fails a measurement, naming the value and the threshold', () => {
    const m = metric({ threshold: { op: '<', value: 0.01 } });
    const pass = assessMeasurement(m, observation(ok(0.0049)));
    expect(pass.measurement).toMatchObject({ verdict: 'pass', value: 0.0049, threshold: '< 0.01' });
    expect(pass.measurement.message).toBe('error-rate = 0.0049 satisfies "< 0.01"');
    const fail = assessMeasurement(m, observation(ok(0.0213)));
    expect(fail.measurement.verdict).toBe('fail');
    expect(fail.countsAsFailure).toBe(true);
    expect(fail.measurement.message).toBe('error-rate = 0.0213 violates "< 0.01"');
  });

  it('records window, cohort, query, severity and time as ISO strings', () => {
    const m = metric({ threshold: { op: '<', value: 1 }, severity: 'critical' });
    const { measurement } = assessMeasurement(m, observation(ok(0.5)));
    expect(measurement).toMatchObject({
      metric: 'error-rate',
      query: 'q',
      cohort: ['canary-1'],
      severity: 'critical',
      window: { start: '2026-01-01T12:00:00.000Z', end: '2026-01-01T12:01:00.000Z' },
      at: '2026-01-01T12:01:00.000Z',
    });
  });
});

describe('relative thresholds (no increase > N%)', () => {
  const m = metric({ maxIncreasePercent: 10, baseline: { cohort: 'stable' } });

  it('computes the change against the baseline', () => {
    expect(relativeChangePercent(0.0213, 0.0101)).toBeCloseTo(110.89, 1);
    expect(relativeChangePercent(0.009, 0.01)).toBeCloseTo(-10, 6);
    expect(relativeChangePercent(0, 0)).toBe(0);
    expect(relativeChangePercent(0.001, 0)).toBe(Infinity);
    expect(relativeChangePercent(-2, -1)).toBe(-100);
  });

  it('fails a canary twice the baseline, with both numbers and the change in the message', () => {
    const r = assessMeasurement(m, observation(ok(0.0213), { result: ok(0.0101) }));
    expect(r.measurement).toMatchObject({
      verdict: 'fail',
      value: 0.0213,
      baselineValue: 0.0101,
      threshold: 'no increase > 10%',
    });
    expect(r.measurement.message).toBe('error-rate = 0.0213 (baseline 0.0101) violates "no increase > 10%" (+111%)');
  });

  it('passes within the allowed increase, and on a decrease', () => {
    expect(assessMeasurement(m, observation(ok(0.0105), { result: ok(0.01) })).measurement.verdict).toBe('pass');
    expect(assessMeasurement(m, observation(ok(0.011), { result: ok(0.01) })).measurement.verdict).toBe('pass');
    expect(assessMeasurement(m, observation(ok(0.005), { result: ok(0.01) })).measurement.verdict).toBe('pass');
    expect(assessMeasurement(m, observation(ok(0.0111), { result: ok(0.01) })).measurement.verdict).toBe('fail');
  });

  it('a zero baseline makes any increase +Inf%; ignoreIncreaseBelow lets a small absolute increase pass', () => {
    const strict = assessMeasurement(
      metric({ maxIncreasePercent: 50, baseline: { cohort: 'stable' } }),
      observation(ok(0.0005), { result: ok(0) }),
    );
    expect(strict.measurement.verdict).toBe('fail');
    expect(strict.measurement.message).toBe('error-rate = 0.0005 (baseline 0) violates "no increase > 50%" (+Inf%)');

    const tolerant = metric({ maxIncreasePercent: 50, ignoreIncreaseBelow: 0.001, baseline: { cohort: 'stable' } });
    const small = assessMeasurement(tolerant, observation(ok(0.0005), { result: ok(0) }));
    expect(small.measurement).toMatchObject({
      verdict: 'pass',
      threshold: 'no increase > 50% (increases < 0.001 ignored)',
    });
    expect(small.measurement.message).toBe(
      'error-rate = 0.0005 (baseline 0) satisfies "no increase > 50% (increases < 0.001 ignored)" (+Inf%, an increase of 0.0005: below 0.001)',
    );
    // At or above the floor, the percent decides again; a tiny increase within the percent passes as before.
    expect(assessMeasurement(tolerant, observation(ok(0.001), { result: ok(0) })).measurement.verdict).toBe('fail');
    expect(assessMeasurement(tolerant, observation(ok(0.02), { result: ok(0.01) })).measurement.verdict).toBe('fail');
    expect(assessMeasurement(tolerant, observation(ok(0.0104), { result: ok(0.01) })).measurement.verdict).toBe('pass');
  });

  it('labels a before-comparison "before"', () => {
    const b = metric({ maxIncreasePercent: 5, baseline: { cohort: 'before' } });
    const r = assessMeasurement(b, observation(ok(2), { kind: 'before', result: ok(1) }));
    expect(r.measurement.message).toBe('error-rate = 2 (before 1) violates "no increase > 5%" (+100%)');
  });

  it('a baseline error is an error, a baseline without data follows noData', () => {
    const err = assessMeasurement(m, observation(ok(0.01), { result: notOk('error', 'connection refused') }));
    expect(err.measurement.verdict).toBe('error');
    expect(err.measurement.message).toContain('baseline: connection refused');
    const none = assessMeasurement(m, observation(ok(0.01), { result: notOk('inconclusive', 'empty result') }));
    expect(none.measurement.verdict).toBe('inconclusive');
    expect(none.measurement.message).toContain('baseline: no data (empty result); noData: pause');
  });

  it('combines with an absolute threshold: both must hold', () => {
    const both = metric({
      threshold: { op: '<', value: 0.05 },
      maxIncreasePercent: 10,
      baseline: { cohort: 'stable' },
    });
    const r = assessMeasurement(both, observation(ok(0.06), { result: ok(0.059) }));
    expect(r.measurement.verdict).toBe('fail');
    expect(r.measurement.threshold).toBe('< 0.05 and no increase > 10%');
    expect(r.measurement.message).toBe('error-rate = 0.06 (baseline 0.059) violates "< 0.05"');
  });

  it('property: fails exactly when the increase exceeds the limit', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.0001, max: 100, noNaN: true }),
        fc.double({ min: 0.0001, max: 100, noNaN: true }),
        fc.integer({ min: 1, max: 200 }),
        (v, b, limit) => {
          const mm = metric({ maxIncreasePercent: limit, baseline: { cohort: 'stable' } });
          const verdict = assessMeasurement(mm, observation(ok(v), { result: ok(b) })).measurement.verdict;
          expect(verdict).toBe(((v - b) / b) * 100 > limit ? 'fail' : 'pass');
        },
      ),
    );
  });
});

describe('statistical threshold (Mann-Whitney U)', () => {
  const m = metric({ statistical: { passScore: 95, marginalScore: 75 }, baseline: { cohort: 'stable' } });
  const baseline = [0.01, 0.0098, 0.0102, 0.0101, 0.0097, 0.0103, 0.0099, 0.0104];
  const shifted = [0.021, 0.02, 0.0205, 0.023, 0.0225, 0.0218];
  const similar = [0.0101, 0.0099, 0.0102, 0.01, 0.0098, 0.0103];

  it('classifies a canary clearly above the baseline as high and fails the metric', () => {
    const a = assessMeasurement(m, observation(ok(0.0215, shifted), { result: ok(0.01, baseline) }));
    expect(a.statistical).toBe('high');
    expect(a.countsAsFailure).toBe(false);
    expect(a.measurement.verdict).toBe('fail');
    expect(a.measurement.message).toMatch(
      /violates "mann-whitney" \(p = [0-9.]+, canary higher in 100% of pairs, 6 vs 8 samples\)/,
    );
    const verdict = assessMetric(m, [a]);
    expect(verdict.verdict).toBe('fail');
    expect(verdict.score).toBe(0);
  });

  it('passes a canary drawn from the same distribution', () => {
    const a = assessMeasurement(m, observation(ok(0.01, similar), { result: ok(0.01, baseline) }));
    expect(a.statistical).toBe('pass');
    expect(assessMetric(m, [a])).toMatchObject({ verdict: 'pass', score: 100 });
  });

  it('scores repeated measurements like Kayenta: percent classified pass, pass/marginal/fail bands', () => {
    const m4 = { ...m, count: 4 };
    const high = (k: number): Observation => observation(ok(0.0215, shifted), { result: ok(0.01, baseline) }, k);
    const pass = (k: number): Observation => observation(ok(0.01, similar), { result: ok(0.01, baseline) }, k);
    expect(analyse(m4, [pass(0), pass(1), pass(2), pass(3)])).toMatchObject({ verdict: 'pass', score: 100 });
    const marginal = analyse(m4, [pass(0), pass(1), pass(2), high(3)]);
    expect(marginal).toMatchObject({ verdict: 'inconclusive', score: 75 });
    expect(marginal.message).toContain('score 75 is marginal (pass ≥ 95, marginal ≥ 75)');
    const failed = analyse(m4, [pass(0), high(1), pass(2), high(3)]);
    expect(failed).toMatchObject({ verdict: 'fail', score: 50 });
    expect(failed.message).toContain('score 50 < marginal 75');
  });

  it('too few samples is no data (noData applies)', () => {
    const a = assessMeasurement(m, observation(ok(0.02, [0.02, 0.021]), { result: ok(0.01, baseline) }));
    expect(a.measurement.verdict).toBe('inconclusive');
    expect(a.measurement.message).toContain('too few samples for mann-whitney (canary 2, baseline 8; need ≥ 3 each)');
    expect(a.statistical).toBeUndefined();
  });
});

describe('no data policy', () => {
  const empty = observation(notOk('inconclusive', 'empty result'));

  it('pause (default) → inconclusive', () => {
    const r = assessMeasurement(metric({ threshold: { op: '<', value: 1 } }), empty);
    expect(r.measurement).toMatchObject({
      verdict: 'inconclusive',
      message: 'error-rate: no data (empty result); noData: pause',
    });
  });

  it('fail → fail, counted against failureLimit', () => {
    const r = assessMeasurement(metric({ threshold: { op: '<', value: 1 }, noData: 'fail' }), empty);
    expect(r.measurement.verdict).toBe('fail');
    expect(r.countsAsFailure).toBe(true);
  });

  it('pass → pass only when written', () => {
    const m = metric({ threshold: { op: '<', value: 1 }, noData: 'pass' });
    expect(assessMeasurement(m, empty).measurement.verdict).toBe('pass');
    expect(analyse(m, [empty]).verdict).toBe('pass');
  });

  it('NaN and infinite values are no data', () => {
    const m = metric({ threshold: { op: '<', value: 1 } });
    expect(assessMeasurement(m, observation(ok(Number.NaN))).measurement.message).toBe(
      'error-rate: no data (value is NaN); noData: pause',
    );
    expect(assessMeasurement(m, observation(ok(Infinity))).measurement.verdict).toBe('inconclusive');
  });

  it('a backend error is never turned into a pass, even with noData: pass', () => {
    const m = metric({ threshold: { op: '<', value: 1 }, noData: 'pass', inconclusiveLimit: 5, count: 3 });
    const errors = [0, 1, 2].map((k) =>
      observation(notOk('error', 'prometheus at http://x: connection refused'), undefined, k),
    );
    const verdict = analyse(m, errors);
    expect(verdict.verdict).toBe('error');
    expect(verdict.message).toContain('every measurement errored');
    const analysis = assessAnalysis(spec(m), new Map([[m.name, errors]]));
    expect(analysis.verdict).toBe('inconclusive');
  });
});

describe('limits', () => {
  const m = metric({ threshold: { op: '<', value: 0.01 }, count: 3, failureLimit: 1, inconclusiveLimit: 1 });

  it('tolerates failures up to failureLimit, then fails naming the value and the counts', () => {
    const one = analyse(m, [
      observation(ok(0.02), undefined, 0),
      observation(ok(0.005), undefined, 1),
      observation(ok(0.004), undefined, 2),
    ]);
    expect(one.verdict).toBe('pass');
    expect(one.message).toContain('(tolerated: 1 failure, 0 inconclusive)');
    const two = analyse(m, [
      observation(ok(0.02), undefined, 0),
      observation(ok(0.03), undefined, 1),
      observation(ok(0.004), undefined, 2),
    ]);
    expect(two.verdict).toBe('fail');
    expect(two.message).toBe('error-rate = 0.02 violates "< 0.01" (2 of 3 measurements); failed 2 > failureLimit 1');
  });

  it('tolerates inconclusive measurements up to inconclusiveLimit', () => {
    const nd = (k: number): Observation => observation(notOk('inconclusive', 'empty result'), undefined, k);
    expect(
      analyse(m, [nd(0), observation(ok(0.001), undefined, 1), observation(ok(0.002), undefined, 2)]).verdict,
    ).toBe('pass');
    const verdict = analyse(m, [nd(0), nd(1), observation(ok(0.002), undefined, 2)]);
    expect(verdict.verdict).toBe('inconclusive');
    expect(verdict.message).toContain('2 > inconclusiveLimit 1');
  });

  it('errors count against inconclusiveLimit', () => {
    const e = (k: number): Observation => observation(notOk('error', 'timed out after 5s'), undefined, k);
    expect(analyse(m, [e(0), e(1), observation(ok(0.002), undefined, 2)]).verdict).toBe('inconclusive');
  });

  it('a metric without measurements is inconclusive', () => {
    expect(assessMetric(m, []).verdict).toBe('inconclusive');
  });

  it('property: never a pass without a passing measurement', () => {
    const arb = fc.constantFrom(notOk('error', 'down'), notOk('inconclusive', 'empty result'), ok(0.5));
    fc.assert(
      fc.property(
        fc.array(arb, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 6 }),
        (results, fl, il) => {
          const mm = metric({
            threshold: { op: '<', value: 0.1 },
            count: results.length,
            failureLimit: fl,
            inconclusiveLimit: il,
          });
          const verdict = analyse(
            mm,
            results.map((r, k) => observation(r, undefined, k)),
          );
          if (verdict.verdict === 'pass') expect(verdict.measurements.some((x) => x.verdict === 'pass')).toBe(true);
          if (results.every((r) => !r.ok && r.verdict === 'error')) expect(verdict.verdict).toBe('error');
        },
      ),
    );
  });
});

describe('combining metrics into a verdict', () => {
  const errorRate = metric({ name: 'error-rate', threshold: { op: '<', value: 0.01 }, severity: 'critical' });
  const latency = metric({ name: 'p99', threshold: { op: '<', value: 0.5 }, severity: 'warning' });

  it('passes when every metric passes', () => {
    const r = assessAnalysis(
      spec(errorRate, latency),
      new Map([
        ['error-rate', [observation(ok(0.005))]],
        ['p99', [observation(ok(0.2))]],
      ]),
    );
    expect(r.verdict).toBe('pass');
    expect(r.severity).toBeUndefined();
    expect(r.measurements).toHaveLength(2);
    expect(r.message).toBe('2 metrics passed: error-rate = 0.005 satisfies "< 0.01"; p99 = 0.2 satisfies "< 0.5"');
  });

  it('fails with the highest severity among failed metrics, critical first in the message', () => {
    const r = assessAnalysis(
      spec(errorRate, latency),
      new Map([
        ['error-rate', [observation(ok(0.02))]],
        ['p99', [observation(ok(0.9))]],
      ]),
    );
    expect(r).toMatchObject({ verdict: 'fail', severity: 'critical' });
    expect(r.message).toBe('error-rate = 0.02 violates "< 0.01" [critical]; p99 = 0.9 violates "< 0.5" [warning]');
  });

  it('a warning failure alone has warning severity', () => {
    const r = assessAnalysis(
      spec(errorRate, latency),
      new Map([
        ['error-rate', [observation(ok(0.001))]],
        ['p99', [observation(ok(0.9))]],
      ]),
    );
    expect(r).toMatchObject({ verdict: 'fail', severity: 'warning' });
  });

  it('a failure outranks an inconclusive metric; inconclusive outranks pass', () => {
    const failAndUnsure = assessAnalysis(
      spec(errorRate, latency),
      new Map([
        ['error-rate', [observation(notOk('error', 'down'))]],
        ['p99', [observation(ok(0.9))]],
      ]),
    );
    expect(failAndUnsure.verdict).toBe('fail');
    const unsure = assessAnalysis(
      spec(errorRate, latency),
      new Map([
        ['error-rate', [observation(notOk('inconclusive', 'empty result'))]],
        ['p99', [observation(ok(0.1))]],
      ]),
    );
    expect(unsure.verdict).toBe('inconclusive');
    expect(unsure.message).toBe('error-rate: no data (empty result); noData: pause');
  });

  it('an analysis without metrics or observations is never a pass', () => {
    expect(assessAnalysis(spec(), new Map()).verdict).toBe('inconclusive');
    expect(assessAnalysis(spec(errorRate), new Map()).verdict).toBe('inconclusive');
  });
});
