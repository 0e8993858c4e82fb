import { describe, expect, it } from 'vitest';
import { parseExposition } from '../../src/analysis/exposition.js';
import {
  counterIncrease,
  evaluateScrapeQuery,
  histogramQuantile,
  parseScrapeQuery,
  type TargetScrapes,
} from '../../src/analysis/scrape-query.js';
import { ConfigurationError } from '../../src/errors.js';
import { AgentMetrics } from '../../src/fleet/metrics.js';

describe('parseExposition', () => {
  it('keeps the labels, _sum and _count of labelled histograms (the library alone drops them)', () => {
    const m = new AgentMetrics();
    m.record(200, 0.02);
    m.record(500, 0.2);
    const e = parseExposition(m.render({ id: 'a', version: '1.0.0', upgrades: 0 }));
    expect(e.types.get('http_request_duration_seconds')).toBe('histogram');
    expect(e.types.get('http_requests_total')).toBe('counter');
    const bucket = e.series.filter((s) => s.name === 'http_request_duration_seconds_bucket');
    expect(bucket).toHaveLength(12);
    expect(bucket.find((s) => s.labels.le === '+Inf')).toMatchObject({
      labels: { id: 'a', version: '1.0.0', le: '+Inf' },
      value: 2,
    });
    expect(bucket.find((s) => s.labels.le === '0.025')?.value).toBe(1);
    expect(e.series.find((s) => s.name === 'http_request_duration_seconds_count')).toMatchObject({
      labels: { id: 'a' },
      value: 2,
    });
    expect(e.series.find((s) => s.name === 'http_requests_total' && s.labels.code === '500')?.value).toBe(1);
  });

  it('reads the last line without a trailing newline, special values and escapes', () => {
    const e = parseExposition('a{x="q\\"uote"} +Inf\nb NaN\nc -Inf 1700000000000');
    expect(e.series.map((s) => [s.name, s.labels, s.value])).toEqual([
      ['a', { x: 'q"uote' }, Infinity],
      ['b', {}, Number.NaN],
      ['c', {}, -Infinity],
    ]);
  });

  it('throws on text that is not in the format', () => {
    expect(() => parseExposition('this is { not metrics')).toThrow(
      /not in the Prometheus text format: this has the value "is"/,
    );
  });
});

describe('parseScrapeQuery', () => {
  it('parses the four functions with every matcher kind', () => {
    expect(parseScrapeQuery('ratio(http_requests_total{code=~"5..", id!="x"}, http_requests_total)')).toMatchObject({
      fn: 'ratio',
      numerator: {
        name: 'http_requests_total',
        matchers: [
          { name: 'code', op: '=~', value: '5..' },
          { name: 'id', op: '!=', value: 'x' },
        ],
      },
      denominator: { name: 'http_requests_total', matchers: [] },
    });
    expect(parseScrapeQuery(" rate( x{a='b',} ) ")).toMatchObject({
      fn: 'rate',
      selector: { name: 'x', matchers: [{ name: 'a', op: '=', value: 'b' }] },
    });
    expect(parseScrapeQuery('quantile(0.99, h{c!~"4.."})')).toMatchObject({ fn: 'quantile', quantile: 0.99 });
    expect(parseScrapeQuery('gauge(up)')).toMatchObject({ fn: 'gauge', selector: { name: 'up' } });
  });

  it.each([
    ['sum(x)', /unknown function "sum"; known: ratio, rate, quantile, gauge at column 1/],
    ['rate(x', /expected "\)"/],
    ['quantile(1.5, h)', /quantile must be between 0 and 1/],
    ['rate(x{a=~"("})', /invalid regular expression/],
    ['rate(x{a~"b"})', /expected one of = != =~ !~/],
    ['rate(x{a="b\\."})', /unknown escape/],
    ['rate(x) y', /unexpected text after the query/],
    ['ratio(x)', /expected ","/],
  ])('refuses %s', (text, message) => {
    expect(() => parseScrapeQuery(text)).toThrow(ConfigurationError);
    expect(() => parseScrapeQuery(text)).toThrow(message);
  });
});

describe('counter and histogram math', () => {
  it('sums per-series increases; a new series counts from zero; a lower value is a reset', () => {
    const s = (labels: Record<string, string>, value: number) => ({ name: 'c', labels, value });
    expect(
      counterIncrease([s({ a: '1' }, 10), s({ a: '2' }, 5)], [s({ a: '1' }, 15), s({ a: '2' }, 9), s({ a: '3' }, 2)]),
    ).toEqual({ increase: 5 + 4 + 2, series: 3 });
    expect(counterIncrease([s({ a: '1' }, 100)], [s({ a: '1' }, 7)])).toEqual({ increase: 7, series: 1 });
  });

  it('interpolates quantiles like histogram_quantile', () => {
    const buckets = new Map([
      [0.1, 50],
      [0.2, 90],
      [0.5, 100],
      [Infinity, 100],
    ]);
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.1, 9);
    expect(histogramQuantile(0.7, buckets)).toBeCloseTo(0.15, 9);
    expect(histogramQuantile(0.95, buckets)).toBeCloseTo(0.35, 9);
    expect(histogramQuantile(0.25, buckets)).toBeCloseTo(0.05, 9);
    expect(
      histogramQuantile(
        0.99,
        new Map([
          [0.1, 1],
          [Infinity, 100],
        ]),
      ),
    ).toBe(0.1);
    expect(
      histogramQuantile(
        0.5,
        new Map([
          [0.1, 0],
          [Infinity, 0],
        ]),
      ),
    ).toBeNaN();
    expect(histogramQuantile(0.5, new Map([[0.1, 3]]))).toBeNaN();
  });
});

/** Two scrapes of an agent: `before` requests recorded, then `during` more over `seconds`. */
function agentScrapes(
  id: string,
  before: Array<[number, number]>,
  during: Array<[number, number]>,
  seconds: number,
): TargetScrapes {
  const m = new AgentMetrics();
  for (const [status, s] of before) m.record(status, s);
  const start = parseExposition(m.render({ id, version: '1.0.0', upgrades: 0 }));
  for (const [status, s] of during) m.record(status, s);
  const end = parseExposition(m.render({ id, version: '1.0.0', upgrades: 0 }));
  return { targetId: id, start: { atMs: 0, exposition: start }, end: { atMs: seconds * 1000, exposition: end } };
}

function repeat(n: number, status: number, seconds: number): Array<[number, number]> {
  return Array.from({ length: n }, () => [status, seconds] as [number, number]);
}

describe('evaluateScrapeQuery', () => {
  const a = agentScrapes('a', repeat(1000, 500, 0.01), [...repeat(90, 200, 0.02), ...repeat(10, 500, 0.02)], 10);
  const b = agentScrapes('b', [], [...repeat(295, 200, 0.3), ...repeat(5, 500, 0.3)], 10);

  it('ratio: pooled increases for the cohort, own ratio per target; requests before the window do not count', () => {
    const r = evaluateScrapeQuery(parseScrapeQuery('ratio(http_requests_total{code=~"5.."}, http_requests_total)'), [
      a,
      b,
    ]);
    expect(r).toMatchObject({ ok: true, value: 15 / 400, samples: [0.1, 5 / 300] });
  });

  it('rate: per-target increase per second, cohort mean', () => {
    const r = evaluateScrapeQuery(parseScrapeQuery('rate(http_requests_total)'), [a, b]);
    expect(r).toMatchObject({ ok: true, value: (10 + 30) / 2, samples: [10, 30] });
    const only200 = evaluateScrapeQuery(parseScrapeQuery('rate(http_requests_total{code="200"})'), [a]);
    expect(only200).toMatchObject({ ok: true, value: 9 });
  });

  it('quantile: from the bucket increases of the window, pooled over the cohort', () => {
    const one = evaluateScrapeQuery(parseScrapeQuery('quantile(0.5, http_request_duration_seconds)'), [a]);
    // All 100 requests of the window took 0.02 s: bucket (0.01, 0.025] → interpolated median 0.0175.
    expect(one.ok && one.value).toBeCloseTo(0.0175, 9);
    const both = evaluateScrapeQuery(parseScrapeQuery('quantile(0.99, http_request_duration_seconds)'), [a, b]);
    expect(both.ok && both.value).toBeGreaterThan(0.25);
    expect(both.ok && both.samples).toHaveLength(2);
  });

  it('gauge: the value at the end scrape, cohort mean, no start scrape needed', () => {
    const r = evaluateScrapeQuery(parseScrapeQuery('gauge(fleet_agent_build_info{version="1.0.0"})'), [
      { targetId: 'a', end: a.end },
      { targetId: 'b', end: b.end },
    ]);
    expect(r).toMatchObject({ ok: true, value: 1, samples: [1, 1] });
  });

  it('no data: a zero denominator, no matching series, nothing observed, a missing start scrape', () => {
    const idle = agentScrapes('idle', repeat(5, 200, 0.01), [], 10);
    expect(
      evaluateScrapeQuery(parseScrapeQuery('ratio(http_requests_total{code="500"}, http_requests_total)'), [idle]),
    ).toEqual({
      ok: false,
      message: 'http_requests_total did not increase in the window (0/0)',
    });
    expect(evaluateScrapeQuery(parseScrapeQuery('rate(nope_total)'), [a])).toEqual({
      ok: false,
      message: 'no series match nope_total',
    });
    expect(evaluateScrapeQuery(parseScrapeQuery('quantile(0.9, http_request_duration_seconds)'), [idle])).toMatchObject(
      { ok: false },
    );
    expect(evaluateScrapeQuery(parseScrapeQuery('rate(http_requests_total)'), [{ targetId: 'a', end: a.end }])).toEqual(
      {
        ok: false,
        message: 'no scrape of a at the window start',
      },
    );
  });

  it('survives a restart onto a new version label inside the window (counters reset)', () => {
    const m = new AgentMetrics();
    for (let i = 0; i < 500; i++) m.record(200, 0.01);
    const start = parseExposition(m.render({ id: 'r', version: '1.0.0', upgrades: 0 }));
    m.reset();
    for (let i = 0; i < 40; i++) m.record(i < 4 ? 500 : 200, 0.01);
    const end = parseExposition(m.render({ id: 'r', version: '1.1.0', upgrades: 1 }));
    const r = evaluateScrapeQuery(parseScrapeQuery('ratio(http_requests_total{code="500"}, http_requests_total)'), [
      { targetId: 'r', start: { atMs: 0, exposition: start }, end: { atMs: 5000, exposition: end } },
    ]);
    expect(r).toMatchObject({ ok: true, value: 0.1 });
  });
});
