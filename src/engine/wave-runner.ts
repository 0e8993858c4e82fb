/**
 * Running one wave: its pending targets, concurrently up to the wave's
 * `maxUnavailable`, each take-down admitted by the tier's budget; the circuit
 * breaker on consecutive failures; no new target once the wave's failures are
 * above its tolerance or a take-down was refused.
 */
import type { PlannedWave } from '../plan/types.js';
import type { TargetState } from '../state/types.js';
import { describeOutOfService } from './budget.js';
import { BudgetGate } from './budget-gate.js';
import type { EngineCore } from './core.js';
import type { Leadership, LeadershipProblem } from './leadership.js';
import { pool } from './pool.js';
import { Messages, type Reason } from './reasons.js';
import { moveTarget, observeVersion, recordVersion } from './target-move.js';
import { configLabel, observeConfig, targetMove } from './config-change.js';
import { exceedsTolerance } from './transitions.js';
import { Replacer } from './replace.js';
import { waveConcurrency } from '../plan/replace.js';

type TargetOutcome = 'Succeeded' | 'Failed' | 'Skipped' | 'Blocked' | 'Stopped';

/** Steps that only read a target: recorded with the next state write, not written ahead (see `recordStep`). */
const READ_ONLY_STEPS: ReadonlySet<string> = new Set(['version', 'verify', 'caughtUp']);

/** What a wave's steps left behind. */
export interface WaveRunResult {
  /** The breaker's reason when it tripped. */
  breakerTripped?: string;
  /** Why a take-down was refused by the budget (names the members out). */
  budgetExhausted?: string;
  /** Why the leader of a quorum tier was not taken down (leadership could not be moved off it). */
  leadership?: LeadershipProblem;
  /** A sharded leg's own breaker trip (the state's breaker is the verdict's to change). */
  trip?: { reason: string; failedTargets: string[]; at: string };
}

/**
 * What a leg of a sharded wave may do (`run --shard i/N`): only its slice, within its share of
 * the budget, counting the members of its slice and those outside the wave, not the other legs'.
 */
export interface WaveScope {
  /** The targets this leg moves. */
  targets: readonly string[];
  /** Most members of the tier this leg may have out at once (its share, see `shardBudget`; ≥ 1). */
  budget: number;
  /** The wave's targets of the other legs: not counted against this leg's share. */
  ignore: ReadonlySet<string>;
}

export class WaveRunner {
  readonly gate: BudgetGate;
  /** Slots of `replace` tiers: provision, observe, in service, drain and retire instead of an in-place move. */
  private readonly replacer: Replacer;

  constructor(
    private readonly c: EngineCore,
    private readonly leadership?: Leadership,
  ) {
    this.gate = new BudgetGate(c);
    this.replacer = new Replacer(c, this.gate);
  }

  /**
   * Applies a wave's pending targets; with `scope` (a leg of a sharded wave) only the scope's,
   * within its budget, with a breaker and a tolerance of its own that leave the state's breaker
   * untouched (the verdict counts it over the whole wave).
   */
  async applyWave(wave: PlannedWave, desired: string, scope?: WaveScope): Promise<WaveRunResult> {
    const c = this.c;
    const s = c.state;
    const strategy = c.tierOf(wave).strategy;
    const max = strategy.circuitBreaker.maxConsecutiveFailures;
    const accepted = s.decisions.some((d) => d.decision === 'continue' && d.wave === wave.id);
    const budget = scope?.budget ?? c.plan.tiers.find((t) => t.name === wave.tier)?.budget ?? wave.maxUnavailable;
    const mine = scope?.targets ?? wave.targets;
    this.gate.ignored = scope?.ignore ?? new Set();
    const todo = mine.filter((id) => {
      const p = s.targets[id]?.phase;
      return p !== 'Succeeded' && p !== 'Failed';
    });
    const result: WaveRunResult = {};
    const streak: string[] = [];
    // A leg counts its own streak from what earlier waves left; one run counts in the state.
    const breaker = scope ? { consecutiveFailures: s.breaker.consecutiveFailures } : s.breaker;
    const failedInWave = () => mine.filter((id) => s.targets[id]?.phase === 'Failed').length;
    const stop = () =>
      result.breakerTripped !== undefined ||
      result.budgetExhausted !== undefined ||
      result.leadership !== undefined ||
      c.aborted ||
      (!accepted && exceedsTolerance(failedInWave(), mine.length, strategy.failureTolerancePercent));
    // A replace tier's wave runs maxSurge + maxUnavailable replacements at once (src/plan/replace.ts).
    const concurrency = scope ? Math.max(1, Math.min(wave.maxUnavailable, scope.budget)) : waveConcurrency(wave);
    await pool(todo, concurrency, stop, async (id) => {
      if (stop()) return;
      const outcome = this.replacer.isReplaceSlot(id)
        ? await this.replacer.replaceTarget(wave, id, desired, {
            budget,
            shouldStop: stop,
            onBlocked: (why) => {
              result.budgetExhausted ??= why;
            },
          })
        : await this.upgradeTarget(
            wave,
            id,
            desired,
            budget,
            stop,
            (why) => {
              result.budgetExhausted ??= why;
            },
            (problem) => {
              result.leadership ??= problem;
            },
          );
      if (outcome === 'Failed') {
        breaker.consecutiveFailures++;
        streak.push(id);
        if (breaker.consecutiveFailures >= max && result.breakerTripped === undefined) {
          const reason = Messages.breakerTripped(streak.slice(-max), max);
          result.breakerTripped = reason;
          const trip = { at: c.now(), wave: wave.id, failedTargets: streak.slice(-max), reason };
          if (scope) result.trip = { reason, failedTargets: trip.failedTargets, at: trip.at };
          else s.breaker.trips.push(trip);
          c.emit('circuit_breaker_tripped', { wave: wave.id, failedTargets: streak.slice(-max), reason });
        }
      } else if (outcome === 'Succeeded' || outcome === 'Skipped') {
        breaker.consecutiveFailures = 0;
        streak.length = 0;
      }
    });
    // In-flight targets finished; a trip recorded before the last one finished is still a trip.
    await c.persist();
    return result;
  }

  /**
   * version → drain → upgrade → verify → undrain for one target, each step recorded
   * before it runs. A target already on `desired` is not upgraded again.
   */
  private async upgradeTarget(
    wave: PlannedWave,
    id: string,
    desired: string,
    budget: number,
    stop: () => boolean,
    onBlocked: (why: string) => void,
    onLeadership: (problem: LeadershipProblem) => void,
  ): Promise<TargetOutcome> {
    const c = this.c;
    const s = c.state;
    const vars = c.vars(c.target(id), desired);
    const ts: TargetState = (s.targets[id] ??= { phase: 'Pending' });
    const previous = { phase: ts.phase, step: ts.step };
    ts.phase = 'Progressing';
    ts.startedAt ??= c.now();
    ts.attempts = (ts.attempts ?? 0) + 1;
    ts.message = undefined;
    ts.reason = undefined;
    c.emit('target_started', { wave: wave.id, target: id, version: desired, attempt: ts.attempts });
    await this.recordStep(ts, 'version');
    const probe = await c.d.runner.run(c.stepsFor(id).version, vars, { extractVersion: true, signal: c.d.signal });
    if (!probe.ok) {
      recordVersion(ts, undefined, probe.message);
      return this.fail(wave, id, ts, `version step failed: ${probe.message}`);
    }
    ts.from ??= probe.version;
    recordVersion(ts, probe.version);
    // The configuration revision is observed like the version; on the right version, another
    // revision is reloaded (hot-reloadable) or fully cycled (docs/config-rollouts.md).
    const observed = await observeConfig(c, id, ts, vars);
    const move = targetMove(c, probe.version === desired, observed, c.spec.config?.revision);
    const already = !move.change;
    if (move.why !== undefined)
      c.emit('target_observed', { wave: wave.id, target: id, config: observed, message: move.why });
    if (
      !already &&
      !move.reload &&
      this.leadership &&
      c.stepsFor(id).transferLeadership &&
      (await this.leadership.mustTransferFrom(wave, id))
    ) {
      // Leadership moves to a member already on the new version before the leader goes down.
      await this.recordStep(ts, 'transferLeadership');
      const problem = await this.leadership.transferFrom(wave, id, desired);
      if (problem !== undefined || c.aborted) {
        // Not taken down: back to where it was (the transfer changed the cluster, not the target).
        ts.phase = previous.phase;
        ts.step = previous.step;
        ts.attempts = Math.max(0, (ts.attempts ?? 1) - 1) || undefined;
        if (problem !== undefined) onLeadership(problem);
        return c.aborted ? 'Stopped' : 'Blocked';
      }
    }
    const moved = await moveTarget(c, wave.id, id, desired, {
      change: !already,
      reload: move.reload,
      record: (step) => this.recordStep(ts, step),
      gate: { gate: this.gate, tier: wave.tier, budget },
      shouldStop: stop,
      // Out of service from the moment the move failed (interrupted: in progress, retried next run).
      markOut: () => {
        if (!c.aborted) ts.phase = 'Failed';
      },
    });
    if (!moved.ok) {
      if (moved.blocked || moved.stopped) {
        // Never taken down: back to where it was, nothing on the target changed.
        // (A target an earlier run left in progress stays so: it may still be out of service.)
        ts.phase = previous.phase;
        ts.step = previous.step;
        ts.attempts = Math.max(0, (ts.attempts ?? 1) - 1) || undefined;
        if (moved.blocked) {
          const tier = wave.tier;
          onBlocked(Messages.budgetExhausted(id, tier, moved.blocked.budget, describeOutOfService(moved.blocked.out)));
        }
        return moved.stopped ? 'Stopped' : 'Blocked';
      }
      if (c.aborted) {
        // Interrupted mid-move (Ctrl-C, SIGTERM): not a failure of the target. It stays in
        // progress at its step, counts as out of service, and the next run moves it again.
        ts.message = `interrupted at ${ts.step ?? 'start'}: ${moved.why}`;
        return 'Stopped';
      }
      await observeVersion(c, wave.id, id, ts);
      return this.fail(wave, id, ts, moved.why, moved.reason);
    }
    ts.phase = 'Succeeded';
    ts.step = undefined;
    ts.finishedAt = c.now();
    if (already) ts.skipped = true;
    // Not waited for: the wave waits for its last write before it is done, and the next
    // target's write-ahead of its drain carries this one's outcome.
    c.persistSoon();
    c.emit(already ? 'target_skipped' : 'target_completed', {
      wave: wave.id,
      target: id,
      version: desired,
      ...(ts.config !== undefined && { config: ts.config }),
      ...(move.reload && { reloaded: true }),
      ...(already
        ? { message: `already ran ${desired}${configLabel(ts.config)}; not upgraded again` }
        : move.reload
          ? { message: `reloaded configuration ${ts.config ?? '?'} (no drain, no restart)` }
          : {}),
    });
    return already ? 'Skipped' : 'Succeeded';
  }

  private fail(wave: PlannedWave, id: string, ts: TargetState, message: string, reason?: Reason): TargetOutcome {
    ts.phase = 'Failed';
    ts.message = message;
    if (reason !== undefined) ts.reason = reason;
    ts.finishedAt = this.c.now();
    this.c.emit('target_failed', { wave: wave.id, target: id, step: ts.step, message, ...(reason && { reason }) });
    return 'Failed';
  }

  /**
   * Records the step a target is in. A step that changes the target (drain, upgrade,
   * undrain) is written ahead: it is on disk before the step runs, so after a crash the
   * state says which targets were touched. A read-only step (probe, verify) is written
   * with the next write, without waiting for it.
   */
  private async recordStep(ts: TargetState, name: string): Promise<void> {
    ts.step = name;
    if (READ_ONLY_STEPS.has(name)) this.c.persistSoon();
    else await this.c.persist();
  }
}
