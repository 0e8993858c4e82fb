/**
 * The composition root: builds what a command needs from a spec path — the
 * validated spec, the inventory, the plan, and (for commands that change
 * things) an engine wired to its step runner, metric provider, state port and
 * the other rollouts' states, holding the rollout's lock. The one place the
 * parts are wired, shared by the CLI (`src/cli/`) and the GitHub commands
 * (`src/github/`); neither wires an engine itself.
 */
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { InventoryError } from '../errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import { combineSinks, type EventSink } from '../engine/events.js';
import { createNotifier, githubLinks } from './notify.js';
import { RolloutEngine, type GateApprover } from '../engine/rollout.js';
import type { StatePort } from '../state/port.js';
import { createStepRunner } from '../engine/steps.js';
import { loadInventory } from '../inventory/load.js';
import { createAlertmanagerClient } from '../analysis/alerts/client.js';
import { createProvider } from '../analysis/providers/index.js';
import { registerSecret } from '../util/secrets.js';
import { excludeFromPlan, planRollback, planRollout } from '../plan/plan.js';
import type { RollbackWave } from '../plan/rollback.js';
import type { RolloutPlan } from '../plan/types.js';
import { loadSpec } from '../spec/parse.js';
import { SpecValidationError } from '../spec/validation-error.js';
import { checkSpecAgainstInventory } from '../spec/inventory-rules.js';
import type { RolloutSpec, Target } from '../spec/types.js';
import { createLocalStatePort } from '../state/local-port.js';
import { acquireLock, type HeldLock } from '../state/lock.js';
import { statePathFor } from '../state/store.js';
import type { RolloutState } from '../state/types.js';
import { leaseClaimant } from '../engine/lease.js';
import { followRecordedReplacements } from './replacements.js';

export interface LoadedRollout {
  specPath: string;
  spec: RolloutSpec;
  targets: Target[];
  plan: RolloutPlan;
  statePath: string;
  /**
   * Set when the inventory could not be loaded and the targets were rebuilt from the state
   * instead (`recordedTargets`): what failed, to be shown as a warning.
   */
  inventoryFallback?: string;
}

/** Options of {@link loadRollout}. */
export interface LoadRolloutOptions {
  /**
   * For commands that return targets to a known version (rollback): when the inventory fails
   * (a discovery command that needs the member that is down), read the state with this and
   * use the targets it recorded (address and labels). Never for a forward rollout.
   */
  recorded?: () => Promise<RolloutState | undefined>;
  /**
   * Judge the targets the spec names (listed canaries and waves) against the loaded inventory and
   * throw on a mistake (default true). Commands that only read — status, drift — pass false, so
   * a target gone from a discovered inventory never hides what the state says.
   */
  judgeTargets?: boolean;
}

/**
 * Parses and validates the spec, loads the inventory, judges the spec's listed canaries and
 * waves against it (`checkSpecAgainstInventory`; not with `recorded`: a rollback), and plans.
 * Touches no target.
 * @throws SpecValidationError (every spec problem with its location), InventoryError (also
 *   with `recorded` when the state records no target address to fall back on)
 */
export async function loadRollout(specPath: string, opts: LoadRolloutOptions = {}): Promise<LoadedRollout> {
  const spec = await loadSpec(specPath);
  const {
    targets: listed,
    issues,
    where,
  } = await loadInventory(spec.inventory, {
    baseDir: dirname(resolve(specPath)),
    file: specPath,
  });
  const statePath = statePathFor(specPath);
  // Replace and blue-green tiers leave new targets in the place of old ones: the state says which.
  const targets = await followRecordedReplacements(spec, statePath, listed);
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length > 0) {
    const fallback = opts.recorded ? recordedTargets(await opts.recorded()) : [];
    if (fallback.length === 0) throw new InventoryError(errors);
    const why = errors.map((e) => e.message).join('; ');
    return {
      specPath,
      spec,
      targets: fallback,
      plan: excludeFromPlan(planRollout(spec, fallback), spec.exclude),
      statePath,
      inventoryFallback: `the inventory could not be loaded (${why}): using the ${fallback.length} target(s) the state recorded (addresses and labels as of the last run)`,
    };
  }
  // Listed canaries and waves name targets: judged now that a file or discovered inventory is read.
  // Not for a rollback (`recorded`): a canary id gone from the inventory never blocks going back.
  const judge = !opts.recorded && opts.judgeTargets !== false;
  const judged = judge
    ? await checkSpecAgainstInventory(
        specPath,
        spec,
        targets,
        // Where each listed target is written; replaced ones (the state's) are written nowhere.
        targets === listed ? where : undefined,
      )
    : undefined;
  if (judged && judged.errors.length > 0) throw new SpecValidationError(specPath, judged.errors, judged.warnings);
  // The spec's own exclusions are part of the plan (so `plan` and the PR comment show them).
  const plan = excludeFromPlan(planRollout(spec, targets), spec.exclude);
  return { specPath, spec, targets, plan, statePath };
}

/** The targets a state recorded with their address (and labels), in the state's order. */
export function recordedTargets(state: RolloutState | undefined): Target[] {
  if (!state) return [];
  return Object.entries(state.targets)
    .filter(([, t]) => typeof t.address === 'string' && t.address !== '')
    .map(([id, t]) => ({ id, address: t.address!, labels: { ...(t.labels ?? {}) } }));
}

/** Who runs this, for decisions and approvals: `github:<actor>` in Actions, else the OS user. */
export function currentActor(): string {
  if (process.env.GITHUB_ACTOR) return `github:${process.env.GITHUB_ACTOR}`;
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

export interface EngineSession {
  engine: RolloutEngine;
  loaded: LoadedRollout;
  /**
   * Resolves when every notification (spec `notify`) started so far was delivered or gave up
   * with a `notify_warning` event; call it before closing the output. Never rejects.
   */
  notified(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens an engine for `specPath`, holding the rollout's lock (`.fleetgate/<name>.lock`
 * beside the spec) until `close()`.
 * @throws RolloutLockedError when another run of the rollout is in progress
 */
export async function openEngine(
  loaded: LoadedRollout,
  opts: {
    emit: EventSink;
    gates: GateApprover;
    commit?: boolean;
    signal?: AbortSignal;
    clock?: Clock;
    /** Take the rollout's lock (default true; read-only commands pass false). */
    lock?: boolean;
    /** State port to use instead of the local file (e.g. the GitHub contents API backend). */
    store?: StatePort;
    /** Targets to leave out of this rollout (`--exclude`). */
    exclude?: string[];
  },
): Promise<EngineSession> {
  const clock = opts.clock ?? systemClock;
  const { spec, plan } = loaded;
  const lockPath = join(dirname(resolve(loaded.specPath)), '.fleetgate', `${spec.name}.lock`);
  const lock: HeldLock =
    opts.lock === false
      ? { path: lockPath, release: () => Promise.resolve() }
      : await acquireLock(lockPath, { owner: `fleetgate ${currentActor()}`, ttlMs: 60_000 });
  const runner = createStepRunner({ clock, baseDir: dirname(resolve(loaded.specPath)), ssh: spec.ssh });
  // Webhooks (spec notify) hear the same events as the CLI; their failures are only warnings.
  const notifier = spec.notify
    ? createNotifier({
        webhooks: spec.notify,
        env: process.env,
        mask: registerSecret,
        warn: opts.emit,
        links: githubLinks(process.env, loaded.statePath),
      })
    : undefined;
  const emit = notifier ? combineSinks(opts.emit, notifier.sink) : opts.emit;
  try {
    const store = opts.store ?? (await createLocalStatePort({ path: loaded.statePath, clock, commit: opts.commit }));
    const provider = spec.analysis
      ? createProvider(spec.analysis.provider, {
          env: process.env,
          mask: registerSecret,
          now: () => clock.now().getTime(),
        })
      : undefined;
    const engine = new RolloutEngine({
      analysis: provider ? { provider } : undefined,
      // Alertmanager as a gate and silences (spec alerts); the token is read and masked here.
      alerts: spec.alerts
        ? { client: createAlertmanagerClient(spec.alerts.alertmanager, { env: process.env, mask: registerSecret }) }
        : undefined,
      spec,
      specPath: loaded.specPath,
      targets: loaded.targets,
      plan,
      planRollback: (ids, leaders): RollbackWave[] => planRollback(spec, plan, ids, leaders),
      store,
      runner,
      clock,
      emit,
      gates: opts.gates,
      actor: currentActor(),
      signal: opts.signal,
      exclude: opts.exclude,
      // A backend shared by several machines (GitHub) keeps runs apart with a lease in the state.
      lease: store.shared ? leaseClaimant(currentActor()) : undefined,
    });
    return {
      engine,
      loaded,
      notified: async () => {
        await notifier?.flush();
      },
      async close() {
        await notifier?.flush();
        await runner.close();
        await lock.release();
      },
    };
  } catch (error) {
    await notifier?.flush();
    await runner.close();
    await lock.release();
    throw error;
  }
}
