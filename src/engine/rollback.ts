/**
 * Rollbacks: of the targets a rollout touched (each back to the version it ran
 * before: the `rollback` decision, a critical metric), or of the whole fleet to a
 * version it ran (`fleetgate rollback [--to]`). Larger waves than the rollout
 * (`rollback.waves`, seed 001 "faster rollback"), no gates, the same health
 * checks; failed and broken targets go first (their outage is the longest), and a
 * target that is down is still reinstalled (a failed version read or drain is
 * recorded and the rollback goes on).
 */
import semver from 'semver';
import { createEmptyState, type TargetState } from '../state/types.js';
import { InvalidPhaseError, VersionPolicyError } from '../errors.js';
import { describeOutOfService } from './budget.js';
import { BudgetGate, leftOutOfService } from './budget-gate.js';
import { ENGINE_ACTOR, type EngineCore, type RunResult } from './core.js';
import { pool, poolMap } from './pool.js';
import { Messages, Reasons, type Reason } from './reasons.js';
import { Leadership } from './leadership.js';
import { moveTarget, recordVersion } from './target-move.js';
import { knownVersions } from './version-policy.js';
import {
  configLabel,
  configOfVersion,
  configRollbackTarget,
  configVars,
  knownConfigs,
  readConfigRevision,
  readConfigRevisions,
  rollbackConfigFor,
  storedConfig,
  summarizeConfigs,
  targetMove,
} from './config-change.js';
import { Replacer } from './replace.js';

/**
 * `order` with each observed quorum leader moved behind the other members of its tier being
 * rolled back (it goes last, alone: seed 000's quorum procedure); other targets keep their place.
 */
export function leaderLast(
  order: readonly string[],
  leaders: Readonly<Record<string, string>>,
  c: EngineCore,
): string[] {
  let out = [...order];
  for (const [tier, leader] of Object.entries(leaders)) {
    if (!out.includes(leader)) continue;
    const members = new Set(c.plan.tiers.find((t) => t.name === tier)?.targets ?? []);
    const without = out.filter((id) => id !== leader);
    const last = without.reduce((at, id, i) => (members.has(id) ? i : at), -1);
    out = [...without.slice(0, last + 1), leader, ...without.slice(last + 1)];
  }
  return out;
}

/** How one target's rollback ended. */
type RollbackOutcome = 'RolledBack' | 'RollbackFailed' | 'Blocked' | 'Stopped';

export class RollbackRunner {
  private readonly gate: BudgetGate;

  private readonly replacer: Replacer;

  constructor(private readonly c: EngineCore) {
    this.gate = new BudgetGate(c);
    this.replacer = new Replacer(c, this.gate);
  }

  /**
   * Rolls back every target this rollout touched to the version each ran before.
   * @param automatic - true when Fleetgate decided it (a critical metric): attributed to Fleetgate, not the user
   */
  async rollbackTouched(
    reason: string,
    code: Reason = Reasons.RollbackRequested,
    automatic = false,
  ): Promise<RunResult> {
    const c = this.c;
    const s = c.state;
    if (s.phase !== 'RollingBack') {
      const by = automatic ? `${ENGINE_ACTOR} (automatic)` : c.d.actor;
      if (automatic)
        s.decisions.push({ at: c.now(), decision: 'rollback', by: ENGINE_ACTOR, reason, wave: s.currentWave });
      s.phase = 'RollingBack';
      s.rolledBackFrom = s.toVersion;
      s.rolledBackFromConfig = s.toConfig;
      c.setCondition(code, `rolling back ${s.toVersion}${configLabel(s.toConfig)} (${reason}), by ${by}`);
      await c.persistAndCommit(`fleetgate: ${c.spec.name} rollback of ${s.toVersion} started`);
    }
    // A resumed `fleetgate rollback` (isRollback) covers every target not back yet.
    // A target a replace tier provisioned goes back with its slot (the id the plan knows it by).
    const touched = (t: TargetState) =>
      t.replaces === undefined &&
      ((s.isRollback === true && t.phase !== 'RolledBack') ||
        t.phase === 'Succeeded' ||
        t.phase === 'Failed' ||
        t.phase === 'Progressing' ||
        t.phase === 'RollbackFailed' ||
        (t.step === 'rollback' && t.phase !== 'RolledBack'));
    const order: string[] = [];
    for (const w of [...c.plan.waves].reverse()) {
      for (const id of w.targets) {
        const t = s.targets[id];
        if (t && touched(t) && !order.includes(id)) order.push(id);
      }
    }
    // Targets recorded in the state but no longer planned (a re-plan, an exclusion) go back too.
    for (const [id, t] of Object.entries(s.targets)) if (touched(t) && !order.includes(id)) order.push(id);
    return this.applyRollback(this.brokenFirst(order), undefined);
  }

  /**
   * `fleetgate rollback [--to version]`: the whole fleet back to `version` (default: the
   * last known good; without one, each target to the version it ran before).
   * @throws VersionPolicyError (`UnknownRollbackVersion`) when `version` is not a version the fleet ran
   */
  async rollbackTo(version: string | undefined, reason?: string): Promise<RunResult> {
    const c = this.c;
    const state = c.state;
    if (state.phase === 'RollingBack') return this.rollbackTouched('resume');
    // `--to <revision>`: a configuration the state kept, at the version the fleet runs (docs/config-rollouts.md).
    const byConfig = c.spec.config ? configRollbackTarget(state, version) : undefined;
    const known = knownVersions(state);
    if (!byConfig && version !== undefined && (!semver.valid(version) || !known.includes(version))) {
      const configs = c.spec.config ? knownConfigs(state) : [];
      throw new VersionPolicyError(
        'UnknownRollbackVersion',
        `refusing to roll back to ${JSON.stringify(version)}: ${
          semver.valid(version)
            ? 'the fleet never ran it (by the state)'
            : `it is not a semver version${c.spec.config ? ' nor a configuration revision the state kept' : ''}`
        }; versions the fleet ran: ${known.length > 0 ? known.join(', ') : 'none recorded'}${
          c.spec.config ? `; configuration revisions kept: ${configs.length > 0 ? configs.join(', ') : 'none'}` : ''
        }. To move to another version, change the spec's version and run it (with its gates and canary)`,
      );
    }
    const to = byConfig ? (byConfig.version ?? state.lastKnownGood) : (version ?? state.lastKnownGood);
    // The configuration to restore with it: the one named, or the one the fleet last ran that version with.
    const askedConfig = byConfig?.config ?? (c.spec.config ? configOfVersion(state, to) : undefined);
    const toConfig = storedConfig(c.spec, state, askedConfig) ? askedConfig : undefined;
    const ids = [...c.plan.waves].reverse().flatMap((w) => w.targets);
    if (to === undefined && !ids.some((id) => state.targets[id]?.from !== undefined)) {
      throw new InvalidPhaseError(
        `rollout ${c.spec.name} has no last known good version and no target has a recorded previous version: pass --to <version>`,
      );
    }
    // Observe first: a fleet that already runs the version needs nothing.
    const reported = await this.readVersions(ids);
    const wanted = (id: string) => to ?? state.targets[id]?.from;
    // With a config, the revision is observed too: each target's previous one, or the one restored for all.
    const reportedConfig = await readConfigRevisions(c, ids);
    const wantedConfig = (id: string) => {
      const revision = to !== undefined ? toConfig : state.targets[id]?.configFrom;
      return storedConfig(c.spec, state, revision) ? revision : undefined;
    };
    // A target left out of service (failed after its drain, or stopped mid-move) is undrained
    // and verified even when it already reports the version.
    const wasOut = new Set(ids.filter((id) => state.targets[id] !== undefined && leftOutOfService(state.targets[id])));
    const todo = ids.filter(
      (id) =>
        reported.get(id) !== wanted(id) ||
        wasOut.has(id) ||
        (wantedConfig(id) !== undefined && reportedConfig.get(id) !== wantedConfig(id)),
    );
    if (todo.length === 0) {
      const message = `every target already runs ${to ?? 'the version it ran before'}${configLabel(toConfig)}: nothing to roll back`;
      c.emit('rollout_completed', { version: to, message });
      return { outcome: 'Healthy', state, reason: Reasons.NothingToRollBack, message };
    }
    const previous = state.toVersion;
    if (state.phase === 'Progressing' || state.phase === 'Paused') {
      state.decisions.push({ at: c.now(), decision: 'rollback', by: c.d.actor, reason, wave: state.currentWave });
      c.pushHistory();
    }
    const targets: Record<string, TargetState> = {};
    for (const id of ids) {
      const before = state.targets[id];
      // Out of service stays recorded as such until the rollback brings it back (the budget counts it).
      const t: TargetState =
        before && wasOut.has(id)
          ? { phase: before.phase, step: before.step, ...(before.message ? { message: before.message } : {}) }
          : { phase: 'Pending' };
      // A replaced slot keeps what says which target is in it now (src/engine/replace-slots.ts).
      if (before?.retired) Object.assign(t, { retired: true, replacedBy: before.replacedBy });
      if (before?.replace) t.replace = before.replace;
      const v = reported.get(id);
      if (v !== undefined) t.from = v;
      else if (before?.version !== undefined) t.from = before.version;
      if (!to && before?.from) t.to = before.from;
      const revision = reportedConfig.get(id) ?? before?.config;
      if (revision !== undefined) t.config = revision;
      const restore = wantedConfig(id);
      if (restore !== undefined) t.configTo = restore;
      targets[id] = t;
    }
    const previousConfig = state.toConfig;
    // What was rolled back (refused by `run` until the spec changes or --retry-rolled-back): a version, or a configuration.
    const undone = (to !== undefined && previous !== to) || (toConfig !== undefined && previousConfig !== toConfig);
    for (const [id, t] of Object.entries(state.targets)) if (t.replaces !== undefined && !targets[id]) targets[id] = t;
    const fresh = createEmptyState(c.spec.name);
    Object.assign(state, {
      ...fresh,
      revision: state.revision,
      lastKnownGood: state.lastKnownGood,
      history: state.history,
      decisions: state.decisions,
      phase: 'RollingBack' as const,
      fromVersion: previous,
      toVersion: to,
      fromConfig: previousConfig,
      toConfig,
      isRollback: true,
      rolledBackFrom: undone ? previous : undefined,
      rolledBackFromConfig: undone ? previousConfig : undefined,
      startedAt: c.now(),
      targets,
      hooks: undefined,
      excluded: undefined,
    });
    c.setCondition(
      Reasons.RollbackRequested,
      `rollback to ${to ?? "each target's previous version"}${configLabel(toConfig)} requested by ${c.d.actor}${reason ? `: ${reason}` : ''}`,
    );
    await c.persistAndCommit(
      `fleetgate: ${c.spec.name} rollback started (${previous ?? '?'} → ${to ?? 'previous'}${configLabel(toConfig)})`,
    );
    const order = this.brokenFirst(
      todo,
      (id) => wasOut.has(id) || reported.get(id) === undefined || !semver.valid(reported.get(id)),
    );
    return this.applyRollback(order, to);
  }

  /** Reads every target's version (read-only, concurrent); a target that does not answer maps to undefined. */
  private async readVersions(ids: string[]): Promise<Map<string, string | undefined>> {
    const c = this.c;
    return poolMap(
      ids,
      c.d.probeConcurrency ?? 16,
      () => c.aborted,
      async (id) => {
        if (!c.hasTarget(id)) return undefined;
        const r = await c.d.runner.run(c.stepsFor(id).version, c.vars(c.target(id), c.spec.version), {
          extractVersion: true,
          signal: c.d.signal,
        });
        return r.ok ? r.version : undefined;
      },
    );
  }

  /** Failed and broken targets first (their outage is the longest), keeping the order otherwise. */
  private brokenFirst(order: string[], broken: (id: string) => boolean = () => false): string[] {
    const s = this.c.state;
    const isBroken = (id: string) => {
      const t = s.targets[id];
      return (
        broken(id) ||
        (t !== undefined && (leftOutOfService(t) || t.phase === 'Failed' || t.versionUnknown !== undefined))
      );
    };
    return [...order.filter(isBroken), ...order.filter((id) => !isBroken(id))];
  }

  /**
   * The leader of each quorum tier among `order` whose `leader` step answers now (leadership
   * moves: the labelled leader may be a follower by now). A tier whose step does not answer
   * keeps the plan's labelled leader: a rollback goes on when parts of the fleet are down.
   */
  private async observeLeaders(order: string[]): Promise<Record<string, string>> {
    const c = this.c;
    const leadership = new Leadership(c);
    const out: Record<string, string> = {};
    const rolled = new Set(order);
    for (const tier of c.plan.tiers) {
      if (!tier.quorum || !tier.targets.some((id) => rolled.has(id))) continue;
      const step = leadership.leaderStep(tier.name);
      if (!step) continue;
      const reading = await leadership.read(tier.name, step);
      if (reading.ok) {
        out[tier.name] = reading.leader;
        c.emit('leader_observed', {
          tier: tier.name,
          leader: reading.leader,
          askedOf: reading.askedOf,
          rollback: true,
        });
      } else {
        c.emit('leader_observed', { tier: tier.name, message: reading.message, rollback: true, leader: tier.leader });
      }
    }
    return out;
  }

  /**
   * Runs the rollback's waves (`rollback/1`, `rollback/2`, …), one after another. `to` = one version for all (fleetgate rollback);
   * `undefined` = each target back to its own recorded version (`to`, else `from`).
   */
  private async applyRollback(given: string[], to: string | undefined): Promise<RunResult> {
    const c = this.c;
    const s = c.state;
    const why = s.condition?.message;
    const leaders = await this.observeLeaders(given);
    const order = leaderLast(given, leaders, c);
    c.emit('rollback_started', { targets: order.length, to: to ?? s.fromVersion });
    const waves = c.d.planRollback(order, leaders);
    const blocked: string[] = [];
    let blockedWhy: string | undefined;
    for (const wave of waves) {
      s.currentWave = wave.id;
      await pool(
        wave.targets,
        wave.maxUnavailable,
        () => c.aborted,
        async (id) => {
          const ts = (s.targets[id] ??= { phase: 'Pending' });
          if (ts.phase === 'RolledBack') return;
          const version = ts.to ?? to ?? (s.isRollback ? s.toVersion : undefined) ?? ts.from ?? s.fromVersion;
          if (!version) {
            ts.phase = 'RollbackFailed';
            ts.message = 'no previous version recorded for this target';
            return;
          }
          const tier = c.tierNameOf(id);
          const planned = c.plan.tiers.find((t) => t.name === tier);
          // The tier's budget holds in a rollback too, unless the spec gives rollbacks their own
          // (`rollback.maxUnavailable`); a quorum never loses its majority either way.
          const own = c.spec.rollback.maxUnavailable !== undefined ? wave.maxUnavailable : undefined;
          const tierBudget = planned?.budget ?? wave.maxUnavailable;
          const budget = planned?.quorum ? Math.min(own ?? tierBudget, tierBudget) : (own ?? tierBudget);
          const outcome = await this.rollbackTarget(wave.id, id, ts, version, tier, budget);
          if (outcome === 'Blocked') {
            blocked.push(id);
            blockedWhy ??= ts.message;
          }
        },
      );
      if (c.aborted) return this.interrupted();
      await c.persistAndCommit(`fleetgate: ${c.spec.name} ${wave.id}/${waves.length} done (→ ${to ?? s.fromVersion})`);
    }
    const failed = order.filter((id) => s.targets[id]?.phase === 'RollbackFailed');
    s.currentWave = undefined;
    for (const w of s.waves) {
      if (w.targets.some((id) => s.targets[id]?.phase === 'RolledBack')) w.phase = 'RolledBack';
    }
    if (failed.length > 0 || blocked.length > 0) {
      s.phase = 'Degraded';
      const parts = [
        ...(failed.length > 0 ? [`rollback failed on ${failed.length} target(s): ${failed.join(', ')}`] : []),
        ...(blocked.length > 0 ? [`${blocked.length} target(s) not rolled back (${blockedWhy})`] : []),
      ];
      c.setCondition(Reasons.RollbackFailed, `${parts.join('; ')}; see each target's message`);
      c.pushHistory();
      await c.persistAndCommit(
        `fleetgate: ${c.spec.name} rollback failed on ${failed.length + blocked.length} target(s)`,
      );
      c.emit('rollout_degraded', { reason: Reasons.RollbackFailed, failed: [...failed, ...blocked] });
      return { outcome: 'Degraded', state: s, reason: Reasons.RollbackFailed, message: s.condition!.message };
    }
    s.phase = 'RolledBack';
    const summary = `${summarizeByVersion(order.map((id) => s.targets[id]?.version))}${
      c.spec.config ? summarizeConfigs(order.map((id) => s.targets[id]?.config)) : ''
    }`;
    c.setCondition(
      Reasons.RolledBack,
      `rolled back ${order.length} target(s): ${summary}${s.rolledBackFrom ? ` (from ${s.rolledBackFrom}${configLabel(s.rolledBackFromConfig)})` : ''}${why ? `; ${why}` : ''}`,
    );
    // A rollback to an explicit version verified every target healthy on it.
    if (to) s.lastKnownGood = to;
    if (to && s.toConfig !== undefined) s.lastKnownGoodConfig = s.toConfig;
    c.pushHistory();
    await c.persistAndCommit(`fleetgate: ${c.spec.name} rolled back: ${summary}`);
    c.emit('rollout_rolled_back', { version: to ?? s.fromVersion, targets: order.length, summary });
    return { outcome: 'RolledBack', state: s, reason: Reasons.RolledBack, message: s.condition!.message };
  }

  private async rollbackTarget(
    waveId: string,
    id: string,
    ts: TargetState,
    version: string,
    tier: string | undefined,
    budget: number,
  ): Promise<RollbackOutcome> {
    const c = this.c;
    // A slot of a replace tier: its replacement undone, or replaced again on the version (src/engine/replace.ts).
    if (this.replacer.isReplaceSlot(id)) {
      ts.to = version;
      await c.persist();
      const done = await this.replacer.rollbackSlot(waveId, id, version, {
        budget,
        onBlocked: (why) => {
          ts.message = why;
        },
      });
      if (done === 'RolledBack') ts.to = undefined;
      await c.persist();
      return done;
    }
    // With a config: the revision it goes back to (written ahead, like `to`), when the state kept its content.
    const restore = rollbackConfigFor(c, ts);
    const restoring = configVars(c.spec, c.state, restore);
    const vars = c.vars(c.target(id), version, restoring ?? c.desiredConfig());
    const before = { phase: ts.phase, step: ts.step };
    ts.to = version;
    if (restore !== undefined) ts.configTo = restore;
    ts.step = 'rollback';
    ts.message = undefined;
    await c.persist();
    const failWith = async (message: string): Promise<RollbackOutcome> => {
      ts.phase = 'RollbackFailed';
      ts.message = message;
      ts.finishedAt = c.now();
      await c.persist();
      c.emit('target_failed', { wave: waveId, target: id, step: 'rollback', message });
      return 'RollbackFailed';
    };
    // A target that is down does not answer: record it and reinstall it anyway.
    const probe = await c.d.runner.run(c.stepsFor(id).version, vars, { extractVersion: true, signal: c.d.signal });
    if (probe.ok) {
      recordVersion(ts, probe.version);
      if (probe.version !== version) ts.from = probe.version;
    } else {
      recordVersion(ts, undefined, probe.message);
      c.emit('target_observed', {
        wave: waveId,
        target: id,
        message: `version step failed: ${probe.message}; reinstalling ${version}`,
      });
    }
    const observed = probe.ok && c.spec.config ? await readConfigRevision(c, id, vars) : undefined;
    if (observed) ts.config = observed.ok ? observed.revision : undefined;
    const move = targetMove(c, probe.ok && probe.version === version, ts.config, restore);
    if (c.spec.config && restore === undefined)
      c.emit('target_observed', {
        wave: waveId,
        target: id,
        message: `configuration ${ts.config ?? 'unknown'} kept: the one it ran before is not recorded in the state`,
      });
    const moved = await moveTarget(c, waveId, id, version, {
      change: !probe.ok || move.change,
      reload: probe.ok && move.reload,
      // Kept as it is when the previous one is not recorded: its own (known) configuration, else the spec's.
      config: restoring ?? configVars(c.spec, c.state, ts.config) ?? c.desiredConfig(),
      configUnchecked: restoring === undefined,
      record: () => Promise.resolve(),
      during: 'rollback',
      gate: tier ? { gate: this.gate, tier, budget } : undefined,
      tolerateFailedDrain: true,
      markOut: () => {
        if (!c.aborted) ts.phase = 'RollbackFailed';
      },
    });
    if (!moved.ok) {
      if (moved.stopped) return 'Stopped';
      if (moved.blocked) {
        ts.phase = before.phase;
        ts.step = before.step;
        ts.message = Messages.budgetExhausted(
          id,
          tier ?? '?',
          moved.blocked.budget,
          describeOutOfService(moved.blocked.out),
        );
        return 'Blocked';
      }
      return failWith(moved.why);
    }
    ts.phase = 'RolledBack';
    ts.version = version;
    ts.to = undefined;
    if (restore !== undefined) ts.config = restore;
    ts.configTo = undefined;
    ts.step = undefined;
    ts.finishedAt = c.now();
    await c.persist();
    c.emit('target_rolled_back', {
      wave: waveId,
      target: id,
      version,
      ...(restore !== undefined && { config: restore }),
      ...(move.reload && { reloaded: true }),
    });
    return 'RolledBack';
  }

  private interrupted(): Promise<RunResult> {
    return this.c.interrupted();
  }
}

/** `3 to 1.7.0, 2 to 1.6.0` — targets grouped by the version they got (most first). */
export function summarizeByVersion(versions: readonly (string | undefined)[]): string {
  const counts = new Map<string, number>();
  for (const v of versions) counts.set(v ?? 'unknown', (counts.get(v ?? 'unknown') ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (semver.valid(a[0]) && semver.valid(b[0]) ? semver.rcompare(a[0], b[0]) : 0))
    .map(([v, n]) => `${n} to ${v}`)
    .join(', ');
}
