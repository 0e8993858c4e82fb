/**
 * Moving one target to a version — drain → upgrade → verify (polled) → version
 * read again → undrain → caughtUp (polled) — shared by upgrades and rollbacks, with the take-down
 * admitted by the tier's budget first, and the target's version read again after
 * any failed step (what it runs now is recorded, not assumed).
 */
import type { SettlingStepSpec, StepSpec } from '../spec/types.js';
import type { TargetState } from '../state/types.js';
import type { TakeDownAssessment } from './budget.js';
import type { BudgetGate } from './budget-gate.js';
import type { EngineCore } from './core.js';
import { Messages, Reasons, type Reason } from './reasons.js';
import { pollUntilHealthy } from './steps.js';
import { readConfigRevision } from './config-change.js';
import type { ConfigVars } from '../spec/types.js';
import type { TimedStep } from './timings.js';

/** How a move ended. */
export type MoveResult =
  | { ok: true }
  /** `blocked`: never taken down, the budget did not allow it; `stopped`: the run is stopping. */
  | { ok: false; why: string; blocked?: TakeDownAssessment; stopped?: boolean; reason?: Reason };

export interface MoveOptions {
  /** False when the target already runs the version: only verify (and undrain). */
  change: boolean;
  /** Runs before each step (the engine records the step there). */
  record: (step: string) => Promise<void>;
  during?: 'rollback';
  /** The tier's budget gate: the take-down waits for it (absent: no admission, e.g. verify only). */
  gate?: { gate: BudgetGate; tier: string; budget: number };
  /**
   * Called when the move failed after the take-down, before the target leaves the in-flight
   * set: the caller records it as failed (left drained) so no waiting take-down sees a gap.
   */
  markOut?: () => void;
  /** Checked before the take-down and while it waits for the budget: true stops it (a tripped breaker, the wave's tolerance). */
  shouldStop?: () => boolean;
  /**
   * Rollback of a target that may be down: a failed drain is recorded and the move goes on
   * to the upgrade (a dead target cannot be drained, but can be reinstalled).
   */
  tolerateFailedDrain?: boolean;
  /**
   * Only the configuration changes and the change is hot-reloadable (docs/config-rollouts.md):
   * the `reload` step instead of drain and upgrade; verify, version and revision read again; no
   * take-down, so no admission, no silence, no undrain.
   */
  reload?: boolean;
  /** The configuration the steps apply and the target must report after (default: the spec's). */
  config?: ConfigVars;
  /** Do not check the revision after (a rollback whose previous configuration was not recorded). */
  configUnchecked?: boolean;
}

/**
 * Moves `id` to `version`. The target is in flight (counted against its tier's budget)
 * from its admission to its confirmed undrain; after a failure it stays out of service
 * and the state's `Failed` phase counts it from then on.
 */
export async function moveTarget(
  c: EngineCore,
  waveId: string,
  id: string,
  version: string,
  opts: MoveOptions,
): Promise<MoveResult> {
  const steps = c.stepsFor(id);
  const vars = c.vars(c.target(id), version, opts.config ?? c.desiredConfig());
  const signal = c.d.signal;
  /** Records how long a step took since `startMs` (ms, on the engine's clock) for the wave's timings; not for rollbacks. */
  const lap = (name: TimedStep, startMs: number): void => {
    if (opts.during === undefined) c.timings.record(waveId, name, c.nowMs() - startMs);
  };
  const run = async (name: 'drain' | 'upgrade' | 'undrain' | 'reload', step: StepSpec): Promise<string | undefined> => {
    await opts.record(name);
    const r = await c.d.runner.run(step, vars, { signal });
    c.emit('target_step', {
      wave: waveId,
      target: id,
      step: name,
      ok: r.ok,
      durationMs: r.durationMs,
      during: opts.during,
    });
    const what = name === 'reload' ? `configuration ${vars.config?.revision ?? '?'}` : version;
    return r.ok ? undefined : `${name} to ${what} failed: ${r.message}`;
  };
  /** Polls a check until it passes, each probe an event (`check` names it when it is not a drain's `until`). */
  const poll = (
    check: Parameters<typeof pollUntilHealthy>[1],
    kind: 'caughtUp' | undefined,
    passed: string,
    label: string,
  ) =>
    pollUntilHealthy(
      c.d.runner,
      check,
      vars,
      c.d.clock,
      (probe, n) =>
        c.emit('target_health_check', {
          wave: waveId,
          target: id,
          healthy: probe.ok,
          probe: n,
          during: opts.during,
          ...(kind && { check: kind }),
          message: probe.ok ? passed : `${label}: ${probe.message}`,
        }),
      signal,
    );
  /**
   * After a drain or undrain step: its `grace`, then its `until` check polled like verify.
   * The caller goes on (upgrade; release of the target's slot) only once this passes.
   */
  const settle = async (name: 'drain' | 'undrain', step: SettlingStepSpec): Promise<string | undefined> => {
    if (step.graceMs !== undefined && step.graceMs > 0) await c.d.clock.sleep(step.graceMs, signal);
    if (step.until === undefined) return undefined;
    const r = await poll(step.until, undefined, `${name} until passed`, `${name} until`);
    if (r.ok) return undefined;
    return name === 'drain'
      ? `drain did not complete (until not passed within ${step.until.timeoutMs} ms, ${r.probes} probes): ${r.message}; not upgraded, left out of service`
      : `undrain not confirmed (until not passed within ${step.until.timeoutMs} ms, ${r.probes} probes): ${r.message}; left out of service`;
  };
  let admitted = false;
  let silenced = false;
  let moved = false;
  try {
    if (opts.change && opts.reload) {
      // A hot reload: the target stays in service; verify, version and revision are read below.
      const why = steps.reload ? await run('reload', steps.reload) : 'no reload step';
      if (why !== undefined) return { ok: false, why };
    } else if (opts.change) {
      if (opts.gate) {
        const admission = await opts.gate.gate.admit(opts.gate.tier, id, opts.gate.budget, opts.shouldStop);
        if (!admission.admitted) {
          return admission.stopped
            ? { ok: false, why: 'not taken down: the run is stopping', stopped: true }
            : { ok: false, why: 'not taken down: budget exhausted', blocked: admission.assessment };
        }
        admitted = true;
      }
      // Planned work: the target's alerts are silenced until it is back (spec alerts.silence).
      silenced = true;
      await c.alerts.silence(waveId, id, version, opts.during);
      if (steps.drain) {
        const drainStart = c.nowMs();
        const why = (await run('drain', steps.drain)) ?? (await settle('drain', steps.drain));
        lap('drain', drainStart);
        if (why !== undefined && !opts.tolerateFailedDrain) return { ok: false, why };
        if (why !== undefined)
          c.emit('target_observed', { wave: waveId, target: id, message: `${why}; going on (rollback)` });
      }
      const upgradeStart = c.nowMs();
      const why = await run('upgrade', steps.upgrade);
      lap('upgrade', upgradeStart);
      if (why !== undefined) return { ok: false, why };
    }
    await opts.record('verify');
    const verifyStart = c.nowMs();
    const health = await pollUntilHealthy(
      c.d.runner,
      steps.verify,
      vars,
      c.d.clock,
      (r, n) =>
        c.emit('target_health_check', {
          wave: waveId,
          target: id,
          healthy: r.ok,
          probe: n,
          during: opts.during,
          message: r.ok ? undefined : r.message,
        }),
      signal,
    );
    lap('verify', verifyStart);
    if (!health.ok) return { ok: false, why: `health check failed on ${version}: ${health.message}` };
    const ts = c.state.targets[id]!;
    const after = await c.d.runner.run(steps.version, vars, { extractVersion: true, signal });
    if (!after.ok) return { ok: false, why: `version step failed after moving to ${version}: ${after.message}` };
    recordVersion(ts, after.version);
    if (after.version !== version)
      return { ok: false, why: `reports ${after.version} after moving to ${version}, expected ${version}` };
    if (c.spec.config && vars.config && !opts.configUnchecked) {
      // Observed, not assumed: the target must report the revision it was given.
      const read = await readConfigRevision(c, id, vars);
      ts.config = read.ok ? read.revision : undefined;
      if (!read.ok)
        return { ok: false, why: `configRevision step failed after applying ${vars.config.revision}: ${read.message}` };
      if (read.revision !== vars.config.revision)
        return {
          ok: false,
          why: `reports configuration ${read.revision} after ${opts.reload ? 'reloading' : 'applying'} ${vars.config.revision}`,
        };
    }
    if (opts.reload) {
      moved = true;
      return { ok: true };
    }
    if (steps.undrain) {
      const undrainStart = c.nowMs();
      const why = (await run('undrain', steps.undrain)) ?? (await settle('undrain', steps.undrain));
      lap('undrain', undrainStart);
      if (why !== undefined) return { ok: false, why };
    }
    if (steps.caughtUp) {
      // Back, but not yet counted back: the next member goes down only once this one has caught up.
      await opts.record('caughtUp');
      const caughtUpStart = c.nowMs();
      const caught = await poll(steps.caughtUp, 'caughtUp', 'caught up', 'caughtUp');
      lap('caughtUp', caughtUpStart);
      if (!caught.ok)
        return {
          ok: false,
          why: Messages.notCaughtUp(id, version, steps.caughtUp.timeoutMs, caught.probes, caught.message),
          reason: Reasons.NotCaughtUp,
        };
    }
    moved = true;
    return { ok: true };
  } finally {
    if (silenced) await c.alerts.release(id);
    if (admitted) {
      if (!moved) opts.markOut?.();
      opts.gate!.gate.release(id, moved);
    }
  }
}

/** Records what a target reported: its version, or why it could not be read. */
export function recordVersion(ts: TargetState, version: string | undefined, unknown?: string): void {
  if (version !== undefined && version !== '') {
    ts.version = version;
    ts.versionUnknown = undefined;
  } else {
    ts.version = undefined;
    ts.versionUnknown = `unknown: ${unknown ?? 'empty answer'}`;
  }
}

/**
 * Reads a target's version again after a failed step and records it (observe, then
 * report): `status` and `drift` then show what it runs, not what it was moving to.
 */
export async function observeVersion(c: EngineCore, waveId: string, id: string, ts: TargetState): Promise<void> {
  if (c.aborted) return;
  const r = await c.d.runner.run(c.stepsFor(id).version, c.vars(c.target(id), c.spec.version), {
    extractVersion: true,
    signal: c.d.signal,
  });
  recordVersion(ts, r.ok ? r.version : undefined, r.ok ? undefined : r.message);
  if (r.ok && c.spec.config) {
    const read = await readConfigRevision(c, id, c.vars(c.target(id), c.spec.version));
    ts.config = read.ok ? read.revision : undefined;
  }
  c.emit('target_observed', {
    wave: waveId,
    target: id,
    version: ts.version,
    message: ts.versionUnknown,
    ...(ts.config !== undefined && { config: ts.config }),
  });
}
