import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProvider } from '../../src/analysis/providers/index.js';
import { scrapeTolerance } from '../../src/analysis/providers/scrape.js';
import type { AnalysisWindow, Cohort, MeasureRequest, MetricProvider } from '../../src/analysis/types.js';
import { ConfigurationError } from '../../src/errors.js';
import { startLocalFleet, type LocalFleet } from '../../src/fleet/local-fleet.js';
import { freePort } from './helpers/prometheus.js';
import { sleep } from './helpers/fleet.js';
import { metric } from './helpers/metric.js';

const deps = { env: {}, mask: () => undefined, now: () => Date.now() };

describe('scrape settings', () => {
  it('accepts defaults and refuses unknown or bad settings', () => {
    expect(createProvider({ type: 'scrape', config: {} }, deps).type).toBe('scrape');
    expect(() => createProvider({ type: 'scrape', config: { path: 'metrics' } }, deps)).toThrow(
      /path must start with "\/"/,
    );
    expect(() => createProvider({ type: 'scrape', config: { scheme: 'ftp' } }, deps)).toThrow(ConfigurationError);
    expect(() => createProvider({ type: 'scrape', config: { concurrency: 0 } }, deps)).toThrow(
      /concurrency must be a whole number from 1 to 1024/,
    );
    expect(() => createProvider({ type: 'scrape', config: { interval: '1s' } }, deps)).toThrow(
      /unknown setting interval/,
    );
  });

  it('matches a window bound to a scrape within about 10% of the window, 250 ms to 5 s', () => {
    expect(scrapeTolerance({ startMs: 0, endMs: 600 })).toBe(250);
    expect(scrapeTolerance({ startMs: 0, endMs: 1500 })).toBe(500);
    expect(scrapeTolerance({ startMs: 0, endMs: 6000 })).toBe(1000);
    expect(scrapeTolerance({ startMs: 0, endMs: 20_000 })).toBe(2000);
    expect(scrapeTolerance({ startMs: 0, endMs: 900_000 })).toBe(5000);
  });
});

describe('scrape provider against real local agents', () => {
  let fleet: LocalFleet;
  let provider: MetricProvider;
  let all: Cohort;
  const RPS = 400;

  beforeAll(async () => {
    fleet = await startLocalFleet({
      count: 3,
      version: '1.0.0',
      trafficRps: RPS,
      baseErrorRate: 0.1,
      idPrefix: 'scrape-',
    });
    provider = createProvider({ type: 'scrape', config: { timeout: '2s', retries: 0 } }, deps);
    all = { name: 'canary', targets: fleet.targets };
  });

  afterAll(async () => {
    await fleet?.stop();
  });

  function req(query: string, window: AnalysisWindow, cohort: Cohort = all): MeasureRequest {
    return { metric: metric({ query }), query, cohort, window };
  }

  /** Opens a window now, waits it out (real time) and returns it. */
  async function openWindow(ms: number, cohorts: Cohort[] = [all]): Promise<AnalysisWindow> {
    const window = { startMs: Date.now(), endMs: Date.now() + ms };
    await provider.beginWindow?.(cohorts, window);
    await sleep(window.endMs - Date.now());
    return window;
  }

  it('computes rate, ratio, quantile and gauge from the two scrapes, with per-target samples', async () => {
    const window = await openWindow(2000);
    const rate = await provider.measure(req('rate(http_requests_total)', window));
    expect(rate.ok).toBe(true);
    if (!rate.ok) return;
    expect(rate.samples).toHaveLength(3);
    // Synthetic traffic is 400 requests/s per agent, ticked every 100 ms.
    expect(rate.value).toBeGreaterThan(RPS * 0.7);
    expect(rate.value).toBeLessThan(RPS * 1.3);

    const ratio = await provider.measure(req('ratio(http_requests_total{code=~"5.."}, http_requests_total)', window));
    expect(ratio.ok && ratio.value).toBeGreaterThan(0.05);
    expect(ratio.ok && ratio.value).toBeLessThan(0.15);

    const p50 = await provider.measure(req('quantile(0.5, http_request_duration_seconds)', window));
    // Median latency of a plain version is 20 ms.
    expect(p50.ok && p50.value).toBeGreaterThan(0.01);
    expect(p50.ok && p50.value).toBeLessThan(0.04);

    expect(await provider.measure(req('gauge(fleet_agent_build_info{version="1.0.0"})', window))).toEqual({
      ok: true,
      value: 1,
      samples: [1, 1, 1],
    });
  });

  it('a query matching nothing is no data; an invalid query is an error', async () => {
    const window = await openWindow(1000);
    expect(await provider.measure(req('rate(nothing_total)', window))).toEqual({
      ok: false,
      verdict: 'inconclusive',
      message: 'no series match nothing_total',
    });
    const bad = await provider.measure(req('avg(x)', window));
    expect(bad).toMatchObject({
      ok: false,
      verdict: 'error',
      message: expect.stringContaining('unknown function "avg"') as unknown,
    });
  });

  it('a window without a scrape at its start is an error that says why', async () => {
    const window = { startMs: Date.now() - 60_000, endMs: Date.now() };
    const r = await provider.measure(req('rate(http_requests_total)', window));
    expect(r).toMatchObject({ ok: false, verdict: 'error' });
    expect(!r.ok && r.message).toContain(
      'the scrape provider measures a window only from scrapes taken at its start (beginWindow) and its end',
    );
  });

  it('measuring before the window ends is an error', async () => {
    const window = { startMs: Date.now(), endMs: Date.now() + 60_000 };
    const r = await provider.measure(req('rate(http_requests_total)', window));
    expect(r).toMatchObject({ ok: false, verdict: 'error', message: expect.stringContaining('too early') as unknown });
  });

  it('an unreachable target is an error naming it, never skipped', async () => {
    const port = await freePort();
    const cohort: Cohort = {
      name: 'canary',
      targets: [...fleet.targets, { id: 'gone', address: `127.0.0.1:${port}`, labels: {} }],
    };
    const window = await openWindow(1000, [cohort]);
    const r = await provider.measure(req('rate(http_requests_total)', window, cohort));
    expect(r).toMatchObject({ ok: false, verdict: 'error' });
    expect(!r.ok && r.message).toContain(
      `could not scrape gone (http://127.0.0.1:${port}/metrics): connection refused (ECONNREFUSED)`,
    );
  });
});
