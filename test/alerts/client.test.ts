/**
 * The Alertmanager client: against a real Alertmanager (silences created, read, expired —
 * twice, and unknown ids), and against a loopback server that checks what is sent (the
 * bearer token from its variable, masked; the query parameters) and fails on anything else.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAlertmanagerClient } from '../../src/analysis/alerts/client.js';
import type { AlertmanagerSpec } from '../../src/spec/types.js';
import { locateAlertmanager, startAlertmanager, type TestAlertmanager } from './helpers/alertmanager.js';

function spec(url: string, over: Partial<AlertmanagerSpec> = {}): AlertmanagerSpec {
  return { url, headers: {}, timeoutMs: 2000, retries: 0, backoffMs: 50, ...over };
}

const noMask = { env: {}, mask: () => undefined };
const binary = locateAlertmanager();

describe.skipIf(binary === undefined)('client against a real Alertmanager', () => {
  let am: TestAlertmanager;
  beforeAll(async () => {
    am = await startAlertmanager(binary!);
  });
  afterAll(async () => {
    await am?.stop();
  });

  it('lists firing alerts through filters, creates, reads and expires a silence (twice, and an unknown one: no failure)', async () => {
    const client = createAlertmanagerClient(spec(am.url), noMask);
    await am.fire([
      { labels: { alertname: 'A', severity: 'critical', instance: 'x:1' } },
      { labels: { alertname: 'B', severity: 'warning', instance: 'x:1' } },
    ]);
    const listed = await client.listAlerts(['severity="critical"']);
    expect(listed.ok && listed.value.map((a) => a.labels.alertname)).toEqual(['A']);
    const now = Date.now();
    const created = await client.createSilence({
      matchers: [{ name: 'instance', value: 'x:1', isRegex: false, isEqual: true }],
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + 60_000).toISOString(),
      createdBy: 'fleetgate',
      comment: 'test',
    });
    if (!created.ok) throw new Error(created.message);
    const read = await client.getSilence(created.value);
    expect(read.ok && read.value?.state).toBe('active');
    // Silenced alerts leave the gate's query.
    const after = await client.listAlerts([]);
    expect(after.ok && after.value).toEqual([]);
    expect(await client.expireSilence(created.value)).toEqual({ ok: true, value: 'expired' });
    // Alertmanager 0.25 answers 200 to a second expiry; either way it is no failure.
    expect((await client.expireSilence(created.value)).ok).toBe(true);
    expect(await client.expireSilence('00000000-0000-0000-0000-000000000000')).toEqual({ ok: true, value: 'unknown' });
    const listedSilences = await client.listSilences();
    expect(listedSilences.ok && listedSilences.value.find((s) => s.id === created.value)?.state).toBe('expired');
  });

  it('says what Alertmanager refused', async () => {
    const client = createAlertmanagerClient(spec(am.url), noMask);
    const bad = await client.listAlerts(['not a matcher']);
    expect(bad).toMatchObject({ ok: false, message: expect.stringMatching(/^HTTP 400: bad matcher format/) as string });
  });
});

describe('client against a loopback server that checks every request', () => {
  let server: Server;
  let url = '';
  const seen: { method?: string; url?: string; authorization?: string }[] = [];
  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization });
      if (req.method === 'GET' && req.url?.startsWith('/api/v2/alerts?')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify([
            { labels: { alertname: 'A' }, startsAt: '2026-12-03T06:00:00Z', status: { state: 'active' } },
          ]),
        );
        return;
      }
      res.writeHead(418);
      res.end('unexpected request');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterEach(() => {
    seen.length = 0;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('sends the bearer token from its variable, registers it as a secret, and asks for active unsilenced alerts', async () => {
    const masked: string[] = [];
    const client = createAlertmanagerClient(spec('${AM_URL}/', { bearerTokenEnv: 'AM_TOKEN' }), {
      env: { AM_URL: url, AM_TOKEN: 's3cret-token' },
      mask: (s) => masked.push(s),
    });
    const r = await client.listAlerts(['severity="critical"', 'service=~"edge|core"']);
    expect(r.ok).toBe(true);
    expect(masked).toEqual(['s3cret-token']);
    expect(client.where).not.toContain('s3cret');
    const query = new URLSearchParams(seen[0]!.url!.split('?')[1]);
    expect(seen[0]!.authorization).toBe('Bearer s3cret-token');
    expect(query.get('active')).toBe('true');
    expect(query.get('silenced')).toBe('false');
    expect(query.get('inhibited')).toBe('false');
    expect(query.getAll('filter')).toEqual(['severity="critical"', 'service=~"edge|core"']);
  });

  it('refuses a URL that is not http(s) and a variable that is not set, without printing the value', () => {
    expect(() => createAlertmanagerClient(spec('ftp://x'), noMask)).toThrow(/must use http or https/);
    expect(() => createAlertmanagerClient(spec(url, { bearerTokenEnv: 'NOPE' }), noMask)).toThrow(
      /names NOPE, which is not set/,
    );
  });

  it('reports an unexpected answer as a failure, never as no alerts', async () => {
    const client = createAlertmanagerClient(spec(url), noMask);
    const r = await client.createSilence({
      matchers: [],
      startsAt: '',
      endsAt: '',
      createdBy: 'fleetgate',
      comment: '',
    });
    expect(r).toEqual({ ok: false, message: 'HTTP 418: unexpected request' });
  });
});
