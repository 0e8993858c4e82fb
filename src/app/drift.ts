/**
 * Drift: what each target reports (its `version` step) against what the state says it
 * should run (seed 001: drift report). Shared by `fleetgate drift` and the scheduled
 * drift check on GitHub (`fleetgate github drift`).
 */
import { systemClock } from '../util/clock.js';
import { createStepRunner } from '../engine/steps.js';
import { tierSteps } from '../spec/steps.js';
import type { RolloutState } from '../state/types.js';
import type { LoadedRollout } from './session.js';
import { dirname, resolve } from 'node:path';

export interface DriftEntry {
  target: string;
  expected?: string;
  reported?: string;
  message?: string;
  /**
   * With a config section (docs/config-rollouts.md): the configuration revision the state says
   * it runs and the one its configRevision step reports (absent: it answered none), when they differ.
   */
  expectedConfig?: string;
  reportedConfig?: string;
}

export interface DriftReport {
  rollout: string;
  checked: number;
  drifted: DriftEntry[];
}

/**
 * The version the state says `id` runs: the rollout's version for a finished target, else
 * what the target reported when last read (the engine reads it again after a failed step);
 * `undefined` when the state cannot say.
 */
export function expectedVersion(state: RolloutState | undefined, id: string): string | undefined {
  if (!state) return undefined;
  const t = state.targets[id];
  if (state.phase === 'Healthy') return state.toVersion;
  if (!t) return state.lastKnownGood;
  switch (t.phase) {
    case 'Succeeded':
      return state.toVersion;
    case 'RolledBack':
    case 'Pending':
      return t.version ?? t.from;
    default:
      // Failed, in progress, rollback failed: the version it reported when last read (after the failed step).
      return t.version;
  }
}

/**
 * The configuration revision the state says `id` runs, as {@link expectedVersion} for versions:
 * the rollout's for a finished target, else the one it reported last.
 */
export function expectedConfig(state: RolloutState | undefined, id: string): string | undefined {
  if (!state) return undefined;
  const t = state.targets[id];
  if (state.phase === 'Healthy') return state.toConfig ?? t?.config;
  if (!t) return state.lastKnownGoodConfig;
  switch (t.phase) {
    case 'Succeeded':
      return state.toConfig ?? t.config;
    case 'RolledBack':
    case 'Pending':
      return t.config ?? t.configFrom;
    default:
      return t.config;
  }
}

/** Probes every target in the inventory (read-only). */
export async function detectDrift(loaded: LoadedRollout, state: RolloutState | undefined): Promise<DriftReport> {
  const runner = createStepRunner({
    clock: systemClock,
    baseDir: dirname(resolve(loaded.specPath)),
    ssh: loaded.spec.ssh,
  });
  const drifted: DriftEntry[] = [];
  // Each target's tier as the planner assigned it (its steps may be the tier's own).
  const tierOf = new Map<string, string>();
  for (const t of loaded.plan.tiers) for (const id of t.targets) if (!tierOf.has(id)) tierOf.set(id, t.name);
  try {
    const queue = [...loaded.targets];
    const workers = Array.from({ length: Math.min(16, queue.length) }, async () => {
      for (let t = queue.shift(); t; t = queue.shift()) {
        const expected = expectedVersion(state, t.id) ?? loaded.spec.version;
        const tier = loaded.spec.tiers.find((x) => x.name === tierOf.get(t.id)) ?? loaded.spec.tiers[0]!;
        const steps = tierSteps(loaded.spec, tier);
        const vars = {
          target: t,
          version: expected,
          rollout: { name: loaded.spec.name },
          component: loaded.spec.component,
        };
        const r = await runner.run(steps.version, vars, { extractVersion: true });
        if (!r.ok) {
          drifted.push({ target: t.id, expected, message: r.message });
          continue;
        }
        const entry: DriftEntry = { target: t.id, expected, reported: r.version };
        let drift = r.version !== expected;
        // The configuration revision is compared like the version (docs/config-rollouts.md).
        const wanted = loaded.spec.config ? (expectedConfig(state, t.id) ?? loaded.spec.config.revision) : undefined;
        if (wanted !== undefined && steps.configRevision) {
          const c = await runner.run(steps.configRevision, vars, { extractVersion: true });
          const reported = c.ok ? c.version : undefined;
          if (reported !== wanted) {
            drift = true;
            entry.expectedConfig = wanted;
            if (reported !== undefined) entry.reportedConfig = reported;
          }
        }
        if (drift) drifted.push(entry);
      }
    });
    await Promise.all(workers);
  } finally {
    await runner.close();
  }
  drifted.sort((a, b) => a.target.localeCompare(b.target, 'en', { numeric: true }));
  return { rollout: loaded.spec.name, checked: loaded.targets.length, drifted };
}

/** The report for a terminal: one line, then one per drifted target. */
export function formatDrift(report: DriftReport): string {
  if (report.drifted.length === 0) return `${report.rollout}: no drift (${report.checked} targets checked)`;
  const lines = [`${report.rollout}: ${report.drifted.length} of ${report.checked} targets drifted`];
  for (const d of report.drifted) {
    const config =
      d.expectedConfig === undefined
        ? ''
        : `; configuration expected ${d.expectedConfig}, ${d.reportedConfig !== undefined ? `reports ${d.reportedConfig}` : 'reports none'}`;
    lines.push(
      `  ${d.target}: expected ${d.expected ?? '?'}, ${d.reported !== undefined ? `reports ${d.reported}` : `unreachable: ${d.message}`}${config}`,
    );
  }
  return lines.join('\n');
}
