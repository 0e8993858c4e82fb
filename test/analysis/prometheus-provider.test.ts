import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assessMeasurement } from '../../src/analysis/assess.js';
import { createProvider } from '../../src/analysis/providers/index.js';
import { decodeApiResponse } from '../../src/analysis/providers/prometheus.js';
import { renderQuery } from '../../src/analysis/query.js';
import type { AnalysisWindow, MeasureRequest, MetricProvider } from '../../src/analysis/types.js';
import { ConfigurationError } from '../../src/errors.js';
import { startLocalFleet, type LocalFleet } from '../../src/fleet/local-fleet.js';
import { metric, observation } from './helpers/metric.js';
import { locatePrometheus, startPrometheus, waitForSamples, type TestPrometheus } from './helpers/prometheus.js';

const deps = (env: NodeJS.ProcessEnv = {}, masked: string[] = []) => ({
  env,
  mask: (s: string) => void masked.push(s),
  now: () => Date.now(),
});

function req(query: string, window: AnalysisWindow, overrides: Partial<MeasureRequest> = {}): MeasureRequest {
  return { metric: metric({ query }), query, cohort: { name: 'canary', targets: [] }, window, ...overrides };
}

describe('decodeApiResponse (documented shapes)', () => {
  const success = (data: unknown): string => JSON.stringify({ status: 'success', data });
  it('reads vectors, scalars and matrices, "+Inf"/"NaN" strings included', () => {
    expect(
      decodeApiResponse(200, success({ resultType: 'vector', result: [{ metric: {}, value: [1, '0.5'] }] }), 'instant'),
    ).toEqual({ ok: true, values: [0.5], series: 1 });
    expect(decodeApiResponse(200, success({ resultType: 'scalar', result: [1, '2'] }), 'instant')).toEqual({
      ok: true,
      values: [2],
      series: 1,
    });
    expect(
      decodeApiResponse(
        200,
        success({ resultType: 'vector', result: [{ metric: { job: 'x' }, value: [1, '+Inf'] }] }),
        'instant',
      ),
    ).toEqual({
      ok: false,
      verdict: 'inconclusive',
      message: 'value is +Inf for {job="x"}',
    });
    expect(
      decodeApiResponse(
        200,
        success({
          resultType: 'matrix',
          result: [
            {
              metric: {},
              values: [
                [1, '1'],
                [2, 'NaN'],
                [3, '3'],
              ],
            },
          ],
        }),
        'range',
      ),
    ).toEqual({
      ok: true,
      values: [1, 3],
      series: 1,
    });
  });
  it('maps API errors and junk to error', () => {
    expect(
      decodeApiResponse(422, JSON.stringify({ status: 'error', errorType: 'execution', error: 'boom' }), 'instant'),
    ).toEqual({
      ok: false,
      verdict: 'error',
      message: 'HTTP 422 execution: boom',
    });
    expect(decodeApiResponse(502, '<html>bad gateway</html>', 'instant')).toMatchObject({
      verdict: 'error',
      message: 'HTTP 502: not a Prometheus API answer (<html>bad gateway</html>)',
    });
    expect(decodeApiResponse(200, success({ resultType: 'string', result: [1, 'x'] }), 'instant')).toMatchObject({
      verdict: 'error',
    });
  });
});

describe('prometheus settings', () => {
  it('requires an address and expands ${VAR} from the environment', () => {
    expect(() => createProvider({ type: 'prometheus', config: {} }, deps())).toThrow(
      'analysis.provider.prometheus.address is required',
    );
    expect(() => createProvider({ type: 'prometheus', config: { address: '${PROM_URL}' } }, deps())).toThrow(
      /refers to \$\{PROM_URL\}, which is not set/,
    );
    expect(
      createProvider(
        { type: 'prometheus', config: { address: '${PROM_URL}' } },
        deps({ PROM_URL: 'http://127.0.0.1:1' }),
      ).type,
    ).toBe('prometheus');
    expect(() => createProvider({ type: 'prometheus', config: { address: 'ftp://x' } }, deps())).toThrow(
      ConfigurationError,
    );
    expect(() => createProvider({ type: 'prometheus', config: { address: 'http://x', adress: 1 } }, deps())).toThrow(
      /unknown setting adress; known: address/,
    );
  });

  it('reads credentials from the variables it names and masks them', () => {
    const masked: string[] = [];
    createProvider(
      { type: 'prometheus', config: { address: 'http://x', bearerTokenEnv: 'TOKEN' } },
      deps({ TOKEN: 's3cret' }, masked),
    );
    expect(masked).toEqual(['s3cret']);
    expect(() =>
      createProvider({ type: 'prometheus', config: { address: 'http://x', bearerTokenEnv: 'TOKEN' } }, deps()),
    ).toThrow(/names TOKEN, which is not set/);
    const masked2: string[] = [];
    createProvider(
      { type: 'prometheus', config: { address: 'http://x', basicAuth: { usernameEnv: 'U', passwordEnv: 'P' } } },
      deps({ U: 'user', P: 'pw' }, masked2),
    );
    expect(masked2).toEqual(['pw', Buffer.from('user:pw').toString('base64')]);
  });
});

/** A loopback stand-in for the Prometheus API: checks what it receives and answers in the documented shapes; unexpected requests get 404 and are recorded. */
function fakePrometheus(handler: (req: IncomingMessage, body: URLSearchParams, res: ServerResponse) => void) {
  const seen: Array<{ path: string; headers: IncomingMessage['headers']; body: URLSearchParams }> = [];
  const unexpected: string[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const body = new URLSearchParams(raw);
      const path = req.url ?? '';
      seen.push({ path, headers: req.headers, body });
      if (
        req.method !== 'POST' ||
        !['/api/v1/query', '/api/v1/query_range'].includes(path) ||
        req.headers['content-type'] !== 'application/x-www-form-urlencoded'
      ) {
        unexpected.push(`${req.method} ${path}`);
        res.writeHead(404).end();
        return;
      }
      handler(req, body, res);
    });
  });
  return {
    seen,
    unexpected,
    start: () =>
      new Promise<string>((r) =>
        server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as { port: number }).port}`)),
      ),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const vector = (v: string): string =>
  JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [0, v] }] } });

describe('prometheus provider over HTTP (loopback stand-in)', () => {
  const window = { startMs: 1_700_000_000_000, endMs: 1_700_000_060_000 };

  it('POSTs the query with time = window end (s) and a server timeout, with the bearer token', async () => {
    const fake = fakePrometheus((_req, _body, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(vector('0.25')),
    );
    const url = await fake.start();
    try {
      const p = createProvider(
        { type: 'prometheus', config: { address: `${url}/`, bearerTokenEnv: 'T', timeout: '5s' } },
        deps({ T: 'tok' }),
      );
      expect(await p.measure(req('up', window))).toEqual({ ok: true, value: 0.25 });
      expect(fake.seen[0]?.headers.authorization).toBe('Bearer tok');
      expect(Object.fromEntries(fake.seen[0]?.body ?? [])).toEqual({ query: 'up', time: '1700000060', timeout: '4s' });
      expect(fake.unexpected).toEqual([]);
    } finally {
      await fake.stop();
    }
  });

  it('retries 503 with backoff, then reports the status after the last attempt', async () => {
    let calls = 0;
    const fake = fakePrometheus((_req, _body, res) => {
      calls++;
      if (calls < 3)
        res
          .writeHead(503, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'error', errorType: 'unavailable', error: 'busy' }));
      else res.writeHead(200).end(vector('1'));
    });
    const url = await fake.start();
    try {
      const ok = createProvider({ type: 'prometheus', config: { address: url, retries: 2, backoff: '10ms' } }, deps());
      expect(await ok.measure(req('up', window))).toEqual({ ok: true, value: 1 });
      calls = 0;
      const once = createProvider(
        { type: 'prometheus', config: { address: url, retries: 1, backoff: '10ms' } },
        deps(),
      );
      expect(await once.measure(req('up', window))).toEqual({
        ok: false,
        verdict: 'error',
        message: `prometheus at ${url}: HTTP 503 unavailable: busy after 2 attempts`,
      });
    } finally {
      await fake.stop();
    }
  });

  it('times out a hanging server as an error', async () => {
    const fake = fakePrometheus(() => undefined);
    const url = await fake.start();
    try {
      const p = createProvider({ type: 'prometheus', config: { address: url, timeout: '300ms', retries: 0 } }, deps());
      const r = await p.measure(req('up', window));
      expect(r).toMatchObject({ ok: false, verdict: 'error' });
      expect(!r.ok && r.message).toMatch(/timed out after 0.3s/);
    } finally {
      await fake.stop();
    }
  });
});

const binary = locatePrometheus();

describe.skipIf(binary === undefined)('prometheus provider against a real Prometheus', () => {
  let fleet: LocalFleet;
  let prom: TestPrometheus;
  let provider: MetricProvider;
  const regex = (): string => renderQuery('{{targets.regex}}', { targets: fleet.targets, windowMs: 1 });

  beforeAll(async () => {
    fleet = await startLocalFleet({ count: 2, version: '1.0.0', trafficRps: 200, idPrefix: 'prom-' });
    prom = await startPrometheus(
      binary as string,
      fleet.targets.map((t) => t.address),
    );
    await waitForSamples(
      prom,
      fleet.targets.map((t) => t.address),
      4,
    );
    provider = createProvider({ type: 'prometheus', config: { address: prom.url, timeout: '5s', retries: 0 } }, deps());
  });

  afterAll(async () => {
    await prom?.stop();
    await fleet?.stop();
  });

  const recent = (): AnalysisWindow => ({ startMs: Date.now() - 3000, endMs: Date.now() });

  it('instant query: one series is the value', async () => {
    const r = await provider.measure(req(`sum(fleet_agent_build_info{instance=~"${regex()}"})`, recent()));
    expect(r).toEqual({ ok: true, value: 2 });
  });

  it('instant query: several series are per-target samples, their mean the value', async () => {
    const r = await provider.measure(req(`fleet_agent_build_info{instance=~"${regex()}"}`, recent()));
    expect(r).toEqual({ ok: true, value: 1, samples: [1, 1] });
  });

  it('a statistical metric gets per-interval samples from a range query', async () => {
    const q = `sum(rate(http_requests_total{instance=~"${regex()}"}[2s]))`;
    const r = await provider.measure(
      req(q, recent(), {
        metric: metric({ query: q, statistical: { passScore: 95, marginalScore: 75 }, baseline: { cohort: 'stable' } }),
      }),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.samples?.length).toBeGreaterThanOrEqual(2);
    // 2 agents × 200 requests/s.
    expect(r.value).toBeGreaterThan(200);
    expect(r.value).toBeLessThan(600);
  });

  it('evaluates at the window end: a window that ended before the fleet existed has no data', async () => {
    const r = await provider.measure(
      req(`sum(fleet_agent_build_info{instance=~"${regex()}"})`, {
        startMs: 1_600_000_000_000,
        endMs: 1_600_000_060_000,
      }),
    );
    expect(r).toEqual({ ok: false, verdict: 'inconclusive', message: 'empty result' });
  });

  it('an empty result follows the metric noData policy', async () => {
    const r = await provider.measure(req('no_such_metric_total', recent()));
    expect(r).toEqual({ ok: false, verdict: 'inconclusive', message: 'empty result' });
    expect(assessMeasurement(metric({ threshold: { op: '<', value: 1 } }), observation(r)).measurement.verdict).toBe(
      'inconclusive',
    );
    expect(
      assessMeasurement(metric({ threshold: { op: '<', value: 1 }, noData: 'fail' }), observation(r)).measurement
        .verdict,
    ).toBe('fail');
  });

  it('NaN and +Inf are inconclusive, naming the value', async () => {
    expect(await provider.measure(req('vector(0) / vector(0)', recent()))).toEqual({
      ok: false,
      verdict: 'inconclusive',
      message: 'value is NaN for {}',
    });
    expect(await provider.measure(req('vector(1) / vector(0)', recent()))).toEqual({
      ok: false,
      verdict: 'inconclusive',
      message: 'value is +Inf for {}',
    });
  });

  it('a bad query and a range vector are Errors with the server message', async () => {
    const bad = await provider.measure(req('sum(', recent()));
    expect(bad).toMatchObject({ ok: false, verdict: 'error' });
    expect(!bad.ok && bad.message).toMatch(/HTTP 400 bad_data: .*parse error/);
    const range = await provider.measure(req('up[1m]', recent()));
    expect(range).toMatchObject({
      ok: false,
      verdict: 'error',
      message: expect.stringContaining('range vector') as unknown,
    });
  });

  it('Prometheus stopped → error naming the refused connection (last test: stops it)', async () => {
    await prom.stop();
    const r = await provider.measure(req('up', recent()));
    expect(r).toEqual({
      ok: false,
      verdict: 'error',
      message: `prometheus at ${prom.url}: connection refused (ECONNREFUSED)`,
    });
  });
});
