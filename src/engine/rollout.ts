/**
 * The rollout engine: applies a plan wave by wave — drain, upgrade, verify,
 * undrain on each target, concurrently up to `maxUnavailable` and within the
 * tier's budget as observed — with a circuit breaker, a per-wave failure
 * tolerance, observation windows, gates, decisions and rollback. Every phase
 * reads the state, changes it and writes it back through `persistence.ts`: a
 * step that changes a target (drain, upgrade, undrain) and a hook's start are
 * on disk before they run; read-only steps (the version probe, verify) and a
 * target's outcome go with the next write without waiting for it (ADR 0002);
 * the state is committed (git) at the start, after each wave and at each stop.
 * So a run killed at any moment is continued by the next, which probes again
 * every target recorded in progress.
 *
 * Observe, then act: before a target is taken down its tier's members are
 * probed (`BudgetGate`); before a rollout starts every target's version is read
 * and judged (`assessReportedVersions`); after a failed step the target's
 * version is read again. The parts: `wave-runner.ts` (a wave's targets),
 * `observation.ts` (the window and its analysis), `rollback.ts`, `persistence.ts`
 * (the write chain) and `transitions.ts` (pure: what was observed → what next).
 */
import { assessScheduleHold, isScheduleHold } from './schedule-gate.js';
import type { RolloutSpec, StepSpec, Target } from '../spec/types.js';
import { excludeFromPlan } from '../plan/exclude.js';
import {
  type Condition,
  createEmptyState,
  type Decision,
  type RolloutPhase,
  type RolloutState,
  type ShardLeg,
  type StateLease,
  type WaveState,
} from '../state/types.js';
import {
  ConfigurationError,
  InvalidPhaseError,
  RolloutLockedError,
  RolloutPausedError,
  StateConflictError,
  TargetHeldError,
  VersionPolicyError,
} from '../errors.js';
import { judgeLease, LEASE_TTL_MS, leaseLive, newLease, type LeaseOptions } from './lease.js';
import { processAlive } from '../util/process.js';
import { EngineCore, type EngineDeps, type RunResult } from './core.js';
import { Leadership } from './leadership.js';
import { Observer, observedUntilMs } from './observation.js';
import { poolMap } from './pool.js';
import { Messages, Reasons, type Reason } from './reasons.js';
import { RollbackRunner } from './rollback.js';
import { decideAfterObservation, decideAfterWaveSteps, type Transition } from './transitions.js';
import { assessReportedVersions, prevailingVersion, type FleetVersionProblem } from './version-policy.js';
import { WaveRunner, type WaveRunResult } from './wave-runner.js';
import { retireOldPools, switchToNewPool } from './blue-green.js';
import { beginConfigRollout, configLabel, readConfigRevision, sameConfig } from './config-change.js';
import { notePause } from './timings.js';
import { assessShardedSteps, formatShardRef, shardBudget, shardLegKey, shardSlice, type ShardRef } from './shard.js';
import type { AlertTransition } from './alerts.js';
import type { AlertsCheck } from '../analysis/alerts/types.js';
import type { SloCheck } from '../analysis/slo/types.js';
import type { AnalysisAssessment } from '../analysis/extra-types.js';
import type { PlannedWave } from '../plan/types.js';

export { ENGINE_ACTOR, type EngineDeps, type GateApprover, type RunResult } from './core.js';

/** What `preflightReport` found. */
export interface PreflightReport {
  rollout: string;
  desired: string;
  /** Version the fleet is taken to run now (what most targets report). */
  current?: string;
  lastKnownGood?: string;
  phase: RolloutPhase;
  targets: number;
  /** Version → number of targets reporting it (version skew: more than one key). */
  versions: Record<string, number>;
  /**
   * With a spec `config`: the revision the spec asks for, and revision → number of targets
   * reporting it (`none`: no revision), read with the configRevision step.
   */
  config?: { desired: string | undefined; revisions: Record<string, number> };
  /** Targets whose version step did not answer. */
  unreachable: { id: string; message: string }[];
  /** Targets whose health check fails now (they use their tier's budget). */
  unhealthy: { id: string; message: string }[];
  /** Targets left out explicitly (spec `exclude`, `--exclude`). */
  excluded: string[];
  /** The first problem (kept for readers of the earlier report); `problems` has all. */
  policy: { ok: true } | { ok: false; reason: string; message: string };
  /** Every version-policy problem, judged per target on what it reports. */
  problems: FleetVersionProblem[];
  /** Per tier: its budget and the members out of service now. */
  budgets: { tier: string; budget: number; out: string[] }[];
  /**
   * Per quorum tier with a `leader` step: the member its step names now (it would go last),
   * or why it could not be told (`LeaderUnknown` would pause the rollout before the tier).
   */
  leaders?: { tier: string; leader?: string; message?: string }[];
  /**
   * What the alert gate (spec `alerts`) would find before the first wave now, over every planned
   * target (read-only; absent without `alerts`). Informative: it does not change `ok`.
   */
  alerts?: AlertsCheck;
  /**
   * What the error-budget gate (spec `slo`) would find before the next wave now (read-only;
   * absent without `slo`). Informative: it does not change `ok`.
   */
  slo?: SloCheck;
  ok: boolean;
}

export interface RunOptions {
  /** Roll out a version that was rolled back before (refused otherwise). */
  retryRolledBack?: boolean;
  /**
   * Complete at most this many waves in this run, then stop (`Progressing`). 0 only
   * finishes a wave whose observation window is being evaluated. One GitHub job per wave uses 1.
   */
  maxWaves?: number;
  /**
   * Do not wait an observation window out: record its end and stop (`Progressing`); a later
   * run (after an environment wait timer) evaluates the elapsed window. Keeps runners from sleeping.
   */
  deferObservation?: boolean;
  /**
   * Open the next wave for this many legs and stop (`Progressing`, `WaveSharded`): its gate, alert
   * gate and tier hook run here, once; then each leg runs with `shard`, and the next run without
   * either takes the wave's verdict. Refused for a quorum tier.
   */
  openShards?: number;
  /**
   * Run only this leg of the wave opened for `count` legs (see `src/engine/shard.ts`): its slice of
   * the targets, within its share of the budget, under its own lease; ends `Progressing`
   * (`ShardCompleted`) without a verdict.
   */
  shard?: ShardRef;
}

/** What the read-only probe of a target found: its version (and configuration revision), its health. */
interface ProbeEntry {
  version?: string;
  /** The revision its configRevision step reported (spec config; absent: none or unreadable). */
  config?: string;
  message: string;
  healthy?: boolean;
  healthMessage?: string;
}

/** Whether two label sets hold the same pairs (absent = none). */
function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  const kb = Object.keys(b ?? {});
  return ka.length === kb.length && ka.every((k) => a![k] === b![k]);
}

/** Phases in which a rollout holds its targets (no other rollout may touch them). */
const HOLDING_PHASES: readonly RolloutPhase[] = ['Progressing', 'Paused', 'RollingBack'];

export class RolloutEngine {
  private readonly c: EngineCore;
  private readonly waves: WaveRunner;
  private readonly observer: Observer;
  private readonly rollbacks: RollbackRunner;
  private readonly leadership: Leadership;

  constructor(d: EngineDeps) {
    this.c = new EngineCore(d);
    this.leadership = new Leadership(this.c);
    this.waves = new WaveRunner(this.c, this.leadership);
    this.observer = new Observer(this.c);
    this.rollbacks = new RollbackRunner(this.c);
  }

  private get spec(): RolloutSpec {
    return this.c.spec;
  }

  private async load(): Promise<RolloutState> {
    const c = this.c;
    c.state = (await c.d.store.read()) ?? createEmptyState(this.spec.name);
    this.applyExclusions();
    this.recordInventory();
    return c.state;
  }

  /**
   * Copies each recorded target's address and labels from the inventory (written with the
   * next write), so a rollback can still reach the targets when discovery fails.
   */
  private recordInventory(): void {
    const c = this.c;
    for (const t of c.d.targets) {
      const ts = c.state.targets[t.id];
      if (!ts) continue;
      if (ts.address !== t.address) ts.address = t.address;
      const labels = Object.keys(t.labels).length > 0 ? t.labels : undefined;
      if (!sameLabels(ts.labels, labels)) ts.labels = labels && { ...labels };
    }
  }

  /** The plan without the excluded targets: the spec's, the command line's and (mid-rollout) the state's. */
  private applyExclusions(): void {
    const c = this.c;
    const s = c.state;
    const inFlight = HOLDING_PHASES.includes(s.phase);
    const excluded = [
      ...new Set([...this.spec.exclude, ...(c.d.exclude ?? []), ...(inFlight ? (s.excluded ?? []) : [])]),
    ];
    c.plan = excludeFromPlan(c.d.plan, excluded);
    this.leadership.reset(c.plan);
    if (excluded.length > 0 && inFlight) s.excluded = excluded;
  }

  // ---------------------------------------------------------------- use cases

  /**
   * `fleetgate run`: starts a rollout to the spec's version, or continues the
   * one in progress (after a crash) from the last persisted state.
   * @throws VersionPolicyError, InvalidPhaseError (paused, rolled-back version, targets held by another rollout), StateConflictError, StateWriteError
   */
  run(opts: RunOptions = {}): Promise<RunResult> {
    if (opts.shard) return this.runShard(opts.shard);
    return this.leased(() => this.runLoaded(opts));
  }

  private async runLoaded(opts: RunOptions): Promise<RunResult> {
    await this.c.alerts.expireLeftovers();
    const state = this.c.state;
    const desired = this.spec.version;
    if (state.phase === 'Paused' && state.condition?.reason !== Reasons.GatePending) {
      throw new RolloutPausedError(
        `rollout ${this.spec.name} is paused: ${state.condition?.message ?? 'no reason recorded'}. ${Messages.decide(this.c.d.specPath)}`,
      );
    }
    if (state.phase === 'RollingBack') return this.rollbacks.rollbackTouched('resume');
    const inFlight = state.phase === 'Progressing' || state.phase === 'Paused';
    // The desired state is the version and, with a config section, the configuration revision.
    const wantedConfig = this.spec.config?.revision;
    if (inFlight && (state.toVersion !== desired || !sameConfig(this.spec, state.toConfig))) {
      throw new InvalidPhaseError(
        `rollout ${this.spec.name} to ${state.toVersion}${configLabel(state.toConfig)} is still in progress (phase ${state.phase}) but the spec now asks for ${desired}${configLabel(wantedConfig)}: finish it, or stop it with \`fleetgate resume --decision abort\` or \`--decision rollback\` first`,
      );
    }
    if (!inFlight) {
      if (
        state.toVersion === desired &&
        sameConfig(this.spec, state.toConfig) &&
        (state.phase === 'Healthy' || (state.phase === 'RolledBack' && state.isRollback))
      ) {
        const at = `${desired}${configLabel(wantedConfig)}`;
        this.c.emit('rollout_completed', { version: desired, message: `already ${state.phase} at ${at}` });
        return { outcome: 'Healthy', state, reason: Reasons.AlreadyAtVersion, message: `already at ${at}` };
      }
      if (
        state.rolledBackFrom === desired &&
        (wantedConfig === undefined || state.rolledBackFromConfig === wantedConfig) &&
        !opts.retryRolledBack
      ) {
        throw new InvalidPhaseError(
          `${desired}${configLabel(state.rolledBackFromConfig)} was rolled back (${state.condition?.message ?? ''}); change the spec's version${wantedConfig === undefined ? '' : ' or configuration'}, or pass --retry-rolled-back to try it again`,
        );
      }
      await this.assertTargetsFree();
      await this.start(desired);
    } else {
      await this.assertTargetsFree();
    }
    return this.proceed(opts);
  }

  /**
   * `fleetgate resume --decision`: answers a pause (breaker trip, failed wave or observation, pending gate,
   * exhausted budget, failed hook). `continue` goes on (accepting the current wave's failures; a failed
   * hook runs again first), `rollback` returns every touched target to the version it ran before
   * (failed ones first), `abort` stops where it is (seed 001).
   * @throws InvalidPhaseError when the rollout is not paused
   */
  resume(decision: Decision, reason?: string, opts: RunOptions = {}): Promise<RunResult> {
    return this.leased(() => this.resumeLoaded(decision, reason, opts));
  }

  private async resumeLoaded(decision: Decision, reason: string | undefined, opts: RunOptions): Promise<RunResult> {
    const c = this.c;
    await c.alerts.expireLeftovers();
    const state = c.state;
    const decidable: RolloutPhase[] = ['Paused', 'Progressing', 'Degraded'];
    if (!decidable.includes(state.phase) || (state.phase === 'Degraded' && decision === 'abort')) {
      throw new InvalidPhaseError(`rollout ${this.spec.name} is ${state.phase}: there is nothing to ${decision}`);
    }
    state.decisions.push({ at: c.now(), decision, by: c.d.actor, reason, wave: state.currentWave });
    c.emit('decision_recorded', { decision, by: c.d.actor, reason, wave: state.currentWave });
    if (decision === 'abort') {
      state.phase = 'Degraded';
      c.setCondition(
        Reasons.Aborted,
        `aborted by ${c.d.actor} at ${state.currentWave ?? 'start'}${reason ? `: ${reason}` : ''}; ${c.touchedSummary()}`,
      );
      c.pushHistory();
      await c.persistAndCommit(
        `fleetgate: ${this.spec.name} aborted at ${state.currentWave ?? 'start'} (${c.versions()})`,
      );
      c.emit('rollout_degraded', { reason: Reasons.Aborted, message: state.condition!.message });
      return { outcome: 'Degraded', state, reason: Reasons.Aborted, message: state.condition!.message };
    }
    if (decision === 'rollback') return this.rollbacks.rollbackTouched(reason ?? 'rollback decision');
    // continue
    if (state.condition?.reason === Reasons.GatePending) {
      const gate = state.condition.gate;
      if (gate) state.approvals.push({ at: c.now(), gate, by: c.d.actor });
    }
    state.breaker.consecutiveFailures = 0;
    state.phase = 'Progressing';
    c.setCondition(Reasons.DecisionContinue, `continued by ${c.d.actor}${reason ? `: ${reason}` : ''}`);
    await c.persistAndCommit(
      `fleetgate: ${this.spec.name} continue at ${state.currentWave ?? 'start'} (${c.versions()})`,
    );
    await this.assertTargetsFree();
    return this.proceed(opts);
  }

  /**
   * `fleetgate rollback [--to version]`: the fleet back to `version` (default: last known
   * good; without one, each target to the version it ran before), in the rollback's waves.
   * Does nothing (outcome `Healthy`, reason `NothingToRollBack`) when every target already runs it.
   * @throws VersionPolicyError (`UnknownRollbackVersion`) when `version` is not a version the fleet ran;
   *   InvalidPhaseError when nothing says where to go back to; TargetHeldError
   */
  rollbackTo(version: string | undefined, reason?: string): Promise<RunResult> {
    return this.leased(async () => {
      await this.c.alerts.expireLeftovers();
      await this.assertTargetsFree();
      return this.rollbacks.rollbackTo(version, reason);
    });
  }

  // ---------------------------------------------------------------- the run's lease

  /**
   * Loads the state and, on a shared backend, holds the rollout's lease in it while `work`
   * runs: taken (a compare-and-swap commit) before any target is touched, renewed every
   * third of its length, removed at the end whatever happened.
   * @throws RolloutLockedError when another run holds the lease (nothing was touched)
   */
  private async leased(work: () => Promise<RunResult>): Promise<RunResult> {
    await this.load();
    const lease = this.c.d.lease;
    if (!lease) return work();
    await this.takeLease(lease);
    const stop = new AbortController();
    const renewal = this.renewLease(lease, stop.signal);
    try {
      return await work();
    } finally {
      stop.abort();
      await renewal;
      await this.releaseLease(lease);
    }
  }

  /** @throws RolloutLockedError naming the holder and when its lease ends; StateConflictError, StateWriteError */
  private async takeLease(me: LeaseOptions): Promise<void> {
    const c = this.c;
    const verdict = judgeLease(c.state.lease, me, c.nowMs(), processAlive);
    if (!verdict.free) throw new RolloutLockedError(`rollout ${this.spec.name}: ${verdict.message}`);
    if (verdict.takeOver) c.emit('lease_taken_over', { message: verdict.takeOver });
    // A leg of a sharded wave still running holds every other run off too (a dispatched rollback).
    this.assertNoLiveLeg(me);
    c.state.lease = newLease(me, c.nowMs(), me.ttlMs ?? LEASE_TTL_MS);
    try {
      await c.persistAndCommit(`fleetgate: ${this.spec.name} run started (lease for ${me.holder})`);
    } catch (error) {
      // Lost the compare-and-swap: when the winner's lease is the reason, say whose it is.
      if (!(error instanceof StateConflictError)) throw error;
      const fresh = await c.d.store.read();
      const again = judgeLease(fresh?.lease, me, c.nowMs(), processAlive);
      if (!again.free) throw new RolloutLockedError(`rollout ${this.spec.name}: ${again.message}`);
      if (fresh) this.assertNoLiveLeg(me, fresh);
      throw error;
    }
    c.emit('lease_taken', { holder: me.holder, expiresAt: c.state.lease.expiresAt });
  }

  /**
   * @throws RolloutLockedError when a leg of a sharded wave holds a live lease of its own
   *   (expired ones, and those of a process gone on this host, hold nobody off)
   */
  private assertNoLiveLeg(me: LeaseOptions, state: RolloutState = this.c.state): void {
    for (const leg of Object.values(state.shardLegs ?? {})) {
      const held = judgeLease(leg.lease, me, this.c.nowMs(), processAlive);
      if (!held.free)
        throw new RolloutLockedError(
          `rollout ${this.spec.name}: shard ${leg.shard}/${leg.of} of ${leg.wave} is running (${held.message.replace(/^another run holds this rollout: /, '')})`,
        );
    }
  }

  /**
   * Renews the lease `slot()` returns while it is `key`'s, every third of its length.
   * @param slot - the run's lease (`state.lease`) or a leg's (`shardLegs[…].lease`)
   */
  private async renewLease(
    me: LeaseOptions,
    signal: AbortSignal,
    slot: () => StateLease | undefined = () => this.c.state.lease,
    key: string = me.key,
  ): Promise<void> {
    const c = this.c;
    const ttl = me.ttlMs ?? LEASE_TTL_MS;
    for (;;) {
      await c.d.clock.sleep(ttl / 3, signal);
      const lease = slot();
      if (signal.aborted || lease?.key !== key) return;
      lease.expiresAt = new Date(c.nowMs() + ttl).toISOString();
      try {
        await c.persistAndCommit(`fleetgate: ${this.spec.name} lease renewed until ${lease.expiresAt}`);
      } catch (error) {
        // The run's own next write or commit fails the same way and stops it.
        c.emit('lease_renewal_failed', { message: error instanceof Error ? error.message : String(error) });
      }
    }
  }

  private async releaseLease(me: LeaseOptions): Promise<void> {
    const c = this.c;
    const lease = c.state.lease;
    if (lease?.key !== me.key) return;
    delete c.state.lease;
    try {
      await c.persistAndCommit(`fleetgate: ${this.spec.name} run ended (lease released)`);
      c.emit('lease_released', { holder: me.holder });
    } catch (error) {
      c.emit('lease_release_failed', {
        message: `${error instanceof Error ? error.message : String(error)}; the lease ends by itself at ${lease.expiresAt}`,
      });
    }
  }

  // ---------------------------------------------------------------- a leg of a sharded wave

  /**
   * `fleetgate run --shard i/N`: moves leg `ref`'s slice of the wave opened for N legs (see
   * `src/engine/shard.ts`), within its share of the tier's budget, under a lease of its own in
   * `shardLegs` (other legs run beside it; any other run is held off by it, and it by a run's
   * lease). It writes only its slice's targets and its own entry, and takes no verdict.
   * @throws InvalidPhaseError when no wave is open for N legs; ConfigurationError for a quorum tier;
   *   RolloutLockedError; StateConflictError, StateWriteError
   */
  private async runShard(ref: ShardRef): Promise<RunResult> {
    const c = this.c;
    await this.load();
    const { wave } = this.shardedWave(ref);
    const s = c.state;
    const tier = c.plan.tiers.find((t) => t.name === wave.tier);
    const slice = shardSlice(wave.targets, ref);
    const mine = new Set(slice);
    const share = shardBudget(Math.min(tier?.budget ?? wave.maxUnavailable, wave.maxUnavailable), ref);
    const key = shardLegKey(wave.id, ref);
    const label = `shard ${formatShardRef(ref)} of ${wave.id}`;
    await this.assertTargetsFree();
    const lease = c.d.lease;
    const claim = lease && { ...lease, key: `${lease.key}#${formatShardRef(ref)}`, holder: `${lease.holder} ${label}` };
    if (lease && claim) {
      const run = judgeLease(s.lease, lease, c.nowMs(), processAlive);
      if (!run.free) throw new RolloutLockedError(`rollout ${this.spec.name}: ${run.message}`);
      const own = judgeLease(s.shardLegs?.[key]?.lease, claim, c.nowMs(), processAlive);
      if (!own.free) throw new RolloutLockedError(`rollout ${this.spec.name}: ${own.message}`);
    }
    const leg: ShardLeg = {
      wave: wave.id,
      shard: ref.index,
      of: ref.count,
      holder: claim?.holder ?? c.d.actor,
      ...(claim && { lease: newLease(claim, c.nowMs(), claim.ttlMs ?? LEASE_TTL_MS) }),
      startedAt: c.now(),
      budget: share,
      targets: slice.length,
    };
    (s.shardLegs ??= {})[key] = leg;
    try {
      await c.persistAndCommit(`fleetgate: ${this.spec.name} ${c.waveLabel(wave)} ${label} started (${leg.holder})`);
    } catch (error) {
      // Lost the compare-and-swap to a run that took the rollout's lease: say whose it is.
      if (!(error instanceof StateConflictError) || !lease) throw error;
      const fresh = await c.d.store.read();
      const again = judgeLease(fresh?.lease, lease, c.nowMs(), processAlive);
      if (!again.free) throw new RolloutLockedError(`rollout ${this.spec.name}: ${again.message}`);
      throw error;
    }
    c.emit('shard_started', { wave: wave.id, shard: formatShardRef(ref), targets: slice.length, budget: share });
    const stop = new AbortController();
    const renewal = claim
      ? this.renewLease(claim, stop.signal, () => c.state.shardLegs?.[key]?.lease, claim.key)
      : Promise.resolve();
    try {
      let ran: WaveRunResult = {};
      // With no share (fewer members may be out than there are legs) the slice is left to the verdict run.
      if (share > 0) {
        ran = await this.waves.applyWave(wave, s.toVersion!, {
          targets: slice,
          budget: share,
          ignore: new Set(wave.targets.filter((id) => !mine.has(id))),
        });
      }
      leg.finishedAt = c.now();
      leg.succeeded = slice.filter((id) => s.targets[id]?.phase === 'Succeeded').length;
      leg.failed = slice.filter((id) => s.targets[id]?.phase === 'Failed').length;
      if (ran.trip) leg.breakerTripped = ran.trip;
      if (ran.budgetExhausted !== undefined) leg.budgetExhausted = ran.budgetExhausted;
      if (c.aborted) {
        // Not `interrupted()`: the rollout's condition is not a leg's to change (the legs' commits merge).
        leg.finishedAt = undefined;
        await c.persist();
        return {
          outcome: 'Paused',
          state: s,
          reason: Reasons.Interrupted,
          message: `${label} interrupted; run it again to continue`,
        };
      }
      const message =
        share === 0
          ? `${label}: no share of the budget (${tier?.budget ?? wave.maxUnavailable} out at once over ${ref.count} legs): its ${slice.length} target(s) are left to the verdict run`
          : `${label}: ${leg.succeeded} succeeded, ${leg.failed} failed of ${slice.length}${ran.breakerTripped ? `; ${ran.breakerTripped}` : ''}${ran.budgetExhausted ? `; ${ran.budgetExhausted}` : ''}; the wave's verdict is taken by the next run without --shard`;
      c.emit('shard_completed', {
        wave: wave.id,
        shard: formatShardRef(ref),
        succeeded: leg.succeeded,
        failed: leg.failed,
        message,
      });
      await c.persistAndCommit(
        `fleetgate: ${this.spec.name} ${c.waveLabel(wave)} ${label} done (${leg.succeeded} ok, ${leg.failed} failed)`,
      );
      return { outcome: 'Progressing', state: s, reason: Reasons.ShardCompleted, message };
    } finally {
      stop.abort();
      await renewal;
      if (claim && leg.lease?.key === claim.key) {
        delete leg.lease;
        try {
          await c.persistAndCommit(`fleetgate: ${this.spec.name} ${label} ended (lease released)`);
          c.emit('lease_released', { holder: claim.holder });
        } catch (error) {
          c.emit('lease_release_failed', {
            message: `${error instanceof Error ? error.message : String(error)}; the lease ends by itself`,
          });
        }
      }
    }
  }

  /**
   * The wave a leg runs in: the rollout's next unfinished wave, opened for `ref.count` legs.
   * @throws InvalidPhaseError naming what is the case and the command that opens it; ConfigurationError for a quorum tier
   */
  private shardedWave(ref: ShardRef): { wave: PlannedWave; ws: WaveState } {
    const c = this.c;
    const s = c.state;
    const name = this.spec.name;
    if (s.phase !== 'Progressing' || s.toVersion !== this.spec.version)
      throw new InvalidPhaseError(
        `rollout ${name} is ${s.phase}${s.toVersion ? ` (to ${s.toVersion})` : ''}: a shard runs only in a wave of ${this.spec.version} opened for it with \`fleetgate run --open-shards ${ref.count}\``,
      );
    const wave = c.plan.waves.find((w) => s.waves.find((x) => x.id === w.id)?.phase !== 'Completed');
    const ws = wave && s.waves.find((w) => w.id === wave.id);
    if (!wave || !ws) throw new InvalidPhaseError(`rollout ${name} has no wave left to run`);
    this.refuseQuorumShards(wave);
    if (ws.phase !== 'Progressing' || ws.shards !== ref.count)
      throw new InvalidPhaseError(
        `${wave.id} is ${ws.phase}${ws.shards ? ` and open for ${ws.shards} legs` : ', not open for legs'}: open it with \`fleetgate run --open-shards ${ref.count}\` first (the verdict run without --shard decides it)`,
      );
    return { wave, ws };
  }

  /** @throws ConfigurationError: a quorum tier goes one member at a time, leader last, and is never sharded */
  private refuseQuorumShards(wave: PlannedWave): void {
    if (this.c.plan.tiers.find((t) => t.name === wave.tier)?.quorum)
      throw new ConfigurationError(
        `tier ${wave.tier} is a quorum tier: its members go one at a time, the leader last, and it is never split across shards; run ${wave.id} without --shard/--open-shards`,
      );
  }

  /**
   * The verdict's reading of a sharded wave's legs: the breaker over every finished target in the
   * order they finished, a leg's trip or refused take-down. Records the trip and the breaker's
   * count in the state and removes the wave's legs (their outcomes are in the targets). A leg still
   * running never gets here: its lease holds this run off (`takeLease`), the lock file locally.
   */
  private assessLegs(wave: PlannedWave): { breakerTripped?: string; budgetExhausted?: string } {
    const c = this.c;
    const s = c.state;
    const entries = Object.entries(s.shardLegs ?? {}).filter(([, l]) => l.wave === wave.id);
    const assessed = assessShardedSteps({
      waveTargets: wave.targets,
      targets: s.targets,
      legs: entries.map(([, l]) => l),
      consecutiveFailures: s.breaker.consecutiveFailures,
      max: c.tierOf(wave).strategy.circuitBreaker.maxConsecutiveFailures,
      reason: Messages.breakerTripped,
    });
    s.breaker.consecutiveFailures = assessed.consecutiveFailures;
    if (assessed.breakerTripped) {
      const trip = { at: c.now(), wave: wave.id, ...assessed.breakerTripped };
      s.breaker.trips.push(trip);
      c.emit('circuit_breaker_tripped', { wave: wave.id, failedTargets: trip.failedTargets, reason: trip.reason });
    }
    for (const [key] of entries) delete s.shardLegs![key];
    // Read once: a `continue` after a pause goes on with the wave as one run.
    const ws = s.waves.find((w) => w.id === wave.id);
    if (ws) ws.shards = undefined;
    if (s.shardLegs && Object.keys(s.shardLegs).length === 0) delete s.shardLegs;
    c.emit('shards_assessed', {
      wave: wave.id,
      legs: entries.length,
      ...(assessed.breakerTripped && { breakerTripped: assessed.breakerTripped.reason }),
      ...(assessed.budgetExhausted !== undefined && { budgetExhausted: assessed.budgetExhausted }),
    });
    return {
      ...(assessed.breakerTripped && { breakerTripped: assessed.breakerTripped.reason }),
      ...(assessed.budgetExhausted !== undefined && { budgetExhausted: assessed.budgetExhausted }),
    };
  }

  /**
   * Read-only preflight for `fleetgate preflight` and pull-request checks: every target's
   * version and health, the version policy judged per target, the budgets. Touches nothing.
   */
  async preflightReport(): Promise<PreflightReport> {
    const c = this.c;
    const state = (await c.d.store.read()) ?? createEmptyState(this.spec.name);
    c.state = state;
    this.applyExclusions();
    const probes = await this.probeFleet(true);
    const unreachable = [...probes]
      .filter(([, p]) => p.version === undefined)
      .map(([id, p]) => ({ id, message: p.message }));
    const unhealthy = [...probes]
      .filter(([, p]) => p.healthy === false)
      .map(([id, p]) => ({ id, message: p.healthMessage ?? 'unhealthy' }));
    const versions: Record<string, number> = {};
    for (const p of probes.values()) if (p.version !== undefined) versions[p.version] = (versions[p.version] ?? 0) + 1;
    const revisions: Record<string, number> = {};
    for (const p of probes.values())
      if (p.version !== undefined) revisions[p.config ?? 'none'] = (revisions[p.config ?? 'none'] ?? 0) + 1;
    const problems = this.versionProblems(probes);
    const down = new Set([...unhealthy.map((u) => u.id), ...unreachable.map((u) => u.id)]);
    const budgets = c.plan.tiers.map((t) => ({
      tier: t.name,
      budget: t.budget,
      out: t.targets.filter((id) => down.has(id)),
    }));
    const first = problems[0];
    const alerts = await c.alerts.preview();
    const slo = await c.slo.preview();
    const leaders = await this.observeLeaders();
    return {
      ...(alerts ? { alerts } : {}),
      ...(slo ? { slo } : {}),
      rollout: this.spec.name,
      desired: this.spec.version,
      ...(this.spec.config && { config: { desired: this.spec.config.revision, revisions } }),
      current: prevailingVersion(Object.keys(versions)),
      lastKnownGood: state.lastKnownGood,
      phase: state.phase,
      targets: probes.size,
      versions,
      unreachable,
      unhealthy,
      excluded: c.plan.tiers.flatMap((t) => t.excluded ?? []),
      policy: first
        ? { ok: false, reason: first.reason, message: problems.map((p) => p.message).join('; ') }
        : { ok: true },
      problems,
      budgets,
      ...(leaders.length > 0 && { leaders }),
      // Not ready when a tier's members out now use its whole budget (no healthy member could
      // go down), or a quorum tier's leader cannot be told (the rollout would pause before it).
      ok:
        problems.length === 0 &&
        budgets.every((b) => b.out.length < b.budget) &&
        leaders.every((l) => l.leader !== undefined),
    };
  }

  /** Read-only: each quorum tier's `leader` step, asked now (for preflight). */
  private async observeLeaders(): Promise<NonNullable<PreflightReport['leaders']>> {
    const leadership = new Leadership(this.c);
    const out: NonNullable<PreflightReport['leaders']> = [];
    for (const tier of this.c.plan.tiers) {
      const step = tier.quorum ? leadership.leaderStep(tier.name) : undefined;
      if (!step) continue;
      const reading = await leadership.read(tier.name, step);
      out.push(
        reading.ok ? { tier: tier.name, leader: reading.leader } : { tier: tier.name, message: reading.message },
      );
    }
    return out;
  }

  // ---------------------------------------------------------------- rollout

  /** Reads every planned target's version (and, for the report, its health): read-only, concurrent, bounded. */
  private async probeFleet(withHealth: boolean): Promise<Map<string, ProbeEntry>> {
    const c = this.c;
    const ids = c.plan.waves.flatMap((w) => w.targets);
    return poolMap(
      ids,
      c.d.probeConcurrency ?? 16,
      () => false,
      async (id) => {
        const vars = c.vars(c.target(id), this.spec.version);
        const steps = c.stepsFor(id);
        const verify = { ...steps.verify, retries: 0, timeoutMs: Math.min(steps.verify.timeoutMs, 5_000) };
        const r = await c.d.runner.run(steps.version, vars, { extractVersion: true, signal: c.d.signal });
        const entry: ProbeEntry = { version: r.ok ? r.version : undefined, message: r.message };
        if (r.ok && this.spec.config) {
          // The configuration revision is observed like the version (docs/config-rollouts.md).
          const read = await readConfigRevision(c, id, vars);
          if (read.ok) entry.config = read.revision;
        }
        if (withHealth && r.ok) {
          const h = await c.d.runner.run(verify, vars, { signal: c.d.signal });
          entry.healthy = h.ok;
          if (!h.ok) entry.healthMessage = h.message;
        }
        return entry;
      },
    );
  }

  private versionProblems(probes: Map<string, { version?: string; message: string }>): FleetVersionProblem[] {
    const c = this.c;
    return assessReportedVersions({
      reported: [...probes].map(([id, p]) => ({
        id,
        tier: c.tierNameOf(id) ?? '',
        version: p.version,
        message: p.message,
      })),
      desired: this.spec.version,
      policy: this.spec.versionPolicy,
      isRollback: false,
    });
  }

  /**
   * Refuses to go on while another rollout of the repository holds one of this one's targets.
   * @throws InvalidPhaseError naming the rollout and the targets
   */
  private async assertTargetsFree(): Promise<void> {
    const c = this.c;
    // Given by the caller, else the states kept beside this one on the same backend.
    const others = c.d.otherRollouts ?? (c.d.store.siblings ? () => c.d.store.siblings!() : undefined);
    if (!others) return;
    const mine = new Set(c.plan.waves.flatMap((w) => w.targets));
    const myLease = c.state.lease;
    for (const other of await others()) {
      if (other.name === this.spec.name) continue;
      // A rollout holds its targets while in flight, and while a run of it that leased
      // before this one is starting (two starts at once: the earlier lease goes on).
      const starting =
        leaseLive(other.lease, c.nowMs()) && (myLease === undefined || other.lease!.acquiredAt < myLease.acquiredAt);
      if (!HOLDING_PHASES.includes(other.phase) && !starting) continue;
      const excluded = new Set(other.excluded ?? []);
      const held = Object.keys(other.targets).filter((id) => mine.has(id) && !excluded.has(id));
      if (held.length > 0)
        throw new TargetHeldError(Messages.targetHeld(other.name, other.phase, held), other.name, held);
    }
  }

  /** Preflight (read-only: every target's version, judged per target) and the start of a new rollout. */
  private async start(desired: string): Promise<void> {
    const c = this.c;
    const s = c.state;
    const probes = await this.probeFleet(false);
    const problems = this.versionProblems(probes);
    if (problems.length > 0) {
      throw new VersionPolicyError(
        problems[0]!.reason,
        `preflight: ${problems.map((p) => p.message).join('; ')}${
          problems.some((p) => p.reason === 'Unreachable') ? '' : `; ${desired} refused, nothing was touched`
        }`,
      );
    }
    const reported = [...probes.values()].map((p) => p.version!);
    const current = prevailingVersion(reported);
    c.emit('preflight_completed', { targets: probes.size, versions: [...new Set(reported)], current, desired });

    const excluded = c.plan.tiers.flatMap((t) => t.excluded ?? []);
    const fresh = createEmptyState(this.spec.name);
    Object.assign(s, {
      ...fresh,
      revision: s.revision,
      lastKnownGood: s.lastKnownGood,
      history: s.history,
      phase: 'Progressing' as const,
      fromVersion: current,
      toVersion: desired,
      startedAt: c.now(),
      // Nothing of the last rollout's own records carries over (its hooks ran for it, not for this one).
      isRollback: undefined,
      hooks: undefined,
      excluded: excluded.length > 0 ? excluded : undefined,
      pools: undefined,
    });
    c.setCondition(Reasons.RolloutStarted, `rollout ${current ?? '?'} → ${desired} started by ${c.d.actor}`);
    for (const w of c.plan.waves) s.waves.push({ id: w.id, phase: 'Pending', targets: w.targets });
    for (const [id, p] of probes) s.targets[id] = { phase: 'Pending', from: p.version, version: p.version };
    beginConfigRollout(c, probes);
    if (s.toConfig !== undefined)
      c.setCondition(Reasons.RolloutStarted, `rollout ${c.versions()} started by ${c.d.actor}`);
    this.recordInventory();
    c.emit('rollout_started', {
      from: current,
      to: desired,
      waves: c.plan.waves.length,
      by: c.d.actor,
      ...(s.toConfig !== undefined && { fromConfig: s.fromConfig, toConfig: s.toConfig }),
    });
    await c.persistAndCommit(`fleetgate: ${this.spec.name} started (${c.versions()})`);
  }

  /**
   * Runs a hook unless the state says it succeeded in this rollout. Its start is written
   * before it runs, so a run after a crash during the hook runs it again (hooks must be
   * idempotent); a failed hook pauses the rollout, and `continue` runs it again first.
   * @throws InvalidPhaseError when the hook fails (the rollout is then Paused, HookFailed)
   */
  private async ensureHook(which: 'before' | 'after', step: StepSpec, tier?: string): Promise<void> {
    const c = this.c;
    const s = c.state;
    const rolloutHooks = (s.hooks ??= {});
    // A tier's hooks are kept under its name, the rollout's at the top.
    const hooks = tier === undefined ? rolloutHooks : ((rolloutHooks.tiers ??= {})[tier] ??= {});
    if (hooks[which]?.phase === 'Succeeded') return;
    const name = tier === undefined ? which : `${tier} ${which}`;
    const startedAt = c.now();
    hooks[which] = { phase: 'Running', startedAt };
    await c.persist();
    c.emit('hook_started', { hook: which, ...(tier !== undefined && { tier }) });
    const pseudo: Target = {
      id: tier === undefined ? `hook:${which}` : `hook:${tier}:${which}`,
      address: '',
      labels: {},
    };
    const r = await c.d.runner.run(step, c.vars(pseudo, this.spec.version), { signal: c.d.signal });
    c.emit('hook_completed', { hook: which, ok: r.ok, message: r.message, ...(tier !== undefined && { tier }) });
    if (r.ok) {
      hooks[which] = { phase: 'Succeeded', startedAt, finishedAt: c.now() };
      await c.persist();
      return;
    }
    hooks[which] = { phase: 'Failed', startedAt, finishedAt: c.now(), message: r.message };
    const err = new InvalidPhaseError(
      `${name} hook failed, no further target was touched: ${r.message}. ${Messages.decide(this.c.d.specPath)} (continue runs the hook again)`,
    );
    s.phase = 'Paused';
    c.setCondition(Reasons.HookFailed, err.message);
    await c.persistAndCommit(`fleetgate: ${this.spec.name} paused: ${name} hook failed`);
    throw err;
  }

  private gateFor(wave: PlannedWave): string | undefined {
    const g = this.spec.gates;
    const waves = this.c.plan.waves;
    if (wave.index === 0 && g.canary) return g.canary;
    const firstPromoted = waves.find((w) => w.index > 0 && w.kind !== 'canary');
    if (g.promote && firstPromoted?.id === wave.id && waves.some((w) => w.kind === 'canary')) return g.promote;
    return undefined;
  }

  private async pause(
    reason: Reason,
    message: string,
    extra: Pick<Condition, 'failedTargets' | 'gate'> = {},
  ): Promise<RunResult> {
    const c = this.c;
    c.state.phase = 'Paused';
    notePause(c.state, reason);
    c.setCondition(reason, message);
    Object.assign(c.state.condition!, extra);
    await c.persistAndCommit(
      `fleetgate: ${this.spec.name} paused at ${c.state.currentWave} (${c.versions()}): ${reason}`,
    );
    c.emit('rollout_paused', { reason, message, wave: c.state.currentWave, ...extra });
    return { outcome: 'Paused', state: c.state, reason, message };
  }

  /**
   * The schedule gate before a wave starts (spec `schedule`): outside the windows or in a freeze,
   * records why and when it opens, commits, and ends the run `Progressing` (exit 6).
   */
  private async holdForSchedule(wave: string): Promise<RunResult | undefined> {
    const c = this.c;
    const hold = assessScheduleHold(this.spec.schedule, wave, c.nowMs());
    if (!hold) {
      if (isScheduleHold(c.state.condition?.reason)) c.state.condition = undefined;
      return undefined;
    }
    // A run that stopped at a gate (Paused, GatePending) is held like any other: the gate is asked again in the window.
    if (c.state.phase === 'Paused') c.state.phase = 'Progressing';
    c.setCondition(hold.reason, hold.message);
    if (hold.opensAt) c.state.condition!.opensAt = hold.opensAt;
    c.emit('schedule_held', { wave, reason: hold.reason, message: hold.message, opensAt: hold.opensAt });
    await c.persistAndCommit(`fleetgate: ${this.spec.name} held before ${wave} (${c.versions()}): ${hold.reason}`);
    return { outcome: 'Progressing', state: c.state, reason: hold.reason, message: hold.message };
  }

  /** Carries out a transition that ends the run (pause or rollback); `undefined` for the others. */
  private async follow(t: Transition, wave: PlannedWave): Promise<RunResult | undefined> {
    const c = this.c;
    const ws = c.state.waves.find((w) => w.id === wave.id)!;
    if (t.kind === 'pause') {
      ws.phase = 'Failed';
      if (t.failedTargets && t.failedTargets.length > 0)
        c.emit('wave_failed', { wave: wave.id, failed: t.failedTargets });
      return this.pause(
        t.reason,
        t.message,
        t.failedTargets && t.failedTargets.length > 0 ? { failedTargets: t.failedTargets } : {},
      );
    }
    if (t.kind === 'rollback') {
      ws.phase = 'Failed';
      c.setCondition(t.reason, t.message);
      return this.rollbacks.rollbackTouched(t.message, t.reason, true);
    }
    return undefined;
  }

  /** Runs the remaining waves. */
  private async proceed(opts: RunOptions): Promise<RunResult> {
    const c = this.c;
    const s = c.state;
    const desired = s.toVersion!;
    // Outside the deploy windows a run started now touches nothing, not even the before hook.
    const first = c.plan.waves.find((w) => s.waves.find((x) => x.id === w.id)?.phase !== 'Completed');
    const heldFirst = first && (s.waves.find((x) => x.id === first.id)?.phase ?? 'Pending') === 'Pending';
    if (heldFirst) {
      const held = await this.holdForSchedule(first.id);
      if (held) return held;
    }
    if (this.spec.hooks.before) await this.ensureHook('before', this.spec.hooks.before);
    let completedThisRun = 0;
    // The wave the leader was last observed for (a quorum tier's waves are re-planned around it).
    let observedFor: string | undefined;
    for (let i = 0; i < c.plan.waves.length; i++) {
      const wave = c.plan.waves[i]!;
      let ws = s.waves.find((w) => w.id === wave.id);
      if (!ws) {
        ws = { id: wave.id, phase: 'Pending', targets: wave.targets };
        s.waves.push(ws);
      }
      if (ws.phase === 'Completed') continue;
      // The state says which members this wave really runs (a re-plan may have moved them).
      ws.targets = wave.targets;
      s.currentWave = wave.id;
      if (ws.phase === 'Pending' && opts.maxWaves !== undefined && completedThisRun >= opts.maxWaves) {
        await c.persist();
        const message = `stopped before ${wave.id} after ${completedThisRun} wave(s) (max waves per run); run again to continue`;
        return { outcome: 'Progressing', state: s, reason: Reasons.WaveBoundary, message };
      }
      if (ws.phase === 'Pending') {
        const held = await this.holdForSchedule(wave.id);
        if (held) return held;
      }

      const gate = this.gateFor(wave);
      if (gate && !s.approvals.some((a) => a.gate === gate)) {
        c.emit('gate_pending', { gate, wave: wave.id });
        const answer = await c.d.gates(gate, { rollout: this.spec.name, wave: wave.id });
        if (!answer.approved) return this.pause(Reasons.GatePending, Messages.gatePending(gate), { gate });
        s.approvals.push({ at: c.now(), gate, by: answer.by });
        c.emit('gate_approved', { gate, by: answer.by, wave: wave.id });
      }
      if (s.phase === 'Paused') s.phase = 'Progressing';
      if (ws.phase === 'Pending') {
        // The alert gate before the wave starts (spec alerts): a firing alert fails or pauses it.
        const alerted = await c.alerts.gate(wave, 'before');
        if (alerted) return this.followAlerts(alerted, wave, 'before');
        // The error-budget gate (spec slo): a pause, carried out as the alert gate's.
        const burnt = await c.slo.gate(wave, 'before');
        if (burnt) return this.followAlerts(burnt, wave, 'before');
      }

      const tierHooks = c.tierOf(wave).hooks;
      if (tierHooks?.before && ws.phase !== 'Observing') await this.ensureHook('before', tierHooks.before, wave.tier);
      const applying = ws.phase === 'Pending' || ws.phase === 'Progressing' || ws.phase === 'Failed';
      if (applying && observedFor !== wave.id && this.leadership.leaderStep(wave.tier) !== undefined) {
        // Leadership moves: the tier is re-planned around the member leading right now.
        const problem = await this.leadership.beforeWave(wave);
        if (c.aborted) return this.interrupted();
        if (problem) return this.pause(problem.reason, problem.message);
        observedFor = c.plan.waves.find((w) => s.waves.find((x) => x.id === w.id)?.phase !== 'Completed')?.id;
        i = -1;
        continue;
      }
      if (applying) {
        const firstTime = ws.phase === 'Pending';
        if (opts.openShards !== undefined) this.refuseQuorumShards(wave);
        ws.phase = 'Progressing';
        ws.startedAt ??= c.now();
        if (firstTime)
          c.emit('wave_started', {
            wave: wave.id,
            index: wave.index,
            targets: wave.targets.length,
            maxUnavailable: wave.maxUnavailable,
          });
        if (opts.openShards !== undefined && opts.openShards > 1) {
          // Its legs run next (`--shard i/N`), then a run without either takes its verdict.
          ws.shards = opts.openShards;
          const message = `${wave.id} is open for ${opts.openShards} legs: run \`fleetgate run --shard i/${opts.openShards}\` for i = 1…${opts.openShards}, then \`fleetgate run\` for its verdict`;
          c.emit('wave_sharded', { wave: wave.id, shards: opts.openShards, message });
          await c.persistAndCommit(
            `fleetgate: ${this.spec.name} ${c.waveLabel(wave)} open for ${opts.openShards} shards`,
          );
          return { outcome: 'Progressing', state: s, reason: Reasons.WaveSharded, message };
        }
        await c.persist();
        // A sharded wave's verdict: what its legs left first; the targets no leg finished are moved here.
        const legs = ws.shards !== undefined ? this.assessLegs(wave) : {};
        const ran: WaveRunResult =
          legs.breakerTripped !== undefined || legs.budgetExhausted !== undefined
            ? legs
            : await this.waves.applyWave(wave, desired);
        c.timings.flush(ws);
        if (c.aborted) return this.interrupted();
        const failed = wave.targets.filter((id) => s.targets[id]?.phase === 'Failed');
        ws.succeeded = wave.targets.filter((id) => s.targets[id]?.phase === 'Succeeded').length;
        ws.failed = failed.length;
        const next = decideAfterWaveSteps({
          wave: wave.id,
          total: wave.targets.length,
          failed,
          breakerTripped: ran.breakerTripped,
          budgetExhausted: ran.budgetExhausted,
          leadership: ran.leadership,
          tolerancePercent: c.tierOf(wave).strategy.failureTolerancePercent,
          accepted: s.decisions.some((d) => d.decision === 'continue' && d.wave === wave.id),
        });
        const ended = await this.follow(next, wave);
        if (ended) return ended;
        ws.phase = 'Observing';
        ws.observeUntil = new Date(c.nowMs() + wave.observeMs).toISOString();
        await c.persist();
        await this.observer.beginAnalysis(wave, Date.parse(ws.observeUntil));
      }
      if (ws.phase === 'Observing') {
        // A provider with no history of its own (scrape) cannot measure a window an earlier run opened:
        // open it again from now, and wait it out in this run (a later one would lose it again).
        const reopened = await this.reopenLostWindow(wave, ws);
        c.emit('wave_observing', { wave: wave.id, until: ws.observeUntil, observeMs: wave.observeMs });
        const open = opts.deferObservation === true && !reopened && Date.parse(ws.observeUntil!) > c.nowMs();
        // Still open: the looks already due may have decided it (adaptive windows); else a later run evaluates it.
        const decided =
          open && !this.analysisAccepted(wave, ws)
            ? await this.observer.decidedSoFar(wave, Date.parse(ws.observeUntil!))
            : undefined;
        if (c.aborted) return this.interrupted();
        if (open && !decided) {
          await c.persistAndCommit(
            `fleetgate: ${this.spec.name} ${c.waveLabel(wave)} observing until ${ws.observeUntil}`,
          );
          const message = `${wave.id} is in its observation window until ${ws.observeUntil}; run again after it to evaluate it`;
          return { outcome: 'Progressing', state: s, reason: Reasons.ObservationWindowOpen, message };
        }
        const ended = await this.observeWave(wave, desired, ws.observeUntil!, decided);
        if (ended) return ended;
      }
      // A blue-green tier's pool passed its window: traffic moves to it now (src/engine/blue-green.ts).
      const switchFailed = await switchToNewPool(c, wave);
      if (switchFailed)
        return this.pause(
          Reasons.SwitchFailed,
          `${switchFailed}; traffic stays on the old pool. ${Messages.decide(this.c.d.specPath)}`,
        );
      const lastOfTier = c.plan.waves.filter((w) => w.tier === wave.tier).at(-1)?.id === wave.id;
      if (lastOfTier && tierHooks?.after) await this.ensureHook('after', tierHooks.after, wave.tier);
      ws.phase = 'Completed';
      ws.finishedAt = c.now();
      completedThisRun++;
      c.emit('wave_completed', { wave: wave.id, index: wave.index, succeeded: ws.succeeded, failed: ws.failed });
      await c.persistAndCommit(`fleetgate: ${this.spec.name} ${c.waveLabel(wave)} healthy (${c.versions()})`);
    }
    return this.finish();
  }

  /**
   * Opens the wave's window again, from now, when the provider can no longer measure the one recorded
   * (see `Observer.canMeasure`): records the new end, counts it in `reopened`, and says so.
   * @returns true when it re-opened the window
   */
  private async reopenLostWindow(wave: PlannedWave, ws: WaveState): Promise<boolean> {
    const c = this.c;
    const until = Date.parse(ws.observeUntil!);
    if (this.analysisAccepted(wave, ws) || this.observer.canMeasure(wave, until)) return false;
    const previous = ws.observeUntil;
    ws.observeUntil = new Date(c.nowMs() + wave.observeMs).toISOString();
    ws.reopened = (ws.reopened ?? 0) + 1;
    ws.observedUntil = undefined;
    ws.decidedAt = undefined;
    await c.persist();
    await this.observer.beginAnalysis(wave, Date.parse(ws.observeUntil));
    c.emit('analysis_window_reopened', {
      wave: wave.id,
      until: ws.observeUntil,
      previousUntil: previous,
      message: Messages.windowReopened(wave.id, c.d.analysis?.provider.type ?? 'the provider', previous!),
    });
    return true;
  }

  /** An operator's `continue` accepted this wave's analysis (it is not run again). */
  private analysisAccepted(wave: PlannedWave, ws: WaveState): boolean {
    return this.c.state.decisions.some((d) => d.decision === 'continue' && d.wave === wave.id && ws.analysis);
  }

  /**
   * The observation window: health re-checks and analysis in parallel; what they show decides (see
   * `decideAfterObservation`). With analysis the window ends when the analysis returns — as soon as
   * every metric is decided (adaptive windows), at `observeUntil` at the latest, or later while
   * `noData: wait` holds it — and health is checked for as long as it lasted.
   * @param decided - the analysis a deferred run already found decided by the looks due so far
   *   (`Observer.decidedSoFar`): the window ends with it, after one health check
   */
  private async observeWave(
    wave: PlannedWave,
    desired: string,
    observeUntil: string,
    decided?: AnalysisAssessment,
  ): Promise<RunResult | undefined> {
    const c = this.c;
    const s = c.state;
    const ws = s.waves.find((w) => w.id === wave.id)!;
    const accepted = this.analysisAccepted(wave, ws);
    const until = Date.parse(observeUntil);
    const analyzing = !accepted && this.observer.analyzes(wave);
    const analysisAbort = new AbortController();
    // Health observation stops with the run, or when the analysis ended the window.
    const observeStop = new AbortController();
    const stopObserving = () => observeStop.abort();
    c.d.signal?.addEventListener('abort', stopObserving, { once: true });
    let turned: string[];
    let analysis;
    try {
      [turned, analysis] = await Promise.all([
        this.observer
          .observe(wave, desired, analyzing ? Number.POSITIVE_INFINITY : until, observeStop.signal)
          .then((t) => {
            // A target that turned unhealthy pauses the wave whatever the metrics say: the window ends now.
            if (c.aborted || t.length > 0) analysisAbort.abort();
            return t;
          }),
        analyzing
          ? (decided ? Promise.resolve(decided) : this.observer.analyze(wave, until, analysisAbort.signal)).finally(
              stopObserving,
            )
          : Promise.resolve(undefined),
      ]);
    } finally {
      c.d.signal?.removeEventListener('abort', stopObserving);
    }
    if (c.aborted) return this.interrupted();
    if (analysis) {
      ws.analysis = { verdict: analysis.verdict, message: analysis.message, measurements: analysis.measurements };
      const endMs = observedUntilMs(analysis, until);
      ws.observedUntil = new Date(endMs).toISOString();
      ws.decidedAt = new Date(analysis.decidedAtMs ?? c.nowMs()).toISOString();
      c.emit('analysis_completed', {
        wave: wave.id,
        verdict: analysis.verdict,
        severity: analysis.severity,
        message: analysis.message,
        measurements: analysis.measurements.length,
        observedUntil: ws.observedUntil,
        decidedAt: ws.decidedAt,
        observedMs: endMs - (until - wave.observeMs),
        observeMs: wave.observeMs,
        ...(endMs < until && { endedEarly: true }),
        ...(analysis.waitedUntilMs !== undefined && { waitedUntil: new Date(analysis.waitedUntilMs).toISOString() }),
      });
    }
    const next = decideAfterObservation({
      wave: wave.id,
      turned,
      analysis: analysis
        ? { verdict: analysis.verdict, severity: analysis.severity, message: analysis.message }
        : undefined,
    });
    if (next.kind === 'complete') {
      // The alert gate at the end of the window (spec alerts).
      const alerted = await c.alerts.gate(wave, 'after');
      if (alerted) return this.followAlerts(alerted, wave, 'after');
      const burnt = await c.slo.gate(wave, 'after');
      if (burnt) return this.followAlerts(burnt, wave, 'after');
    }
    return this.follow(next, wave);
  }

  /**
   * Carries out what the alert gate called for. A pause before a wave leaves the wave as it
   * was (nothing of it ran); at the end of its window, as a failed analysis does.
   */
  private async followAlerts(t: AlertTransition, wave: PlannedWave, when: 'before' | 'after'): Promise<RunResult> {
    if (this.c.aborted) return this.interrupted();
    if (t.kind === 'pause' && when === 'before') return this.pause(t.reason, t.message);
    return (await this.follow(t, wave)) ?? this.pause(t.reason, t.message);
  }

  private async finish(): Promise<RunResult> {
    const c = this.c;
    const s = c.state;
    // An old blue-green pool is kept (a rollback switches back) until keepOldPool is over.
    const kept = await retireOldPools(c);
    if (kept) return kept;
    if (this.spec.hooks.after) await this.ensureHook('after', this.spec.hooks.after);
    const failed = Object.entries(s.targets)
      .filter(([, t]) => t.phase === 'Failed')
      .map(([id]) => id);
    s.currentWave = undefined;
    if (failed.length > 0) {
      s.phase = 'Degraded';
      c.setCondition(
        Reasons.CompletedWithFailures,
        `every wave ran, but ${failed.length} target(s) failed: ${failed.join(', ')}`,
      );
      c.pushHistory();
      await c.persistAndCommit(`fleetgate: ${this.spec.name} degraded (${c.versions()}): ${failed.length} failed`);
      c.emit('rollout_degraded', { reason: Reasons.CompletedWithFailures, failed });
      return { outcome: 'Degraded', state: s, reason: Reasons.CompletedWithFailures, message: s.condition!.message };
    }
    s.phase = 'Healthy';
    s.lastKnownGood = s.toVersion;
    s.lastKnownGoodConfig = s.toConfig;
    s.rolledBackFrom = undefined;
    s.rolledBackFromConfig = undefined;
    c.setCondition(
      Reasons.RolloutCompleted,
      `all ${Object.values(s.targets).filter((t) => t.retired !== true).length} targets run ${s.toVersion}${configLabel(s.toConfig)}`,
    );
    c.pushHistory();
    await c.persistAndCommit(`fleetgate: ${this.spec.name} healthy at ${s.toVersion} (${c.versions()})`);
    c.emit('rollout_completed', { version: s.toVersion });
    return { outcome: 'Healthy', state: s, reason: Reasons.RolloutCompleted };
  }

  private interrupted(): Promise<RunResult> {
    return this.c.interrupted();
  }
}
