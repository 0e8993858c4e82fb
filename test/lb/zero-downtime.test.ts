/**
 * Zero downtime behind a real HAProxy (Debian package `haproxy`): 10 local agents
 * behind it, health-checked on `/readyz` every 500 ms, 200 requests/s through it for
 * the whole rollout, one in five held 250 ms. The example recipe
 * (`rollouts/examples/haproxy.yaml`) drains each server through the runtime API and
 * waits (`until`) for 0 sessions before the upgrade, and for UP before the next
 * take-down. Then: no request fails, no connection is reset, and HAProxy never sees
 * more servers out than `maxUnavailable`. The same recipe without `until` is run too
 * and its figures printed, so the difference stays visible.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalFleet, type LocalFleet } from '../../src/fleet/local-fleet.js';
import { locateHaproxy, startHaproxy, type TestHaproxy } from './haproxy.js';
import { describeRun, exampleSpec, rollOutUnderLoad } from './zero-downtime-rollout.js';

const haproxyBinary = locateHaproxy();
const LOAD = { rps: 200, slowShare: 0.2, slowMs: 250 };

describe.skipIf(haproxyBinary === undefined)('zero-downtime rollout behind a real HAProxy', () => {
  let fleet: LocalFleet;
  let lb: TestHaproxy;

  beforeAll(async () => {
    fleet = await startLocalFleet({
      count: 10,
      version: '1.0.0',
      idPrefix: 'web-',
      agentsPerProcess: 10,
      labels: () => ({ backend: 'fleet' }),
      trafficRps: 0,
      baseErrorRate: 0,
      upgradeMs: 300,
    });
    lb = await startHaproxy(haproxyBinary!, {
      servers: fleet.targets.map((t) => ({ name: t.id, address: t.address })),
      interMs: 500,
      fall: 2,
      rise: 2,
    });
  }, 30_000);

  afterAll(async () => {
    await lb?.stop();
    await fleet?.stop();
  });

  it('without until, the same recipe is measured (printed: what it drops)', async () => {
    const r = await rollOutUnderLoad(fleet, lb, exampleSpec({ version: '1.1.0', until: false }), LOAD);
    process.stdout.write(`\n[haproxy] ${describeRun('without until', r)}\n`);
    expect(r.code, r.output).toBe(0);
    expect(r.load.rps).toBeGreaterThanOrEqual(190);
  }, 90_000);

  it('with until drains, no request fails, none is reset, and HAProxy never sees more than maxUnavailable out', async () => {
    const r = await rollOutUnderLoad(fleet, lb, exampleSpec({ version: '1.2.0', until: true }), LOAD);
    process.stdout.write(`\n[haproxy] ${describeRun('with until', r)}\n`);
    expect(r.code, r.output).toBe(0);
    expect(r.load.rps).toBeGreaterThanOrEqual(190);
    expect(r.lb.samples).toBeGreaterThan(20);
    expect(r.load.resets).toBe(0);
    expect(r.load.failed).toBe(0);
    expect(r.lb.maxNotUp).toBeLessThanOrEqual(1);
    for (const t of fleet.targets)
      expect((await fetch(`http://${t.address}/version`).then((x) => x.json())) as object).toMatchObject({
        version: '1.2.0',
      });
  }, 90_000);
});
