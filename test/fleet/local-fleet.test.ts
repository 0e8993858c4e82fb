/**
 * The local fleet with real agent processes on loopback: endpoints, drain,
 * upgrade, version behaviours, faults and clean shutdown.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { AgentRequestError, readAgentStats, readAgentVersion, setAgentFault } from '../../src/fleet/client.js';
import type { FaultMode } from '../../src/fleet/agent.js';
import { LocalFleetError, resolveAgentCommand, startLocalFleet, type LocalFleet } from '../../src/fleet/local-fleet.js';
import { pollUntil } from '../helpers/poll.js';
import { isRunning } from './process-helpers.js';

/** Long enough that a loaded machine still observes the restart window. */
const UPGRADE_MS = 500;

async function http(
  address: string,
  method: 'GET' | 'POST',
  path: string,
  timeoutMs = 3000,
): Promise<{ status: number; text: string; json: () => Record<string, unknown>; contentType: string }> {
  const res = await request(`http://${address}${path}`, { method, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
    contentType: String(res.headers['content-type']),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** How the waits here poll: every 20 ms. */
const EVERY_20_MS = { intervalMs: 20 };

/**
 * Sets fault `mode` on the shared agent at `address` for `body`, and clears it afterwards whatever
 * happens: a failing test must not leave a fault set for the tests after it.
 */
async function withFault(address: string, mode: FaultMode, body: () => Promise<void>): Promise<void> {
  await setAgentFault(address, mode);
  try {
    await body();
  } finally {
    await setAgentFault(address, 'none');
  }
}

/** Sums `http_requests_total` by code from a /metrics text. */
function requestsByCode(metrics: string): Map<string, number> {
  const byCode = new Map<string, number>();
  for (const m of metrics.matchAll(/^http_requests_total\{[^}]*code="(\d+)"[^}]*\} (\d+)$/gm)) {
    byCode.set(m[1] as string, (byCode.get(m[1] as string) ?? 0) + Number(m[2]));
  }
  return byCode;
}

describe('local fleet of 3 agent processes', () => {
  let fleet: LocalFleet;
  let a1: string;
  let a2: string;
  let a3: string;

  beforeAll(async () => {
    fleet = await startLocalFleet({
      count: 3,
      version: '1.0.0',
      idPrefix: 'edge-',
      upgradeMs: UPGRADE_MS,
      trafficRps: 400,
      baseErrorRate: 0.05,
      seed: 42,
      labels: (i) => ({ role: i < 2 ? 'edge' : 'control' }),
    });
    [a1, a2, a3] = fleet.targets.map((t) => t.address) as [string, string, string];
  });

  afterAll(async () => {
    await fleet?.stop();
  });

  it('starts one real process per agent and lists them as targets', () => {
    expect(fleet.pids).toHaveLength(3);
    expect(new Set(fleet.pids).size).toBe(3);
    for (const pid of fleet.pids) expect(isRunning(pid)).toBe(true);
    expect(fleet.targets.map((t) => t.id)).toEqual(['edge-1', 'edge-2', 'edge-3']);
    expect(fleet.targets.map((t) => t.labels.role)).toEqual(['edge', 'edge', 'control']);
    for (const t of fleet.targets) expect(t.address).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('answers health, readiness, version and metrics', async () => {
    const health = await http(a1, 'GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.json()).toMatchObject({ status: 'ok', version: '1.0.0' });
    expect((await http(a1, 'GET', '/readyz')).status).toBe(200);
    expect(await readAgentVersion(a1)).toEqual({
      id: 'edge-1',
      version: '1.0.0',
      upgrades: 0,
      drained: false,
      state: 'ready',
      config: null,
      reloads: 0,
    });
    const metrics = await http(a1, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.contentType).toContain('text/plain; version=0.0.4');
    expect(metrics.text).toContain('fleet_agent_build_info{id="edge-1",version="1.0.0"} 1');
    expect(metrics.text).toMatch(
      /^http_request_duration_seconds_bucket\{id="edge-1",version="1.0.0",le="\+Inf"\} \d+$/m,
    );
    expect(metrics.text).toContain('fleet_agent_upgrades_total{id="edge-1"} 0');
    expect((await http(a1, 'GET', '/nope')).status).toBe(404);
    expect((await http(a1, 'GET', '/drain')).status).toBe(405);
  });

  it('serves /work and counts it', async () => {
    const before = requestsByCode((await http(a2, 'GET', '/metrics')).text);
    const work = await http(a2, 'GET', '/work');
    expect([200, 500]).toContain(work.status);
    const after = requestsByCode((await http(a2, 'GET', '/metrics')).text);
    const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    expect(total(after)).toBeGreaterThan(total(before));
  });

  it('drain makes /readyz 503 while /healthz stays 200; undrain restores; both are idempotent', async () => {
    expect((await http(a2, 'POST', '/drain')).status).toBe(200);
    expect((await http(a2, 'POST', '/drain')).status).toBe(200);
    const ready = await http(a2, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'drained' });
    expect((await http(a2, 'GET', '/healthz')).status).toBe(200);
    expect(await readAgentVersion(a2)).toMatchObject({ drained: true, state: 'drained' });
    expect((await http(a2, 'POST', '/undrain')).status).toBe(200);
    expect((await http(a2, 'POST', '/undrain')).status).toBe(200);
    expect((await http(a2, 'GET', '/readyz')).status).toBe(200);
  });

  it('upgrade answers 202, restarts for upgradeMs, reports the new version at once and counts only changes', async () => {
    const up = await http(a1, 'POST', '/upgrade?version=1.1.0');
    expect(up.status).toBe(202);
    expect(up.json()).toMatchObject({ from: '1.0.0', to: '1.1.0' });
    expect(await readAgentVersion(a1)).toMatchObject({ version: '1.1.0', upgrades: 1, state: 'upgrading' });
    const during = await http(a1, 'GET', '/healthz');
    expect(during.status).toBe(503);
    expect(during.json()).toMatchObject({ status: 'upgrading' });
    expect((await http(a1, 'GET', '/readyz')).status).toBe(503);
    await pollUntil(
      'condition not met',
      3000,
      async () => (await http(a1, 'GET', '/healthz')).status === 200,
      EVERY_20_MS,
    );
    expect((await http(a1, 'GET', '/readyz')).status).toBe(200);

    const again = await http(a1, 'POST', '/upgrade?version=1.1.0');
    expect(again.status).toBe(200);
    expect(again.json()).toMatchObject({ unchanged: true });
    expect((await readAgentVersion(a1)).upgrades).toBe(1);
    expect((await http(a1, 'GET', '/metrics')).text).toContain('fleet_agent_upgrades_total{id="edge-1"} 1');

    expect((await http(a1, 'POST', '/upgrade')).status).toBe(400);
    expect((await http(a1, 'POST', '/upgrade?version=')).status).toBe(400);
    expect((await http(a1, 'POST', '/upgrade?version=1.0%3Brm')).status).toBe(400);
  });

  it('a -broken version never turns healthy; a later upgrade to a good version recovers', async () => {
    expect((await http(a3, 'POST', '/upgrade?version=1.2.0-broken')).status).toBe(202);
    await pollUntil(
      'condition not met',
      3000,
      async () => (await readAgentVersion(a3)).state !== 'upgrading',
      EVERY_20_MS,
    );
    for (let i = 0; i < 3; i++) {
      const health = await http(a3, 'GET', '/healthz');
      expect(health.status).toBe(503);
      expect(health.json()).toMatchObject({ status: 'unhealthy' });
      expect((await http(a3, 'GET', '/readyz')).status).toBe(503);
      await sleep(50);
    }
    expect((await readAgentVersion(a3)).state).toBe('unhealthy');
    // Rollback.
    expect((await http(a3, 'POST', '/upgrade?version=1.0.0')).status).toBe(202);
    await pollUntil(
      'condition not met',
      3000,
      async () => (await http(a3, 'GET', '/healthz')).status === 200,
      EVERY_20_MS,
    );
    expect(await readAgentVersion(a3)).toMatchObject({ version: '1.0.0', upgrades: 2, state: 'ready' });
  });

  it('an -errors version raises the 5xx share in /metrics', async () => {
    // Base error rate 0.05; -errors5 serves 5xx at 0.25. edge-2 stays on the plain version as a baseline.
    expect((await http(a2, 'POST', '/upgrade?version=1.3.0-errors5')).status).toBe(202);
    const share = async (address: string): Promise<{ n: number; share: number; text: string }> => {
      const text = (await http(address, 'GET', '/metrics')).text;
      const byCode = requestsByCode(text);
      const n = [...byCode.values()].reduce((a, b) => a + b, 0);
      return { n, share: n === 0 ? 0 : (byCode.get('500') ?? 0) / n, text };
    };
    await pollUntil('condition not met', 5000, async () => (await share(a2)).n >= 400, EVERY_20_MS);
    const bad = await share(a2);
    expect(bad.text).toContain('version="1.3.0-errors5"');
    expect(bad.text).not.toContain('version="1.0.0"');
    expect(bad.share).toBeGreaterThan(0.15);
    expect(bad.share).toBeLessThan(0.35);
    const good = await share(a1);
    expect(good.n).toBeGreaterThan(400);
    expect(good.share).toBeLessThan(0.1);
    expect((await http(a2, 'GET', '/healthz')).status).toBe(200);
    await http(a2, 'POST', '/upgrade?version=1.0.0');
  });

  it('a -flaky version fails every other health probe', async () => {
    await http(a3, 'POST', '/upgrade?version=1.0.1-flaky');
    await pollUntil(
      'condition not met',
      3000,
      async () => (await readAgentVersion(a3)).state !== 'upgrading',
      EVERY_20_MS,
    );
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await http(a3, 'GET', '/healthz')).status);
    expect(codes).toEqual([503, 200, 503, 200]);
    await http(a3, 'POST', '/upgrade?version=1.0.0');
  });

  it('fault hang: requests get no answer until the fault is cleared; /_admin still answers', async () => {
    await withFault(a3, 'hang', async () => {
      await expect(http(a3, 'GET', '/healthz', 300)).rejects.toThrow();
      await expect(readAgentVersion(a3, { timeoutMs: 300 })).rejects.toBeInstanceOf(AgentRequestError);
      const pending = http(a3, 'GET', '/version', 3000);
      await pollUntil('condition not met', 3000, async () => (await readAgentStats(a3)).parked >= 1, EVERY_20_MS);
      await setAgentFault(a3, 'none');
      // The held request is answered once the fault is cleared.
      expect((await pending).status).toBe(200);
    });
    expect((await http(a3, 'GET', '/healthz')).status).toBe(200);
    const stats = await readAgentStats(a3);
    expect(stats.fault).toBe('none');
    expect(stats.requests['/healthz']).toBeGreaterThan(0);
  });

  it('fault reset destroys the connection; fault 500 answers 500 everywhere', async () => {
    await withFault(a3, 'reset', async () => {
      await expect(http(a3, 'GET', '/healthz')).rejects.toThrow();
      await setAgentFault(a3, '500');
      expect((await http(a3, 'GET', '/healthz')).status).toBe(500);
      expect((await http(a3, 'GET', '/version')).status).toBe(500);
      expect((await http(a3, 'POST', '/upgrade?version=9.9.9')).status).toBe(500);
      await expect(readAgentVersion(a3)).rejects.toMatchObject({ name: 'AgentRequestError', status: 500 });
    });
    expect((await readAgentVersion(a3)).version).toBe('1.0.0');
  });

  it('fault slow holds answers, and still answers (for how long: test/fleet/agent.test.ts, on fake time)', async () => {
    await withFault(a3, 'slow', async () => {
      expect((await readAgentStats(a3)).fault).toBe('slow');
      // 2 s added to every answer: a client giving up after 300 ms gets none (a slower machine only delays it more).
      await expect(http(a3, 'GET', '/healthz', 300)).rejects.toThrow();
      expect((await http(a3, 'GET', '/healthz', 10_000)).status).toBe(200);
    });
    expect((await readAgentStats(a3)).fault).toBe('none');
  });

  it('fault revert: the next upgrade reports success, then the agent comes back on its old version', async () => {
    await withFault(a3, 'revert', async () => {
      const up = await http(a3, 'POST', '/upgrade?version=2.0.0');
      expect(up.status).toBe(202);
      expect((await readAgentVersion(a3)).version).toBe('2.0.0');
      await pollUntil(
        'condition not met',
        3000,
        async () => (await http(a3, 'GET', '/healthz')).status === 200,
        EVERY_20_MS,
      );
      expect((await readAgentVersion(a3)).version).toBe('1.0.0');
      expect((await readAgentStats(a3)).fault).toBe('none');
    });
    // One-shot: the next upgrade sticks.
    await http(a3, 'POST', '/upgrade?version=2.0.0');
    await pollUntil(
      'condition not met',
      3000,
      async () => (await http(a3, 'GET', '/healthz')).status === 200,
      EVERY_20_MS,
    );
    expect((await readAgentVersion(a3)).version).toBe('2.0.0');
  });

  it('refuses unknown fault modes', async () => {
    expect((await http(a1, 'POST', '/_admin/fault?mode=explode')).status).toBe(400);
  });

  it('writes the inventory as YAML or JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-inv-'));
    try {
      await fleet.writeInventory(join(dir, 'inv', 'fleet.yaml'));
      await fleet.writeInventory(join(dir, 'fleet.json'));
      const yaml = parseYaml(readFileSync(join(dir, 'inv', 'fleet.yaml'), 'utf8')) as unknown;
      const json = JSON.parse(readFileSync(join(dir, 'fleet.json'), 'utf8')) as unknown;
      expect(yaml).toEqual({ targets: fleet.targets });
      expect(json).toEqual({ targets: fleet.targets });
      await expect(fleet.writeInventory(join(dir, 'fleet.txt'))).rejects.toBeInstanceOf(LocalFleetError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stop() ends every process, and is idempotent', async () => {
    const pids = [...fleet.pids];
    await fleet.stop();
    await fleet.stop();
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
    await expect(http(a1, 'GET', '/healthz', 500)).rejects.toThrow();
  });
});

describe('startLocalFleet errors', () => {
  it('refuses bad options before spawning anything', async () => {
    await expect(startLocalFleet({ count: 0, version: '1.0.0' })).rejects.toThrow(/count must be a positive integer/);
    await expect(startLocalFleet({ count: 1, version: 'bad version' })).rejects.toThrow(/not a valid agent version/);
    await expect(startLocalFleet({ count: 1, version: '1.0.0', idPrefix: 'a b' })).rejects.toThrow(/idPrefix/);
  });

  it('names a missing agent program', async () => {
    await expect(startLocalFleet({ count: 1, version: '1.0.0', agentScript: '/nonexistent/agent.js' })).rejects.toThrow(
      /agent program not found/,
    );
  });

  it('runs the agent from the TypeScript sources, bundled on the fly, when called from the sources', async () => {
    const cmd = await resolveAgentCommand();
    expect(cmd.mode).toBe('source');
    expect(cmd.command).toBe(process.execPath);
    expect(cmd.source).toMatch(/src[\\/]fleet[\\/]agent-main\.ts$/);
    expect(cmd.script).toMatch(/node_modules[\\/]\.cache[\\/]fleetgate[\\/]agent-[0-9a-f]+\.mjs$/);
    expect(cmd.args).toEqual([cmd.script]);
    // Once per process.
    expect((await resolveAgentCommand()).script).toBe(cmd.script);
  });
});
