/**
 * The rollout engine: applies a plan wave by wave — drain, upgrade, verify,
 * undrain on each target, concurrently up to `maxUnavailable` — with a circuit
 * breaker, a per-wave failure tolerance, observation windows, gates, decisions
 * and rollback. Every phase reads the state, changes it and persists it before
 * and after each step, so a run killed at any moment is continued by the next.
 */
import type { RolloutPlan, PlannedWave } from '../plan/types.js';
import type { RolloutSpec, StepSpec, Target } from '../spec/types.js';
import { createEmptyState } from '../state/store.js';
import {
  HISTORY_LIMIT,
  type Decision,
  type RolloutPhase,
  type RolloutState,
  type TargetState,
} from '../state/types.js';
import { InvalidPhaseError, RolloutPausedError, VersionPolicyError } from '../errors.js';
import { analyzeWindow, beginAnalysisWindow } from '../analysis/analyze.js';
import type { AnalysisAssessment } from '../analysis/extra-types.js';
import type { AnalysisWindow, Cohort, MetricProvider } from '../analysis/types.js';
import type { Clock } from './clock.js';
import type { EventSink, RolloutEvent, RolloutEventName } from './events.js';
import { Messages, Reasons, type Reason } from './reasons.js';
import type { StatePort } from './state-port.js';
import { pollUntilHealthy, type StepRunner } from './steps.js';
import type { TemplateVars } from './template.js';
import { assertVersionAllowed, prevailingVersion } from './version-policy.js';

/** Answers an approval gate: a CLI prompt, `--yes`, or (in GitHub) an environment that was already approved. */
export type GateApprover = (
  gate: string,
  context: { rollout: string; wave: string },
) => Promise<{ approved: boolean; by: string }>;

/** A batch of a rollback: target ids and how many at once. */
export interface RollbackBatch {
  id: string;
  targets: string[];
  maxUnavailable: number;
}

export interface EngineDeps {
  spec: RolloutSpec;
  targets: Target[];
  plan: RolloutPlan;
  /** Batches a rollback of the given targets (ordered newest wave first). */
  planRollback: (targetIds: string[]) => RollbackBatch[];
  store: StatePort;
  runner: StepRunner;
  clock: Clock;
  emit: EventSink;
  gates: GateApprover;
  /** Who is running this (user name, `github:<actor>`), recorded with decisions and approvals. */
  actor: string;
  /** Aborting stops starting new targets; in-flight steps are cancelled. */
  signal?: AbortSignal;
  /** Metric provider for the spec's `analysis` (absent: health checks only). */
  analysis?: { provider: MetricProvider };
  /** Concurrency of the read-only preflight version probes (default 16). */
  preflightConcurrency?: number;
}

/**
 * How a run ended; the CLI maps it to an exit code (0, 3, 4, 1, 6).
 * `Progressing`: stopped at a wave boundary (`maxWaves`) or with an observation window
 * still open (`deferObservation`); a later run continues.
 */
export type RunOutcome = 'Healthy' | 'Paused' | 'RolledBack' | 'Degraded' | 'Progressing';

export interface RunResult {
  outcome: RunOutcome;
  state: RolloutState;
  reason?: string;
  message?: string;
}

/** What `preflightReport` found. */
export interface PreflightReport {
  rollout: string;
  desired: string;
  /** Version the fleet is taken to run now (last known good, or what most targets report). */
  current?: string;
  lastKnownGood?: string;
  phase: RolloutPhase;
  targets: number;
  /** Version → number of targets reporting it (version skew: more than one key). */
  versions: Record<string, number>;
  unreachable: { id: string; message: string }[];
  policy: { ok: true } | { ok: false; reason: string; message: string };
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
}

type TargetOutcome = 'Succeeded' | 'Failed' | 'Skipped' | 'NotStarted';

/** Steps that only read a target: recorded with the next state write, not written ahead (see `step`). */
const READ_ONLY_STEPS: ReadonlySet<string> = new Set(['probe', 'verify']);

/** Runs `worker` over `items` with at most `limit` at once, stopping to start new ones once `stop()` says so. */
async function pool<T>(
  items: T[],
  limit: number,
  stop: () => boolean,
  worker: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length && !stop()) {
      const item = items[next++]!;
      await worker(item);
    }
  });
  await Promise.all(runners);
}

export class RolloutEngine {
  private state!: RolloutState;
  /** The last state write started (or failed): later writes follow it. */
  private lastWrite: Promise<void> = Promise.resolve();
  /** The write not started yet that every change made from now on will be in. */
  private nextWrite: Promise<void> | undefined;
  private readonly byId: Map<string, Target>;

  constructor(private readonly d: EngineDeps) {
    this.byId = new Map(d.targets.map((t) => [t.id, t]));
  }

  // ---------------------------------------------------------------- state I/O

  private now(): string {
    return this.d.clock.now().toISOString();
  }

  private emit(event: RolloutEventName, fields: Omit<RolloutEvent, 'ts' | 'event' | 'rollout'> = {}): void {
    this.d.emit({ ts: this.now(), event, rollout: this.d.spec.name, ...fields });
  }

  /**
   * Persists the current state. Resolves once a write that started after this call has
   * finished. Every call made while a write is in flight shares the one next write (it
   * starts when the one in flight ends and serializes the state at that moment), so a
   * wave of many targets costs a few writes per step, not one per target and step.
   */
  private persist(): Promise<void> {
    if (this.nextWrite) return this.nextWrite;
    const write = this.lastWrite.then(async () => {
      // From here on, changes need the write after this one (the state is serialized synchronously below).
      this.nextWrite = undefined;
      const written = await this.d.store.write(this.state);
      this.state.revision = written.revision;
      this.state.updatedAt = written.updatedAt;
    });
    // A failed write poisons the chain: every later persist fails too, so no target is touched after it.
    this.lastWrite = write;
    this.nextWrite = write;
    return write;
  }

  private async persistAndCommit(message: string): Promise<void> {
    await this.persist();
    await this.d.store.commit(message);
    this.emit('state_committed', { message, revision: this.state.revision });
  }

  private async load(): Promise<RolloutState> {
    this.state = (await this.d.store.read()) ?? createEmptyState(this.d.spec.name);
    return this.state;
  }

  private waveLabel(wave: PlannedWave): string {
    return `wave ${wave.index + 1}/${this.d.plan.waves.length} (${wave.id})`;
  }

  private versions(): string {
    return `${this.state.fromVersion ?? '?'} → ${this.state.toVersion ?? '?'}`;
  }

  private setCondition(reason: Reason, message: string): void {
    this.state.condition = { reason, message, at: this.now() };
  }

  private vars(target: Target, version: string): TemplateVars {
    return { target, version, rollout: { name: this.d.spec.name }, component: this.d.spec.component };
  }

  private target(id: string): Target {
    const t = this.byId.get(id);
    if (!t) throw new InvalidPhaseError(`target ${id} is in the plan or state but not in the inventory any more`);
    return t;
  }

  // ---------------------------------------------------------------- use cases

  /**
   * `fleetgate run`: starts a rollout to the spec's version, or continues the
   * one in progress (after a crash) from the last persisted state.
   * @throws VersionPolicyError, InvalidPhaseError (paused, rolled-back version), StateConflictError, StateWriteError
   */
  async run(opts: RunOptions = {}): Promise<RunResult> {
    const state = await this.load();
    const desired = this.d.spec.version;
    if (state.phase === 'Paused' && state.condition?.reason !== Reasons.GatePending) {
      throw new RolloutPausedError(
        `rollout ${this.d.spec.name} is paused: ${state.condition?.message ?? 'no reason recorded'}. ${Messages.decide(this.d.spec.name)}`,
      );
    }
    if (state.phase === 'RollingBack') return this.rollbackTouched('resume');
    const inFlight = state.phase === 'Progressing' || state.phase === 'Paused';
    if (inFlight && state.toVersion !== desired) {
      throw new InvalidPhaseError(
        `rollout ${this.d.spec.name} to ${state.toVersion} is still in progress (phase ${state.phase}) but the spec now asks for ${desired}: finish it, or stop it with \`fleetgate resume --decision abort\` or \`--decision rollback\` first`,
      );
    }
    if (!inFlight) {
      if (
        state.toVersion === desired &&
        (state.phase === 'Healthy' || (state.phase === 'RolledBack' && state.isRollback))
      ) {
        this.emit('rollout_completed', { version: desired, message: `already ${state.phase} at ${desired}` });
        return { outcome: 'Healthy', state, reason: Reasons.AlreadyAtVersion, message: `already at ${desired}` };
      }
      if (state.rolledBackFrom === desired && !opts.retryRolledBack) {
        throw new InvalidPhaseError(
          `${desired} was rolled back (${state.condition?.message ?? ''}); change the spec's version, or pass --retry-rolled-back to try it again`,
        );
      }
      await this.start(desired);
    }
    return this.proceed(opts);
  }

  /**
   * `fleetgate resume --decision`: answers a pause (breaker trip, failed wave or observation, pending gate).
   * `continue` goes on (accepting the current wave's failures), `rollback` returns every touched
   * target to the version it ran before (newest wave first), `abort` stops where it is (seed 001).
   * @throws InvalidPhaseError when the rollout is not paused
   */
  async resume(decision: Decision, reason?: string, opts: RunOptions = {}): Promise<RunResult> {
    const state = await this.load();
    const decidable: RolloutPhase[] = ['Paused', 'Progressing', 'Degraded'];
    if (!decidable.includes(state.phase) || (state.phase === 'Degraded' && decision === 'abort')) {
      throw new InvalidPhaseError(`rollout ${this.d.spec.name} is ${state.phase}: there is nothing to ${decision}`);
    }
    state.decisions.push({ at: this.now(), decision, by: this.d.actor, reason, wave: state.currentWave });
    this.emit('decision_recorded', { decision, by: this.d.actor, reason, wave: state.currentWave });
    if (decision === 'abort') {
      state.phase = 'Degraded';
      this.setCondition(
        Reasons.Aborted,
        `aborted by ${this.d.actor} at ${state.currentWave ?? 'start'}${reason ? `: ${reason}` : ''}; ${this.touchedSummary()}`,
      );
      this.pushHistory();
      await this.persistAndCommit(
        `fleetgate: ${this.d.spec.name} aborted at ${state.currentWave ?? 'start'} (${this.versions()})`,
      );
      this.emit('rollout_degraded', { reason: Reasons.Aborted, message: state.condition!.message });
      return { outcome: 'Degraded', state, reason: Reasons.Aborted, message: state.condition!.message };
    }
    if (decision === 'rollback') return this.rollbackTouched(reason ?? 'rollback decision');
    // continue
    if (state.condition?.reason === Reasons.GatePending) {
      const gate = (state.condition as { gate?: string }).gate;
      if (gate) state.approvals.push({ at: this.now(), gate, by: this.d.actor });
    }
    state.breaker.consecutiveFailures = 0;
    state.phase = 'Progressing';
    this.setCondition(Reasons.DecisionContinue, `continued by ${this.d.actor}${reason ? `: ${reason}` : ''}`);
    await this.persistAndCommit(
      `fleetgate: ${this.d.spec.name} continue at ${state.currentWave ?? 'start'} (${this.versions()})`,
    );
    return this.proceed(opts);
  }

  /**
   * `fleetgate rollback [--to version]`: a rollout back to `version` (default: last known
   * good) over every target not on it, in the rollback batches (seed 001: larger batches).
   * @throws InvalidPhaseError when there is no last known good version and none was given
   */
  async rollbackTo(version: string | undefined, reason?: string): Promise<RunResult> {
    const state = await this.load();
    if (state.phase === 'RollingBack') return this.rollbackTouched('resume');
    const to = version ?? state.lastKnownGood;
    if (!to) {
      throw new InvalidPhaseError(
        `rollout ${this.d.spec.name} has no last known good version yet: pass --to <version>`,
      );
    }
    assertVersionAllowed({
      current: state.toVersion,
      desired: to,
      policy: this.d.spec.versionPolicy,
      isRollback: true,
    });
    const previous = state.toVersion;
    if (state.phase === 'Progressing' || state.phase === 'Paused') {
      state.decisions.push({ at: this.now(), decision: 'rollback', by: this.d.actor, reason, wave: state.currentWave });
      // The interrupted rollout ends here; finished ones are in history already.
      this.pushHistory();
    }
    const fresh = createEmptyState(this.d.spec.name);
    Object.assign(state, {
      ...fresh,
      revision: state.revision,
      lastKnownGood: state.lastKnownGood,
      history: state.history,
      decisions: state.decisions,
      phase: 'RollingBack' as const,
      fromVersion: previous,
      toVersion: to,
      isRollback: true,
      rolledBackFrom: previous !== to ? previous : undefined,
      startedAt: this.now(),
    });
    this.setCondition(
      Reasons.RollbackRequested,
      `rollback to ${to} requested by ${this.d.actor}${reason ? `: ${reason}` : ''}`,
    );
    // Every target, newest wave first.
    const order = [...this.d.plan.waves].reverse().flatMap((w) => w.targets);
    for (const id of order) state.targets[id] = { phase: 'Pending', from: to };
    await this.persistAndCommit(`fleetgate: ${this.d.spec.name} rollback started (${previous ?? '?'} → ${to})`);
    return this.applyRollback(order, to);
  }

  // ---------------------------------------------------------------- rollout

  private touchedSummary(): string {
    const by: Record<string, string[]> = {};
    for (const [id, t] of Object.entries(this.state.targets)) (by[t.phase] ??= []).push(id);
    return Object.entries(by)
      .map(([phase, ids]) => `${phase}: ${ids.length}`)
      .join(', ');
  }

  private pushHistory(): void {
    const s = this.state;
    if (!s.toVersion) return;
    s.history.unshift({
      from: s.fromVersion,
      to: s.toVersion,
      phase: s.phase,
      startedAt: s.startedAt,
      finishedAt: this.now(),
      reason: s.condition?.reason,
    });
    s.history.length = Math.min(s.history.length, HISTORY_LIMIT);
  }

  /**
   * Read-only preflight for `fleetgate preflight` and pull-request checks: every target's
   * `version` step, the version policy verdict and the version skew seen. Touches nothing.
   */
  async preflightReport(): Promise<PreflightReport> {
    const state = (await this.d.store.read()) ?? createEmptyState(this.d.spec.name);
    const probes = await this.preflight();
    const unreachable = [...probes]
      .filter(([, p]) => p.version === undefined)
      .map(([id, p]) => ({ id, message: p.message }));
    const versions: Record<string, number> = {};
    for (const p of probes.values()) if (p.version !== undefined) versions[p.version] = (versions[p.version] ?? 0) + 1;
    const current =
      state.phase === 'Healthy' ? state.toVersion : (state.lastKnownGood ?? prevailingVersion(Object.keys(versions)));
    let policy: PreflightReport['policy'] = { ok: true };
    try {
      assertVersionAllowed({
        current,
        desired: this.d.spec.version,
        policy: this.d.spec.versionPolicy,
        isRollback: false,
      });
    } catch (error) {
      if (!(error instanceof VersionPolicyError)) throw error;
      policy = { ok: false, reason: error.reason, message: error.message };
    }
    return {
      rollout: this.d.spec.name,
      desired: this.d.spec.version,
      current,
      lastKnownGood: state.lastKnownGood,
      phase: state.phase,
      targets: probes.size,
      versions,
      unreachable,
      policy,
      ok: unreachable.length === 0 && policy.ok,
    };
  }

  /** Preflight (read-only: probes versions) and the start of a new rollout. */
  private async start(desired: string): Promise<void> {
    const s = this.state;
    const probes = await this.preflight();
    const unreachable = [...probes].filter(([, p]) => p.version === undefined);
    if (unreachable.length > 0) {
      throw new InvalidPhaseError(
        `preflight: ${unreachable.length} target(s) did not answer the version step, nothing was touched: ${unreachable
          .slice(0, 10)
          .map(([id, p]) => `${id} (${p.message})`)
          .join('; ')}${unreachable.length > 10 ? ' …' : ''}`,
      );
    }
    const reported = [...probes.values()].map((p) => p.version!);
    const current = s.phase === 'Healthy' ? s.toVersion : (s.lastKnownGood ?? prevailingVersion(reported));
    assertVersionAllowed({ current, desired, policy: this.d.spec.versionPolicy, isRollback: false });
    const skew = new Set(reported);
    this.emit('preflight_completed', { targets: probes.size, versions: [...skew], current, desired });

    const fresh = createEmptyState(this.d.spec.name);
    Object.assign(s, {
      ...fresh,
      revision: s.revision,
      lastKnownGood: s.lastKnownGood,
      history: s.history,
      phase: 'Progressing' as const,
      fromVersion: current,
      toVersion: desired,
      startedAt: this.now(),
    });
    this.setCondition(Reasons.RolloutStarted, `rollout ${current ?? '?'} → ${desired} started by ${this.d.actor}`);
    for (const w of this.d.plan.waves) {
      s.waves.push({ id: w.id, phase: 'Pending', targets: w.targets });
    }
    for (const [id, p] of probes) s.targets[id] = { phase: 'Pending', from: p.version };
    this.emit('rollout_started', { from: current, to: desired, waves: this.d.plan.waves.length, by: this.d.actor });
    await this.persistAndCommit(`fleetgate: ${this.d.spec.name} started (${current ?? '?'} → ${desired})`);
    if (this.d.spec.hooks.before) await this.runHook('before', this.d.spec.hooks.before);
  }

  private async preflight(): Promise<Map<string, { version?: string; message: string }>> {
    const out = new Map<string, { version?: string; message: string }>();
    const ids = this.d.plan.waves.flatMap((w) => w.targets);
    await pool(
      ids,
      this.d.preflightConcurrency ?? 16,
      () => false,
      async (id) => {
        const r = await this.d.runner.run(this.d.spec.steps.version, this.vars(this.target(id), this.d.spec.version), {
          extractVersion: true,
          signal: this.d.signal,
        });
        out.set(id, { version: r.ok ? r.version : undefined, message: r.message });
      },
    );
    return new Map(ids.map((id) => [id, out.get(id)!]));
  }

  private async runHook(which: 'before' | 'after', step: StepSpec): Promise<void> {
    this.emit('hook_started', { hook: which });
    const pseudo: Target = { id: `hook:${which}`, address: '', labels: {} };
    const r = await this.d.runner.run(step, this.vars(pseudo, this.d.spec.version), { signal: this.d.signal });
    this.emit('hook_completed', { hook: which, ok: r.ok, message: r.message });
    if (!r.ok) {
      const err = new InvalidPhaseError(`${which} hook failed, no further target was touched: ${r.message}`);
      this.state.phase = 'Paused';
      this.setCondition(Reasons.HookFailed, err.message);
      await this.persistAndCommit(`fleetgate: ${this.d.spec.name} paused: ${which} hook failed`);
      throw err;
    }
  }

  private gateFor(wave: PlannedWave): string | undefined {
    const g = this.d.spec.gates;
    if (wave.index === 0 && g.canary) return g.canary;
    const firstPromoted = this.d.plan.waves.find((w) => w.index > 0 && w.kind !== 'canary');
    if (g.promote && firstPromoted?.id === wave.id && this.d.plan.waves.some((w) => w.kind === 'canary'))
      return g.promote;
    return undefined;
  }

  private async pause(reason: Reason, message: string, extra: Record<string, unknown> = {}): Promise<RunResult> {
    this.state.phase = 'Paused';
    this.setCondition(reason, message);
    Object.assign(this.state.condition!, extra);
    await this.persistAndCommit(
      `fleetgate: ${this.d.spec.name} paused at ${this.state.currentWave} (${this.versions()}): ${reason}`,
    );
    this.emit('rollout_paused', { reason, message, wave: this.state.currentWave, ...extra });
    return { outcome: 'Paused', state: this.state, reason, message };
  }

  /** Runs the remaining waves. */
  private async proceed(opts: RunOptions): Promise<RunResult> {
    const s = this.state;
    const desired = s.toVersion!;
    let completedThisRun = 0;
    for (const wave of this.d.plan.waves) {
      let ws = s.waves.find((w) => w.id === wave.id);
      if (!ws) {
        ws = { id: wave.id, phase: 'Pending', targets: wave.targets };
        s.waves.push(ws);
      }
      if (ws.phase === 'Completed') continue;
      s.currentWave = wave.id;
      if (ws.phase === 'Pending' && opts.maxWaves !== undefined && completedThisRun >= opts.maxWaves) {
        await this.persist();
        const message = `stopped before ${wave.id} after ${completedThisRun} wave(s) (max waves per run); run again to continue`;
        return { outcome: 'Progressing', state: s, reason: Reasons.WaveBoundary, message };
      }

      const gate = this.gateFor(wave);
      if (gate && !s.approvals.some((a) => a.gate === gate)) {
        this.emit('gate_pending', { gate, wave: wave.id });
        const answer = await this.d.gates(gate, { rollout: this.d.spec.name, wave: wave.id });
        if (!answer.approved) return this.pause(Reasons.GatePending, Messages.gatePending(gate), { gate });
        s.approvals.push({ at: this.now(), gate, by: answer.by });
        this.emit('gate_approved', { gate, by: answer.by, wave: wave.id });
      }
      if (s.phase === 'Paused') s.phase = 'Progressing';

      if (ws.phase === 'Pending' || ws.phase === 'Progressing' || ws.phase === 'Failed') {
        const firstTime = ws.phase === 'Pending';
        ws.phase = 'Progressing';
        ws.startedAt ??= this.now();
        if (firstTime)
          this.emit('wave_started', {
            wave: wave.id,
            index: wave.index,
            targets: wave.targets.length,
            maxUnavailable: wave.maxUnavailable,
          });
        await this.persist();
        const tripped = await this.applyWave(wave, desired);
        if (this.d.signal?.aborted) return this.interrupted();
        const failed = wave.targets.filter((id) => s.targets[id]?.phase === 'Failed');
        ws.succeeded = wave.targets.filter((id) => s.targets[id]?.phase === 'Succeeded').length;
        ws.failed = failed.length;
        if (tripped) {
          ws.phase = 'Failed';
          this.emit('wave_failed', { wave: wave.id, failed });
          return this.pause(Reasons.CircuitBreakerTripped, s.breaker.trips.at(-1)!.reason, { failedTargets: failed });
        }
        const tolerance = this.tierOf(wave).strategy.failureTolerancePercent;
        const accepted = s.decisions.some((d) => d.decision === 'continue' && d.wave === wave.id);
        if (failed.length > 0 && (failed.length / wave.targets.length) * 100 > tolerance && !accepted) {
          ws.phase = 'Failed';
          this.emit('wave_failed', { wave: wave.id, failed });
          return this.pause(
            Reasons.WaveFailureToleranceExceeded,
            Messages.waveTolerance(wave.id, failed.length, wave.targets.length, tolerance),
            { failedTargets: failed },
          );
        }
        ws.phase = 'Observing';
        ws.observeUntil = new Date(this.d.clock.now().getTime() + wave.observeMs).toISOString();
        await this.persist();
        await this.beginAnalysis(wave, desired, Date.parse(ws.observeUntil));
      }
      if (ws.phase === 'Observing') {
        this.emit('wave_observing', { wave: wave.id, until: ws.observeUntil, observeMs: wave.observeMs });
        if (opts.deferObservation && Date.parse(ws.observeUntil!) > this.d.clock.now().getTime()) {
          await this.persistAndCommit(
            `fleetgate: ${this.d.spec.name} ${this.waveLabel(wave)} observing until ${ws.observeUntil}`,
          );
          const message = `${wave.id} is in its observation window until ${ws.observeUntil}; run again after it to evaluate it`;
          return { outcome: 'Progressing', state: s, reason: Reasons.ObservationWindowOpen, message };
        }
        const accepted = s.decisions.some((d) => d.decision === 'continue' && d.wave === wave.id && ws.analysis);
        const until = Date.parse(ws.observeUntil!);
        const analysisAbort = new AbortController();
        const [turned, analysis] = await Promise.all([
          this.observe(wave, desired, until).finally(() => {
            if (this.d.signal?.aborted) analysisAbort.abort();
          }),
          accepted ? Promise.resolve(undefined) : this.analyze(wave, desired, until, analysisAbort.signal),
        ]);
        if (this.d.signal?.aborted) return this.interrupted();
        if (turned.length > 0) {
          ws.phase = 'Failed';
          this.emit('wave_failed', { wave: wave.id, failed: turned });
          return this.pause(Reasons.ObservationFailed, Messages.observationFailed(wave.id, turned), {
            failedTargets: turned,
          });
        }
        if (analysis) {
          ws.analysis = { verdict: analysis.verdict, message: analysis.message, measurements: analysis.measurements };
          if (analysis.verdict !== 'pass') ws.phase = 'Failed';
          this.emit('analysis_completed', {
            wave: wave.id,
            verdict: analysis.verdict,
            severity: analysis.severity,
            message: analysis.message,
            measurements: analysis.measurements.length,
          });
          if (analysis.verdict === 'fail' && analysis.severity === 'critical') {
            this.setCondition(Reasons.AnalysisFailed, `critical metric failed at ${wave.id}: ${analysis.message}`);
            return this.rollbackTouched(
              `critical metric failed at ${wave.id}: ${analysis.message}`,
              Reasons.AnalysisFailed,
            );
          }
          if (analysis.verdict !== 'pass') {
            const reason = analysis.verdict === 'fail' ? Reasons.AnalysisFailed : Reasons.AnalysisInconclusive;
            return this.pause(reason, `analysis of ${wave.id}: ${analysis.message}`);
          }
        }
      }
      ws.phase = 'Completed';
      ws.finishedAt = this.now();
      completedThisRun++;
      this.emit('wave_completed', { wave: wave.id, index: wave.index, succeeded: ws.succeeded, failed: ws.failed });
      await this.persistAndCommit(
        `fleetgate: ${this.d.spec.name} ${this.waveLabel(wave)} healthy (${this.versions()})`,
      );
    }
    return this.finish();
  }

  private tierOf(wave: PlannedWave) {
    return this.d.spec.tiers.find((t) => t.name === wave.tier)!;
  }

  private async finish(): Promise<RunResult> {
    const s = this.state;
    if (this.d.spec.hooks.after) await this.runHook('after', this.d.spec.hooks.after);
    const failed = Object.entries(s.targets)
      .filter(([, t]) => t.phase === 'Failed')
      .map(([id]) => id);
    s.currentWave = undefined;
    if (failed.length > 0) {
      s.phase = 'Degraded';
      this.setCondition(
        Reasons.CompletedWithFailures,
        `every wave ran, but ${failed.length} target(s) failed: ${failed.join(', ')}`,
      );
      this.pushHistory();
      await this.persistAndCommit(
        `fleetgate: ${this.d.spec.name} degraded (${this.versions()}): ${failed.length} failed`,
      );
      this.emit('rollout_degraded', { reason: Reasons.CompletedWithFailures, failed });
      return { outcome: 'Degraded', state: s, reason: Reasons.CompletedWithFailures, message: s.condition!.message };
    }
    s.phase = 'Healthy';
    s.lastKnownGood = s.toVersion;
    s.rolledBackFrom = undefined;
    this.setCondition(Reasons.RolloutCompleted, `all ${Object.keys(s.targets).length} targets run ${s.toVersion}`);
    this.pushHistory();
    await this.persistAndCommit(`fleetgate: ${this.d.spec.name} healthy at ${s.toVersion} (${this.versions()})`);
    this.emit('rollout_completed', { version: s.toVersion });
    return { outcome: 'Healthy', state: s, reason: Reasons.RolloutCompleted };
  }

  private async interrupted(): Promise<RunResult> {
    this.setCondition(
      Reasons.Interrupted,
      `interrupted at ${this.state.currentWave}; run \`fleetgate run\` again to continue`,
    );
    await this.persist();
    return {
      outcome: 'Paused',
      state: this.state,
      reason: Reasons.Interrupted,
      message: this.state.condition!.message,
    };
  }

  /** Applies a wave's pending targets; returns true when the circuit breaker tripped. */
  private async applyWave(wave: PlannedWave, desired: string): Promise<boolean> {
    const s = this.state;
    const max = this.tierOf(wave).strategy.circuitBreaker.maxConsecutiveFailures;
    const todo = wave.targets.filter((id) => {
      const p = s.targets[id]?.phase;
      return p !== 'Succeeded' && p !== 'Failed';
    });
    let tripped = false;
    const streak: string[] = [];
    await pool(
      todo,
      wave.maxUnavailable,
      () => tripped || (this.d.signal?.aborted ?? false),
      async (id) => {
        const outcome = await this.upgradeTarget(wave, id, desired);
        if (outcome === 'Failed') {
          s.breaker.consecutiveFailures++;
          streak.push(id);
          if (s.breaker.consecutiveFailures >= max && !tripped) {
            tripped = true;
            const reason = Messages.breakerTripped(streak.slice(-max), max);
            s.breaker.trips.push({ at: this.now(), wave: wave.id, failedTargets: streak.slice(-max), reason });
            this.emit('circuit_breaker_tripped', { wave: wave.id, failedTargets: streak.slice(-max), reason });
          }
        } else if (outcome === 'Succeeded' || outcome === 'Skipped') {
          s.breaker.consecutiveFailures = 0;
          streak.length = 0;
        }
      },
    );
    // In-flight targets finished; a trip recorded before the last one finished is still a trip.
    await this.persist();
    return tripped;
  }

  /**
   * Records the step a target is in. A step that changes the target (drain, upgrade,
   * undrain) is written ahead: it is on disk before the step runs, so after a crash the
   * state says which targets were touched. A read-only step (probe, verify) is written
   * with the next write, without waiting for it: nothing on the target depends on it,
   * and a failed write still stops the rollout at the next step that waits.
   */
  private async step(ts: TargetState, name: string): Promise<void> {
    ts.step = name;
    if (READ_ONLY_STEPS.has(name)) this.persistSoon();
    else await this.persist();
  }

  /** Asks for a write without waiting for it (see {@link step}); its failure surfaces at the next awaited write. */
  private persistSoon(): void {
    this.persist().catch(() => undefined);
  }

  private fail(wave: PlannedWave, id: string, ts: TargetState, message: string): TargetOutcome {
    ts.phase = 'Failed';
    ts.message = message;
    ts.finishedAt = this.now();
    this.emit('target_failed', { wave: wave.id, target: id, step: ts.step, message });
    return 'Failed';
  }

  /**
   * Moves one target to `version`: drain → upgrade (when `change`) → verify, polled until
   * healthy → version re-probed → undrain. `record(step)` runs before each step (the engine
   * records the step there; see `step` for which records are written ahead). Shared by
   * upgrades and rollbacks.
   * @returns `undefined` when the target runs `version`, healthy and undrained; else why not.
   */
  private async moveTarget(
    waveId: string,
    id: string,
    version: string,
    opts: { change: boolean; record: (step: string) => Promise<void>; during?: 'rollback' },
  ): Promise<string | undefined> {
    const steps = this.d.spec.steps;
    const ts = this.state.targets[id]!;
    const vars = this.vars(this.target(id), version);
    const signal = this.d.signal;
    const run = async (name: 'drain' | 'upgrade' | 'undrain', step: StepSpec): Promise<string | undefined> => {
      await opts.record(name);
      const r = await this.d.runner.run(step, vars, { signal });
      this.emit('target_step', {
        wave: waveId,
        target: id,
        step: name,
        ok: r.ok,
        durationMs: r.durationMs,
        during: opts.during,
      });
      return r.ok ? undefined : `${name} to ${version} failed: ${r.message}`;
    };
    if (opts.change) {
      for (const name of ['drain', 'upgrade'] as const) {
        const step = steps[name];
        const why = step ? await run(name, step) : undefined;
        if (why !== undefined) return why;
      }
    }
    await opts.record('verify');
    const health = await pollUntilHealthy(
      this.d.runner,
      steps.verify,
      vars,
      this.d.clock,
      (r, n) =>
        this.emit('target_health_check', {
          wave: waveId,
          target: id,
          healthy: r.ok,
          probe: n,
          during: opts.during,
          message: r.ok ? undefined : r.message,
        }),
      signal,
    );
    if (!health.ok) return `health check failed on ${version}: ${health.message}`;
    const after = await this.d.runner.run(steps.version, vars, { extractVersion: true, signal });
    if (!after.ok) return `version step failed after moving to ${version}: ${after.message}`;
    ts.version = after.version;
    if (after.version !== version) return `reports ${after.version} after moving to ${version}, expected ${version}`;
    return steps.undrain ? run('undrain', steps.undrain) : undefined;
  }

  /**
   * drain → upgrade → verify → undrain for one target, each step recorded
   * before it runs. A target already on `desired` is not upgraded again.
   */
  private async upgradeTarget(wave: PlannedWave, id: string, desired: string): Promise<TargetOutcome> {
    const s = this.state;
    const target = this.target(id);
    const steps = this.d.spec.steps;
    const vars = this.vars(target, desired);
    const ts: TargetState = (s.targets[id] ??= { phase: 'Pending' });
    ts.phase = 'InProgress';
    ts.startedAt ??= this.now();
    ts.attempts = (ts.attempts ?? 0) + 1;
    ts.message = undefined;
    this.emit('target_started', { wave: wave.id, target: id, version: desired, attempt: ts.attempts });
    await this.step(ts, 'probe');
    const probe = await this.d.runner.run(steps.version, vars, { extractVersion: true, signal: this.d.signal });
    if (!probe.ok) return this.fail(wave, id, ts, `version step failed: ${probe.message}`);
    ts.from ??= probe.version;
    ts.version = probe.version;
    const already = probe.version === desired;
    const why = await this.moveTarget(wave.id, id, desired, {
      change: !already,
      record: (step) => this.step(ts, step),
    });
    if (why !== undefined) return this.fail(wave, id, ts, why);
    ts.phase = 'Succeeded';
    ts.step = undefined;
    ts.finishedAt = this.now();
    if (already) ts.skipped = true;
    // Not waited for: the wave waits for its last write before it is done, and the next
    // target's write-ahead of its drain carries this one's outcome.
    this.persistSoon();
    this.emit(already ? 'target_skipped' : 'target_completed', {
      wave: wave.id,
      target: id,
      version: desired,
      ...(already ? { message: `already ran ${desired}; not upgraded again` } : {}),
    });
    return already ? 'Skipped' : 'Succeeded';
  }

  /** Canary cohort (the wave's upgraded targets) and baseline (its tier's targets not yet touched). */
  private cohorts(wave: PlannedWave): { cohort: Cohort; baseline?: Cohort } {
    const s = this.state;
    const cohort: Cohort = {
      name: 'canary',
      targets: wave.targets.filter((id) => s.targets[id]?.phase === 'Succeeded').map((id) => this.target(id)),
    };
    const tier = this.d.plan.tiers.find((t) => t.name === wave.tier);
    const stable = (tier?.targets ?? []).filter((id) => (s.targets[id]?.phase ?? 'Pending') === 'Pending');
    return {
      cohort,
      baseline: stable.length > 0 ? { name: 'baseline', targets: stable.map((id) => this.target(id)) } : undefined,
    };
  }

  /**
   * The window `baseline: {cohort: before}` compares with: the previous wave's observation
   * window in the same tier (this wave's targets were in its baseline, and `scrape` kept those
   * samples), else the window of the same length ending when this wave started.
   */
  private beforeWindow(wave: PlannedWave): AnalysisWindow | undefined {
    const previous = this.d.plan.waves.filter((w) => w.tier === wave.tier && w.index < wave.index).at(-1);
    const prevState = previous && this.state.waves.find((w) => w.id === previous.id);
    if (previous && prevState?.observeUntil && previous.observeMs > 0) {
      const end = Date.parse(prevState.observeUntil);
      return { startMs: end - previous.observeMs, endMs: end };
    }
    const started = this.state.waves.find((w) => w.id === wave.id)?.startedAt;
    if (!started) return undefined;
    const start = Date.parse(started);
    return { startMs: start - wave.observeMs, endMs: start };
  }

  /** Opens the analysis window (providers that sample both ends take their first sample). */
  private async beginAnalysis(wave: PlannedWave, _desired: string, untilMs: number): Promise<void> {
    const analysis = this.d.analysis;
    if (!analysis || wave.observeMs <= 0) return;
    const problem = await beginAnalysisWindow(analysis.provider, {
      ...this.cohorts(wave),
      window: { startMs: untilMs - wave.observeMs, endMs: untilMs },
    });
    if (problem) this.emit('analysis_warning', { wave: wave.id, message: problem });
  }

  /**
   * Measures the wave's metrics over its observation window `[untilMs - observe, untilMs]`
   * (waiting while it is open; at once when it already elapsed).
   * @returns undefined when the spec has no analysis or the window is empty.
   */
  private async analyze(
    wave: PlannedWave,
    _desired: string,
    untilMs: number,
    signal: AbortSignal,
  ): Promise<AnalysisAssessment | undefined> {
    const analysis = this.d.analysis;
    if (!analysis || !this.d.spec.analysis || wave.observeMs <= 0) return undefined;
    const { cohort, baseline } = this.cohorts(wave);
    if (cohort.targets.length === 0) return undefined;
    const window = { startMs: untilMs - wave.observeMs, endMs: untilMs };
    return analyzeWindow(this.d.spec.analysis, analysis.provider, {
      cohort,
      baseline,
      window,
      before: this.beforeWindow(wave),
      now: () => this.d.clock.now().getTime(),
      sleep: (ms) => this.d.clock.sleep(ms, signal),
      signal: this.d.signal ? AbortSignal.any([this.d.signal, signal]) : signal,
    });
  }

  /**
   * Keeps checking the wave's upgraded targets until `untilMs` (epoch ms).
   * @returns ids that turned unhealthy (marked Failed).
   */
  private async observe(wave: PlannedWave, desired: string, untilMs: number): Promise<string[]> {
    const s = this.state;
    const interval = this.tierOf(wave).strategy.observeIntervalMs;
    const ids = wave.targets.filter((id) => s.targets[id]?.phase === 'Succeeded');
    const turned: string[] = [];
    const verify = this.d.spec.steps.verify;
    const probeStep = { ...verify, retries: 0, timeoutMs: Math.min(verify.timeoutMs, 10_000) };
    const check = async () => {
      await pool(
        ids,
        16,
        () => false,
        async (id) => {
          if (turned.includes(id)) return;
          const r = await this.d.runner.run(probeStep, this.vars(this.target(id), desired), { signal: this.d.signal });
          this.emit('target_health_check', {
            wave: wave.id,
            target: id,
            healthy: r.ok,
            during: 'observe',
            message: r.ok ? undefined : r.message,
          });
          if (!r.ok) {
            turned.push(id);
            const ts = s.targets[id]!;
            ts.step = 'observe';
            this.fail(wave, id, ts, `unhealthy during the observation window: ${r.message}`);
          }
        },
      );
    };
    let checks = 0;
    while (!this.d.signal?.aborted) {
      const left = untilMs - this.d.clock.now().getTime();
      if (left <= 0) break;
      await this.d.clock.sleep(Math.min(interval, left), this.d.signal);
      await check();
      checks++;
      if (turned.length > 0) break;
    }
    // A window that elapsed while no run was watching (deferred observation) gets one check at its end.
    if (checks === 0 && wave.observeMs > 0 && !this.d.signal?.aborted) await check();
    if (turned.length > 0) await this.persist();
    return turned;
  }

  // ---------------------------------------------------------------- rollback

  /** Rolls back every target this rollout touched, newest wave first, to the version each ran before. */
  private async rollbackTouched(reason: string, code: Reason = Reasons.RollbackRequested): Promise<RunResult> {
    const s = this.state;
    if (s.phase !== 'RollingBack') {
      s.phase = 'RollingBack';
      s.rolledBackFrom = s.toVersion;
      this.setCondition(code, `rolling back ${s.toVersion} (${reason}), by ${this.d.actor}`);
      await this.persistAndCommit(`fleetgate: ${this.d.spec.name} rollback of ${s.toVersion} started`);
    }
    const order: string[] = [];
    for (const w of [...this.d.plan.waves].reverse()) {
      for (const id of w.targets) {
        const t = s.targets[id];
        if (!t) continue;
        const touched =
          t.phase === 'Succeeded' || t.phase === 'Failed' || t.phase === 'InProgress' || t.phase === 'RollbackFailed';
        const pendingRollback = t.step === 'rollback' && t.phase !== 'RolledBack';
        if (touched || pendingRollback) order.push(id);
      }
    }
    return this.applyRollback(order, undefined);
  }

  /**
   * Applies rollback batches. `to` = one version for all (fleetgate rollback);
   * `undefined` = each target back to its own recorded `from`.
   */
  private async applyRollback(order: string[], to: string | undefined): Promise<RunResult> {
    const s = this.state;
    const why = s.condition?.message;
    this.emit('rollback_started', { targets: order.length, to: to ?? s.fromVersion });
    const batches = this.d.planRollback(order);
    for (const batch of batches) {
      s.currentWave = batch.id;
      await pool(
        batch.targets,
        batch.maxUnavailable,
        () => this.d.signal?.aborted ?? false,
        async (id) => {
          const ts = (s.targets[id] ??= { phase: 'Pending' });
          if (ts.phase === 'RolledBack') return;
          const version = to ?? ts.from ?? s.fromVersion;
          if (!version) {
            ts.phase = 'RollbackFailed';
            ts.message = 'no previous version recorded for this target';
            return;
          }
          await this.rollbackTarget(batch.id, id, ts, version);
        },
      );
      if (this.d.signal?.aborted) return this.interrupted();
      await this.persistAndCommit(
        `fleetgate: ${this.d.spec.name} ${batch.id}/${batches.length} done (→ ${to ?? s.fromVersion})`,
      );
    }
    const failed = order.filter((id) => s.targets[id]?.phase === 'RollbackFailed');
    s.currentWave = undefined;
    for (const w of s.waves) {
      if (w.targets.some((id) => s.targets[id]?.phase === 'RolledBack')) w.phase = 'RolledBack';
    }
    if (failed.length > 0) {
      s.phase = 'Degraded';
      this.setCondition(
        Reasons.RollbackFailed,
        `rollback failed on ${failed.length} target(s): ${failed.join(', ')}; see each target's message`,
      );
      this.pushHistory();
      await this.persistAndCommit(`fleetgate: ${this.d.spec.name} rollback failed on ${failed.length} target(s)`);
      this.emit('rollout_degraded', { reason: Reasons.RollbackFailed, failed });
      return { outcome: 'Degraded', state: s, reason: Reasons.RollbackFailed, message: s.condition!.message };
    }
    s.phase = 'RolledBack';
    const version = to ?? s.fromVersion;
    this.setCondition(
      Reasons.RolledBack,
      `rolled back ${order.length} target(s) to ${version}${s.rolledBackFrom ? ` from ${s.rolledBackFrom}` : ''}${why ? `; ${why}` : ''}`,
    );
    // A rollback to an explicit version verified every target healthy on it.
    if (to) s.lastKnownGood = to;
    this.pushHistory();
    await this.persistAndCommit(`fleetgate: ${this.d.spec.name} rolled back to ${version}`);
    this.emit('rollout_rolled_back', { version, targets: order.length });
    return { outcome: 'RolledBack', state: s, reason: Reasons.RolledBack, message: s.condition!.message };
  }

  private async rollbackTarget(batch: string, id: string, ts: TargetState, version: string): Promise<void> {
    const target = this.target(id);
    const vars = this.vars(target, version);
    const steps = this.d.spec.steps;
    ts.step = 'rollback';
    ts.message = undefined;
    await this.persist();
    const failWith = async (message: string) => {
      ts.phase = 'RollbackFailed';
      ts.message = message;
      ts.finishedAt = this.now();
      await this.persist();
      this.emit('target_failed', { wave: batch, target: id, step: 'rollback', message });
    };
    const probe = await this.d.runner.run(steps.version, vars, { extractVersion: true, signal: this.d.signal });
    if (!probe.ok) return failWith(`version step failed: ${probe.message}`);
    const why = await this.moveTarget(batch, id, version, {
      change: probe.version !== version,
      record: () => Promise.resolve(),
      during: 'rollback',
    });
    if (why !== undefined) return failWith(why);
    ts.phase = 'RolledBack';
    ts.version = version;
    ts.step = undefined;
    ts.finishedAt = this.now();
    await this.persist();
    this.emit('target_rolled_back', { wave: batch, target: id, version });
  }
}
