/**
 * Issue 9, part 10 ("no Node warnings"): every run over more than 10 targets printed
 * `MaxListenersExceededWarning: 11 abort listeners added to [AbortSignal]`, because each
 * concurrent sleep, HTTP attempt and command step added its own listener to the run's
 * one long-lived signal. Many concurrent users of one signal must neither warn nor
 * leave listeners or timers behind.
 */
import { getEventListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { onAbort, systemClock } from '../../src/util/clock.js';
import { createStepRunner, pollUntilHealthy } from '../../src/engine/steps.js';
import type { CommandStep, HttpStep } from '../../src/spec/types.js';

const N = 50;
let warnings: Error[] = [];
const onWarning = (w: Error) => warnings.push(w);
beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});
/** Warnings are emitted on a later tick: let them arrive before looking. */
async function listenerWarnings(): Promise<Error[]> {
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  return warnings.filter((w) => w.name === 'MaxListenersExceededWarning');
}
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

let server: Server;
let address = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/slow') setTimeout(() => res.end('1.0.0'), 100);
    else if (req.url === '/hang') return;
    else res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const vars = () => ({
  target: { id: 't1', address, labels: {} },
  version: '2.0.0',
  rollout: { name: 'r' },
  component: 'c',
});
const http = (over: Partial<HttpStep>): HttpStep => ({
  kind: 'http',
  method: 'GET',
  url: 'http://{{target.address}}/slow',
  headers: {},
  expect: [200],
  timeoutMs: 5000,
  retries: 0,
  intervalMs: 10,
  ...over,
});
const cmd = (run: string[], over: Partial<CommandStep> = {}): CommandStep => ({
  kind: 'run',
  run,
  env: {},
  timeoutMs: 10_000,
  retries: 0,
  intervalMs: 10,
  ...over,
});

describe('many concurrent users of one run signal', () => {
  const runner = createStepRunner({ clock: systemClock, baseDir: process.cwd(), connectionsPerOrigin: N });
  afterAll(() => runner.close());

  it(`${N} concurrent sleeps: no warning, no listener left`, async () => {
    const run = new AbortController();
    await Promise.all(Array.from({ length: N }, () => systemClock.sleep(50, run.signal)));
    expect(await listenerWarnings()).toEqual([]);
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
  });

  it(`${N} concurrent sleeps end early, all of them, when the run aborts`, async () => {
    const run = new AbortController();
    const before = timers();
    // Ten minutes each: only the abort ends them this side of the test's timeout (how fast: bench/timings.ts).
    const sleeps = Promise.all(Array.from({ length: N }, () => systemClock.sleep(600_000, run.signal)));
    expect(getEventListeners(run.signal, 'abort').length).toBeLessThanOrEqual(1);
    setImmediate(() => run.abort());
    await sleeps;
    expect(await listenerWarnings()).toEqual([]);
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it(`${N} concurrent command steps: no warning, no listener left`, async () => {
    const run = new AbortController();
    const rs = await Promise.all(
      Array.from({ length: N }, () =>
        runner.run(cmd(['sh', '-c', 'sleep 0.2; echo 1.0.0']), vars(), { signal: run.signal, extractVersion: true }),
      ),
    );
    expect(rs.every((r) => r.ok && r.version === '1.0.0')).toBe(true);
    expect(await listenerWarnings()).toEqual([]);
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
  });

  it(`${N} concurrent HTTP steps and health polls: no warning, no listener left`, async () => {
    const run = new AbortController();
    const before = timers();
    const rs = await Promise.all([
      ...Array.from({ length: N }, () => runner.run(http({}), vars(), { signal: run.signal, extractVersion: true })),
      ...Array.from({ length: N }, () =>
        pollUntilHealthy(
          runner,
          http({ url: 'http://{{target.address}}/ok' }),
          vars(),
          systemClock,
          () => {},
          run.signal,
        ),
      ),
    ]);
    expect(rs.every((r) => r.ok)).toBe(true);
    expect(await listenerWarnings()).toEqual([]);
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it(`${N} concurrent steps stop when the run aborts, leaving nothing behind`, async () => {
    const run = new AbortController();
    const before = timers();
    // Steps that would run for ten minutes: only the abort ends them (how fast: bench/timings.ts).
    const steps = Promise.all([
      ...Array.from({ length: 10 }, () =>
        runner.run(cmd(['sleep', '600'], { timeoutMs: 600_000 }), vars(), { signal: run.signal }),
      ),
      ...Array.from({ length: N }, () =>
        runner.run(http({ url: 'http://{{target.address}}/hang', timeoutMs: 600_000 }), vars(), {
          signal: run.signal,
        }),
      ),
    ]);
    setTimeout(() => run.abort(), 300);
    const rs = await steps;
    expect(rs.every((r) => !r.ok)).toBe(true);
    // Every step says it was aborted, not that it timed out (the HTTP ones did, before).
    expect(rs.filter((r) => !/aborted/.test(r.message))).toEqual([]);
    expect(await listenerWarnings()).toEqual([]);
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
    expect(timers()).toBeLessThanOrEqual(before);
  });
});

describe('onAbort', () => {
  it('keeps one listener on the signal however many watch it, and none once they stop', () => {
    const run = new AbortController();
    const calls: number[] = [];
    const stops = Array.from({ length: N }, (_, i) => onAbort(run.signal, () => calls.push(i)));
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(1);
    for (const stop of stops.slice(0, N - 1)) stop();
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(1);
    run.abort();
    expect(calls).toEqual([N - 1]);
    stops[N - 1]!();
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
  });

  it('calls at once for a signal already aborted', () => {
    const calls: string[] = [];
    const stop = onAbort(AbortSignal.abort(), () => calls.push('now'));
    expect(calls).toEqual(['now']);
    stop();
  });

  it('removes the listener when the last watcher stops before any abort', () => {
    const run = new AbortController();
    const a = onAbort(run.signal, () => {});
    const b = onAbort(run.signal, () => {});
    a();
    a();
    b();
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
    const c = onAbort(run.signal, () => {});
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(1);
    c();
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
  });
});
