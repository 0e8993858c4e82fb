import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProvider } from '../../src/analysis/providers/index.js';
import { readJsonPath } from '../../src/analysis/providers/http.js';
import type { MeasureRequest, MetricProvider } from '../../src/analysis/types.js';
import { metric } from './helpers/metric.js';

const window = { startMs: 0, endMs: 1000 };
const req = (query: string): MeasureRequest => ({
  metric: metric({ query }),
  query,
  cohort: { name: 'canary', targets: [] },
  window,
});

describe('readJsonPath', () => {
  it('follows dotted keys and array indices', () => {
    const data = { data: { result: [{ value: 3 }, { value: [1, '2'] }] }, 'a.b': 1 };
    expect(readJsonPath(data, 'data.result.0.value')).toBe(3);
    expect(readJsonPath(data, 'data.result[1].value[1]')).toBe('2');
    expect(readJsonPath(data, 'data.missing.x')).toBeUndefined();
    expect(readJsonPath(data, 'data.result.x')).toBeUndefined();
    expect(readJsonPath({ __proto__: { x: 1 } }, 'x')).toBeUndefined();
  });
});

describe('http provider against a loopback server', () => {
  let server: Server;
  let base: string;
  const seen: Array<{ url: string; auth: string | undefined }> = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      seen.push({ url: request.url ?? '', auth: request.headers.authorization });
      const url = new URL(request.url ?? '/', 'http://x');
      const send = (status: number, body: string): void =>
        void response.writeHead(status, { 'content-type': 'application/json' }).end(body);
      switch (url.pathname) {
        case '/stats':
          return send(
            200,
            JSON.stringify({
              errors: { ratio: 0.012, text: '0.5', nan: 'NaN', list: [1, 2, 3] },
              q: url.searchParams.get('q'),
            }),
          );
        case '/down':
          return send(500, '{}');
        case '/html':
          return send(200, '<html>');
        default:
          return send(404, '{}');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('reads a number from the query URL, the path from its fragment', async () => {
    const p = createProvider(
      { type: 'http', config: { retries: 0 } },
      { env: {}, mask: () => undefined, now: Date.now },
    );
    expect(await p.measure(req(`${base}/stats#errors.ratio`))).toEqual({ ok: true, value: 0.012 });
    expect(await p.measure(req(`${base}/stats#errors.text`))).toEqual({ ok: true, value: 0.5 });
    expect(await p.measure(req(`${base}/stats#errors.list`))).toEqual({ ok: true, value: 2, samples: [1, 2, 3] });
  });

  it('fills {{query}} into the url setting, URL-encoded, with the json setting and masked headers from ${VAR}', async () => {
    const masked: string[] = [];
    const p: MetricProvider = createProvider(
      {
        type: 'http',
        config: { url: `${base}/stats?q={{query}}`, json: 'q', headers: { Authorization: 'Bearer ${TOKEN}' } },
      },
      { env: { TOKEN: 'abc' }, mask: (s) => void masked.push(s), now: Date.now },
    );
    expect(masked).toEqual(['Bearer abc']);
    const r = await p.measure(req('a b&c'));
    expect(r).toEqual({ ok: false, verdict: 'error', message: 'q is not a number ("a b&c")' });
    expect(seen.at(-1)).toEqual({ url: '/stats?q=a%20b%26c', auth: 'Bearer abc' });
  });

  it('no value or NaN is no data; HTTP errors, refused connections and non-JSON are Errors', async () => {
    const p = createProvider(
      { type: 'http', config: { retries: 0, timeout: '2s' } },
      { env: {}, mask: () => undefined, now: Date.now },
    );
    expect(await p.measure(req(`${base}/stats#errors.nope`))).toEqual({
      ok: false,
      verdict: 'inconclusive',
      message: 'no value at errors.nope',
    });
    expect(await p.measure(req(`${base}/stats#errors.nan`))).toEqual({
      ok: false,
      verdict: 'inconclusive',
      message: 'value is NaN at errors.nan',
    });
    expect(await p.measure(req(`${base}/down#x`))).toEqual({
      ok: false,
      verdict: 'error',
      message: `GET ${base}/down: HTTP 500`,
    });
    expect(await p.measure(req(`${base}/html#x`))).toEqual({
      ok: false,
      verdict: 'error',
      message: `GET ${base}/html: the answer is not JSON`,
    });
    expect(await p.measure(req(`${base}/stats`))).toMatchObject({
      ok: false,
      verdict: 'error',
      message: expect.stringContaining('no JSON path') as unknown,
    });
    expect(await p.measure(req('ftp://x#y'))).toMatchObject({
      ok: false,
      verdict: 'error',
      message: expect.stringContaining('not an http(s) URL') as unknown,
    });
    const refused = await p.measure(req('http://127.0.0.1:1/x#y'));
    expect(refused).toEqual({
      ok: false,
      verdict: 'error',
      message: 'GET http://127.0.0.1:1/x: connection refused (ECONNREFUSED)',
    });
  });
});
