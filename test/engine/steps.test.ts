import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/util/clock.js';
import { createStepRunner, pickJsonField, pollUntilHealthy } from '../../src/engine/steps.js';
import type { CommandStep, HttpStep } from '../../src/spec/types.js';

let server: Server;
let address = '';
let healthyAfter = 0;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.url === '/version') return res.end(JSON.stringify({ build: { version: '1.2.3' } }));
    if (req.url === '/healthz') {
      healthyAfter--;
      res.statusCode = healthyAfter < 0 ? 200 : 503;
      return res.end();
    }
    if (req.url === '/hang') return; // never answers
    res.statusCode = 500;
    res.end('boom');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const vars = () => ({
  target: { id: 't1', address, labels: { note: "'; rm -rf / #" } },
  version: '2.0.0',
  rollout: { name: 'r' },
  component: 'c',
});
const http = (over: Partial<HttpStep>): HttpStep => ({
  kind: 'http',
  method: 'GET',
  url: 'http://{{target.address}}/version',
  headers: {},
  expect: [200],
  timeoutMs: 1000,
  retries: 0,
  intervalMs: 10,
  ...over,
});
const cmd = (run: string[], over: Partial<CommandStep> = {}): CommandStep => ({
  kind: 'run',
  run,
  env: {},
  timeoutMs: 5000,
  retries: 0,
  intervalMs: 10,
  ...over,
});

describe('step runner', () => {
  const runner = createStepRunner({ clock: systemClock, baseDir: process.cwd() });
  afterAll(() => runner.close());

  it('reads a version from a JSON field over HTTP', async () => {
    const r = await runner.run(http({ json: 'build.version' }), vars(), { extractVersion: true });
    expect(r).toMatchObject({ ok: true, version: '1.2.3', status: 200, attempts: 1 });
  });

  it('retries and reports the status and body of a failing request', async () => {
    const r = await runner.run(http({ url: 'http://{{target.address}}/fail', retries: 2 }), vars());
    expect(r.ok).toBe(false);
    expect(r.attempts).toBe(3);
    expect(r.message).toMatch(/→ 500 \(expected 200\): boom/);
  });

  it('times out a request that hangs', async () => {
    const r = await runner.run(http({ url: 'http://{{target.address}}/hang', timeoutMs: 200 }), vars());
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/timed out after 200 ms/);
  });

  it('reports a refused connection', async () => {
    const r = await runner.run(http({ url: 'http://127.0.0.1:1/x' }), vars());
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/ECONNREFUSED|connect/);
  });

  it('runs argv commands with templated args and env, never through a shell', async () => {
    const r = await runner.run(
      cmd(
        [
          process.execPath,
          '-e',
          'process.stdout.write(process.argv[1] + "|" + process.env.NOTE + "|" + process.env.FLEETGATE_VERSION)',
          '{{target.labels.note}}',
        ],
        {
          env: { NOTE: '{{target.id}} $(whoami)' },
        },
      ),
      vars(),
      { extractVersion: true },
    );
    expect(r.ok).toBe(true);
    expect(r.version).toBe("'; rm -rf / #|t1 $(whoami)|2.0.0");
  });

  it('reports exit codes and kills commands that overrun their timeout', async () => {
    const fail = await runner.run(cmd([process.execPath, '-e', 'console.error("nope"); process.exit(3)']), vars());
    expect(fail).toMatchObject({ ok: false, exitCode: 3 });
    expect(fail.message).toMatch(/exit 3: nope/);
    const slow = await runner.run(
      cmd([process.execPath, '-e', 'setTimeout(() => {}, 10000)'], { timeoutMs: 200 }),
      vars(),
    );
    expect(slow.ok).toBe(false);
    expect(slow.message).toMatch(/timed out after 200 ms/);
  });

  it('polls a verify step until healthy', async () => {
    healthyAfter = 3;
    const probes: boolean[] = [];
    const r = await pollUntilHealthy(
      runner,
      http({ url: 'http://{{target.address}}/healthz', timeoutMs: 5000, intervalMs: 20 }),
      vars(),
      systemClock,
      (p) => probes.push(p.ok),
    );
    expect(r.ok).toBe(true);
    expect(probes).toEqual([false, false, false, true]);
  });

  it('gives up polling when the budget is spent', async () => {
    healthyAfter = 1_000_000;
    const r = await pollUntilHealthy(
      runner,
      http({ url: 'http://{{target.address}}/healthz', timeoutMs: 150, intervalMs: 20 }),
      vars(),
      systemClock,
      () => {},
    );
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/not healthy after 150 ms/);
  });

  it('picks nested JSON fields', () => {
    expect(pickJsonField({ a: { b: 1 } }, 'a.b')).toBe('1');
    expect(pickJsonField({ a: {} }, 'a.b')).toBeUndefined();
    expect(pickJsonField(null, 'a')).toBeUndefined();
  });
});
