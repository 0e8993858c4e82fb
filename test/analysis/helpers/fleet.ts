/** Local fleet helpers for the analysis tests: real agent processes on loopback. */
import { request } from 'undici';
import type { Target } from '../../../src/spec/types.js';
import { pollUntil } from '../../helpers/poll.js';

/** Moves an agent to `version` through its `POST /upgrade` (a simulated restart: counters start again). */
export async function upgradeAgent(target: Target, version: string): Promise<void> {
  const res = await request(`http://${target.address}/upgrade?version=${encodeURIComponent(version)}`, {
    method: 'POST',
    headersTimeout: 5000,
    bodyTimeout: 5000,
  });
  const body = await res.body.text();
  if (res.statusCode !== 200 && res.statusCode !== 202)
    throw new Error(`upgrade of ${target.id} to ${version}: HTTP ${res.statusCode} ${body}`);
}

/** Waits until the agent reports `version` and is ready again. */
export async function waitReady(target: Target, version: string, timeoutMs = 10_000): Promise<void> {
  await pollUntil(
    `${target.id} did not become ready on ${version}`,
    timeoutMs,
    async () => {
      // A throw: restarting.
      const res = await request(`http://${target.address}/version`, { headersTimeout: 2000, bodyTimeout: 2000 });
      const body = JSON.parse(await res.body.text()) as { version?: string; state?: string };
      return body.version === version && body.state === 'ready';
    },
    { intervalMs: 50 },
  );
}

/** Upgrades the targets and waits for each to be ready on the version. */
export async function upgradeAll(targets: readonly Target[], version: string): Promise<void> {
  await Promise.all(targets.map((t) => upgradeAgent(t, version)));
  await Promise.all(targets.map((t) => waitReady(t, version)));
}

/** Resolves after `ms` milliseconds of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}
