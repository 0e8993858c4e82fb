/** Local-fleet helpers for the benchmarks: start a quiet fleet, check what every agent runs. */
import { readAgentVersion } from '../../src/fleet/client.js';
import { startLocalFleet, type LocalFleet } from '../../src/fleet/local-fleet.js';

/** A fleet of `count` agents on 127.0.0.1, 50 per process, no synthetic traffic (so only the rollout loads it). */
export function startBenchFleet(count: number, upgradeMs = 50, perProcess = 50): Promise<LocalFleet> {
  return startLocalFleet({
    count,
    version: '1.0.0',
    upgradeMs,
    agentsPerProcess: Math.min(perProcess, count),
    trafficRps: 0,
    idPrefix: 't-',
    startupTimeoutMs: 120_000,
  });
}

/** Runs `fn` over `items`, `limit` at a time. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** What every agent reports: version and upgrade count, by target id. */
export async function fleetVersions(fleet: LocalFleet): Promise<Map<string, { version: string; upgrades: number }>> {
  const reports = await mapLimit(fleet.targets, 64, async (t) => {
    const r = await readAgentVersion(t.address, { timeoutMs: 30_000 });
    return [t.id, { version: r.version, upgrades: r.upgrades }] as const;
  });
  return new Map(reports);
}

/**
 * Checks that a tool did the work: every agent now runs `version` and was
 * upgraded exactly once since `before`.
 * @throws Error naming the first agents that do not
 */
export async function assertUpgradedOnce(
  fleet: LocalFleet,
  before: Map<string, { upgrades: number }>,
  version: string,
  tool: string,
): Promise<Map<string, { version: string; upgrades: number }>> {
  const after = await fleetVersions(fleet);
  const wrong = [...after].filter(
    ([id, v]) => v.version !== version || v.upgrades !== (before.get(id)?.upgrades ?? 0) + 1,
  );
  if (wrong.length > 0) {
    throw new Error(
      `${tool} did not upgrade every agent exactly once to ${version}: ${wrong
        .slice(0, 5)
        .map(([id, v]) => `${id} runs ${v.version} after ${v.upgrades} upgrades`)
        .join('; ')}`,
    );
  }
  return after;
}
