/** What the `fleetgate github …` commands share: exit codes and the read-only preflight. */
import type { PreflightReport } from '../../engine/rollout.js';
import { openEngine, type LoadedRollout } from '../../app/session.js';
import { createStateBackend, type StateBackendFlags } from '../backend.js';

/** Exit codes shared with the CLI (see `ExitCode` in src/cli/main.ts). */
export const EXIT = { ok: 0, error: 1, paused: 3, rolledBack: 4, progressing: 6 } as const;

/** Gate callback for read-only sessions: nothing is approved. */
export const noGates = () => Promise.resolve({ approved: false, by: 'nobody' });

/** Probes every target read-only (versions, policy, skew) through an engine session that takes no lock. */
export async function preflightOf(loaded: LoadedRollout, flags: StateBackendFlags): Promise<PreflightReport> {
  const session = await openEngine(loaded, {
    emit: () => undefined,
    gates: noGates,
    lock: false,
    store: await createStateBackend(loaded.statePath, flags),
  });
  try {
    return await session.engine.preflightReport();
  } finally {
    await session.close();
  }
}

/** The longest observation window of the plan (ms). */
export function maxObserveMs(loaded: LoadedRollout): number {
  return Math.max(0, ...loaded.plan.waves.map((w) => w.observeMs));
}
