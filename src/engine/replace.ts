/**
 * Rolling replacement (`strategy.type: replace`, seed 004's "rolling replacement" and "immutable
 * image swap"): instead of upgrading a target in place, a new one is provisioned on the new
 * version, observed, put in service, and only then is the old one drained and retired.
 *
 * Per slot (a target id of the plan):
 *
 * 1. the old target's version is read (one already on the version is skipped; one that does not
 *    answer is replaced all the same — a dead machine is what replacement is for);
 * 2. `surge` when a surge slot of the tier is free (`maxSurge`): the old one stays in service
 *    until the new one is; otherwise `drainFirst`: the old one is admitted by the tier's budget
 *    (`maxUnavailable`, counting every member out for any reason) and drained first;
 * 3. `provision` (written ahead, so a crash says a target may have been made) prints
 *    `{"id", "address", "labels"?}`; the new target is recorded in the state at once;
 * 4. observe, then act: the new target's health check is polled and its version read — the
 *    provision step's word alone is never trusted;
 * 5. `inService` puts it in service; (surge) the old one is drained;
 * 6. `retire` removes the old one, whose version step must then no longer answer;
 * 7. the slot is `Succeeded` with `replacedBy`, the old entry `retired`, the new one `replaces`,
 *    and `replacements` in the state maps the inventory id to the new target for later rollouts.
 *
 * A failure leaves the slot `Failed` with what was provisioned (`replace.new`) and what is in
 * service, and its message says how to go on. A rollback undoes a replacement under way (the new
 * target retired, the old one back in service) and replaces a completed one again, on the version
 * to go back to: a retired target cannot be restored, a new one is provisioned in its place.
 */
import { z } from 'zod';
import type { PlannedWave } from '../plan/types.js';
import { recordReplacement } from '../plan/replace.js';
import type { SettlingStepSpec, StepSpec, Target } from '../spec/types.js';
import type { TargetState } from '../state/types.js';
import { describeOutOfService } from './budget.js';
import type { BudgetGate } from './budget-gate.js';
import type { EngineCore } from './core.js';
import { Messages, Reasons, type Reason } from './reasons.js';
import { pollUntilHealthy } from './steps.js';
import { recordVersion } from './target-move.js';
import { switchBackToOldPool } from './blue-green.js';
import { Notifier } from './pool.js';

/** How one slot's replacement ended (as a wave's target outcome). */
export type ReplaceOutcome = 'Succeeded' | 'Failed' | 'Skipped' | 'Blocked' | 'Stopped';

/** Longest a check that a retired target is gone may take (ms). */
const GONE_CHECK_TIMEOUT_MS = 5_000;

/** Agent-style ids: letters, digits and `. _ : -`, 1 to 128 characters. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** What a `provision` step must print: the new target. */
const ProvisionedSchema = z.object({
  id: z.string().regex(ID_PATTERN, 'must be a target id (letters, digits, . _ : -)'),
  address: z.string().min(1, 'must be an address like 127.0.0.1:8080'),
  labels: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

/**
 * Reads a provision step's output (stdout, or the HTTP body): one JSON object
 * `{"id": string, "address": string, "labels"?: {key: value}}`; labels default to the old target's.
 * @returns the new target, or why the output is not one
 */
export function parseProvisioned(output: string | undefined, old: Target): { target: Target } | { error: string } {
  const text = (output ?? '').trim();
  const line =
    text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .at(-1) ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { error: `its output is not JSON {"id", "address"}: ${JSON.stringify(text.slice(0, 200))}` };
  }
  const r = ProvisionedSchema.safeParse(parsed);
  if (!r.success) {
    const first = r.error.issues[0]!;
    return { error: `its output ${first.path.join('.') || 'object'} ${first.message} (got ${line.slice(0, 200)})` };
  }
  const labels =
    r.data.labels === undefined
      ? { ...old.labels }
      : Object.fromEntries(Object.entries(r.data.labels).map(([k, v]) => [k, String(v)]));
  return { target: { id: r.data.id, address: r.data.address, labels } };
}

/** Options of one slot's replacement. */
export interface ReplaceOptions {
  /** Most members of the tier out of service at once (the tier's budget). */
  budget: number;
  /** True stops before the take-down (a tripped breaker, the wave's tolerance). */
  shouldStop?: () => boolean;
  /** Called with the budget's refusal (names the members out). */
  onBlocked?: (why: string) => void;
  /** A rollback: the slot ends `RolledBack` (and its version is the one gone back to). */
  during?: 'rollback';
}

export class Replacer {
  /** Surge slots in use, per tier. */
  private readonly surging = new Map<string, number>();
  /** Woken when a surge slot is given back. */
  private readonly surgeFreed = new Notifier();

  constructor(
    private readonly c: EngineCore,
    private readonly gate: BudgetGate,
  ) {
    // A run stopping wakes the replacements waiting for a surge slot (they then stop too).
    c.d.signal?.addEventListener('abort', () => this.surgeFreed.notify(), { once: true });
  }

  /** True for a slot of a `replace` or `blueGreen` tier. */
  isReplaceSlot(id: string): boolean {
    const tier = this.c.tierNameOf(id);
    const type = tier === undefined ? undefined : this.c.tierSpec(tier)?.strategy.type;
    return type === 'replace' || type === 'blueGreen';
  }

  private takeSurge(tier: string): boolean {
    const max = this.c.plan.tiers.find((t) => t.name === tier)?.maxSurge ?? 0;
    const used = this.surging.get(tier) ?? 0;
    if (used >= max) return false;
    this.surging.set(tier, used + 1);
    return true;
  }

  private giveSurge(tier: string): void {
    this.surging.set(tier, Math.max(0, (this.surging.get(tier) ?? 0) - 1));
    this.surgeFreed.notify();
  }

  /**
   * Replaces the target in slot `id` by a new one on `version` (see the module's comment).
   * Never throws for a failed step: the outcome and the slot's state say what happened.
   */
  async replaceTarget(
    wave: Pick<PlannedWave, 'id' | 'tier'>,
    id: string,
    version: string,
    opts: ReplaceOptions,
  ): Promise<ReplaceOutcome> {
    const c = this.c;
    const s = c.state;
    const steps = c.stepsFor(id);
    const ts: TargetState = (s.targets[id] ??= { phase: 'Pending' });
    const previous = { phase: ts.phase, step: ts.step };
    const rollback = opts.during === 'rollback';
    if (!rollback) {
      ts.phase = 'Progressing';
      ts.startedAt ??= c.now();
      ts.attempts = (ts.attempts ?? 0) + 1;
    }
    ts.message = undefined;
    ts.reason = undefined;
    if (!rollback) c.emit('target_started', { wave: wave.id, target: id, version, attempt: ts.attempts });
    const old = c.target(ts.replace?.old ?? id);
    const oldVars = c.vars(old, version);
    await this.record(ts, 'version');
    const probe = await c.d.runner.run(steps.version, oldVars, { extractVersion: true, signal: c.d.signal });
    const oldAlive = probe.ok;
    if (probe.ok) {
      if (!rollback) ts.from ??= probe.version;
      recordVersion(ts, probe.version);
    } else recordVersion(ts, undefined, probe.message);
    if (probe.ok && probe.version === version && ts.replace?.new === undefined) {
      ts.phase = rollback ? 'RolledBack' : 'Succeeded';
      ts.step = undefined;
      ts.finishedAt = c.now();
      if (!rollback) ts.skipped = true;
      c.persistSoon();
      c.emit('target_skipped', { wave: wave.id, target: id, version, message: `already ran ${version}; not replaced` });
      return 'Skipped';
    }
    const tier = wave.tier;
    // A replacement an earlier run began keeps its mode (and, for a surge, its slot).
    // A blue-green tier's new pool: provisioned beside the old one, which serves until the switch.
    const pooled = c.tierSpec(tier)?.strategy.type === 'blueGreen';
    let mode = pooled ? 'pool' : ts.replace?.mode;
    let surge = false;
    if (mode === 'surge') {
      this.surging.set(tier, (this.surging.get(tier) ?? 0) + 1);
      surge = true;
    } else if (mode === undefined) {
      surge = this.takeSurge(tier);
      // No member may leave service (budget 0: maxUnavailable 0, or a rollback's concurrency above
      // maxSurge): wait for a surge slot instead of a take-down that can never be admitted.
      while (!surge && opts.budget <= 0 && !c.aborted && !(opts.shouldStop?.() ?? false)) {
        await this.surgeFreed.wait();
        surge = this.takeSurge(tier);
      }
      if (!surge && (c.aborted || (opts.shouldStop?.() ?? false))) {
        ts.phase = previous.phase;
        ts.step = previous.step;
        if (!rollback) ts.attempts = Math.max(0, (ts.attempts ?? 1) - 1) || undefined;
        return 'Stopped';
      }
      mode = surge ? 'surge' : 'drainFirst';
    }
    let admitted = false;
    try {
      if (mode === 'drainFirst') {
        const admission = await this.gate.admit(tier, id, opts.budget, opts.shouldStop);
        if (!admission.admitted) {
          ts.phase = previous.phase;
          ts.step = previous.step;
          if (!rollback) ts.attempts = Math.max(0, (ts.attempts ?? 1) - 1) || undefined;
          if (admission.stopped) return 'Stopped';
          if (admission.assessment)
            opts.onBlocked?.(
              Messages.budgetExhausted(
                id,
                tier,
                admission.assessment.budget,
                describeOutOfService(admission.assessment.out),
              ),
            );
          return 'Blocked';
        }
        admitted = true;
      }
      ts.replace = { ...(ts.replace ?? {}), mode, old: old.id };
      const inService =
        mode !== 'drainFirst' ? `${old.id} is still in service` : `${old.id} is out of service (drained)`;
      if (mode === 'drainFirst' && oldAlive && steps.drain && ts.replace.new === undefined) {
        const why = await this.settleStep(wave.id, 'drain', steps.drain, ts, oldVars, old.id);
        if (why) return this.fail(wave.id, id, ts, `${why}; nothing was provisioned`);
      }
      // 3. provision (or the one an earlier run provisioned).
      let fresh: Target;
      if (ts.replace.new !== undefined && s.targets[ts.replace.new] !== undefined) {
        fresh = c.target(ts.replace.new);
      } else {
        await this.record(ts, 'provision');
        const out = await c.d.runner.run({ ...steps.provision!, json: undefined }, oldVars, {
          extractVersion: true,
          signal: c.d.signal,
        });
        if (!out.ok && !/no version in (output|response)/.test(out.message))
          return this.fail(wave.id, id, ts, `provision failed: ${out.message}; ${inService}`, Reasons.ProvisionFailed);
        const made = parseProvisioned(out.ok ? out.version : '', old);
        if ('error' in made)
          return this.fail(
            wave.id,
            id,
            ts,
            `provision step ran, but ${made.error}; if it made a target, retire it by hand; ${inService}`,
            Reasons.ProvisionFailed,
          );
        fresh = made.target;
        if (c.hasTarget(fresh.id) || s.targets[fresh.id] !== undefined)
          return this.fail(
            wave.id,
            id,
            ts,
            `provision answered id ${fresh.id}, which is already a target of this rollout: a new target needs a new id; ${inService}`,
            Reasons.ProvisionFailed,
          );
        ts.replace.new = fresh.id;
        s.targets[fresh.id] = {
          phase: 'Progressing',
          step: 'verify',
          replaces: old.id,
          address: fresh.address,
          ...(Object.keys(fresh.labels).length > 0 && { labels: { ...fresh.labels } }),
          startedAt: c.now(),
        };
        // Written at once: a crash from here on still says which target was provisioned.
        await c.persist();
        c.emit('target_provisioned', { wave: wave.id, target: id, new: fresh.id, address: fresh.address, version });
      }
      const nts = s.targets[fresh.id]!;
      const freshVars = c.vars(fresh, version);
      const unhealthy = (why: string): ReplaceOutcome => {
        nts.phase = 'Failed';
        nts.message = why;
        return this.fail(
          wave.id,
          id,
          ts,
          `${fresh.id} (${fresh.address}) was provisioned, but ${why}; it was not put in service and is left for inspection; ${inService}. \`fleetgate resume --decision rollback\` retires ${fresh.id}${mode === 'drainFirst' ? ` and puts ${old.id} back in service` : ''}`,
          Reasons.ReplacementUnhealthy,
        );
      };
      // 4. observe the new target: its health, then its version.
      await this.record(ts, 'verifyNew');
      const health = await pollUntilHealthy(
        c.d.runner,
        steps.verify,
        freshVars,
        c.d.clock,
        (probeResult, n) =>
          c.emit('target_health_check', {
            wave: wave.id,
            target: fresh.id,
            healthy: probeResult.ok,
            probe: n,
            ...(rollback && { during: 'rollback' }),
            message: probeResult.ok ? 'provisioned target healthy' : probeResult.message,
          }),
        c.d.signal,
      );
      if (c.aborted) return this.interrupted(ts);
      if (!health.ok) return unhealthy(`its health check failed: ${health.message}`);
      const seen = await c.d.runner.run(steps.version, freshVars, { extractVersion: true, signal: c.d.signal });
      if (!seen.ok) return unhealthy(`its version step failed: ${seen.message}`);
      recordVersion(nts, seen.version);
      if (seen.version !== version) return unhealthy(`it reports ${seen.version}, expected ${version}`);
      if (mode === 'pool') {
        // Blue-green: the new pool member waits for the tier's switch (src/engine/blue-green.ts).
        nts.phase = 'Succeeded';
        nts.step = undefined;
        nts.finishedAt = c.now();
        ts.phase = 'Succeeded';
        ts.step = undefined;
        ts.finishedAt = c.now();
        await c.persist();
        c.emit('target_completed', {
          wave: wave.id,
          target: id,
          version,
          message: `${fresh.id} (${fresh.address}) ready in the new pool`,
        });
        return 'Succeeded';
      }
      // 5. in service; the old one leaves.
      if (steps.inService) {
        await this.record(ts, 'inService');
        const placed = await this.runStep(wave.id, 'inService', steps.inService, freshVars, fresh.id);
        if (placed) return unhealthy(placed);
      }
      nts.phase = 'Succeeded';
      nts.step = undefined;
      nts.finishedAt = c.now();
      if (mode === 'surge' && oldAlive && steps.drain) {
        const why = await this.settleStep(wave.id, 'drain', steps.drain, ts, oldVars, old.id);
        if (why)
          return this.fail(
            wave.id,
            id,
            ts,
            `${why}; ${fresh.id} is in service beside it (one target above the tier's size): repair the drain and \`fleetgate resume --decision continue\`, or roll back (retires ${fresh.id})`,
          );
      }
      // 6. retire the old one, and see that it is gone.
      await this.record(ts, 'retire');
      const retired = await this.runStep(wave.id, 'retire', steps.retire!, oldVars, old.id);
      if (retired)
        return this.fail(
          wave.id,
          id,
          ts,
          `${retired}; ${old.id} is drained, ${fresh.id} is in service in its place: retire ${old.id} by hand, or roll back (${old.id} is put back, ${fresh.id} retired)`,
          Reasons.RetireFailed,
        );
      const gone = await c.d.runner.run(
        { ...steps.version, retries: 0, timeoutMs: Math.min(steps.version.timeoutMs, GONE_CHECK_TIMEOUT_MS) },
        oldVars,
        { extractVersion: true, signal: c.d.signal },
      );
      if (gone.ok)
        return this.fail(
          wave.id,
          id,
          ts,
          `retire of ${old.id} passed, but it still answers at ${old.address} (reports ${gone.version}): it is not gone; ${fresh.id} is in service in its place`,
          Reasons.RetireFailed,
        );
      // 7. the inventory follows.
      const oldEntry = (s.targets[old.id] ??= { phase: 'Succeeded' });
      oldEntry.retired = true;
      oldEntry.replacedBy = fresh.id;
      recordReplacement((s.replacements ??= {}), old.id, fresh, c.now());
      c.emit('target_retired', { wave: wave.id, target: old.id, replacedBy: fresh.id });
      ts.phase = rollback ? 'RolledBack' : 'Succeeded';
      ts.version = version;
      ts.versionUnknown = undefined;
      ts.step = undefined;
      ts.replace = undefined;
      ts.finishedAt = c.now();
      await c.persist();
      c.emit(rollback ? 'target_rolled_back' : 'target_completed', {
        wave: wave.id,
        target: id,
        version,
        message: `replaced by ${fresh.id} (${fresh.address})`,
      });
      return 'Succeeded';
    } finally {
      if (surge) this.giveSurge(tier);
      if (admitted) this.gate.release(id, ts.phase === 'Succeeded' || ts.phase === 'RolledBack');
    }
  }

  /**
   * Rolls slot `id` back to `version`. A replacement under way is undone: the target it
   * provisioned is retired and the old one put back in service (undrain, health check). A slot
   * whose target runs another version is replaced again, by a new target on `version` (a retired
   * target cannot be restored; its replacement is). One already on `version` is only checked.
   */
  async rollbackSlot(
    waveId: string,
    id: string,
    version: string,
    opts: ReplaceOptions,
  ): Promise<'RolledBack' | 'RollbackFailed' | 'Blocked' | 'Stopped'> {
    const c = this.c;
    const s = c.state;
    const ts: TargetState = (s.targets[id] ??= { phase: 'Pending' });
    const wave = { id: waveId, tier: c.tierNameOf(id) ?? c.spec.tiers[0]!.name };
    const under = ts.replace;
    if (c.tierSpec(wave.tier)?.strategy.type === 'blueGreen') {
      // Traffic back to the old pool first (once per tier), then this slot's new member retired.
      const cannot = await switchBackToOldPool(c, wave.tier);
      if (cannot) {
        ts.phase = 'RollbackFailed';
        ts.message = cannot;
        return 'RollbackFailed';
      }
      if (under && s.targets[under.old]?.retired !== true) return this.undo(waveId, id, ts, under);
      if (ts.retired) {
        ts.phase = 'RollbackFailed';
        ts.message = `${id} was retired with its pool: it cannot be restored`;
        return 'RollbackFailed';
      }
      ts.phase = 'RolledBack';
      return 'RolledBack';
    }
    if (under && s.targets[under.old]?.retired !== true) return this.undo(waveId, id, ts, under);
    const outcome = await this.replaceTarget(wave, id, version, { ...opts, during: 'rollback' });
    if (outcome === 'Blocked' || outcome === 'Stopped') return outcome;
    if (outcome === 'Failed') {
      ts.phase = 'RollbackFailed';
      return 'RollbackFailed';
    }
    ts.phase = 'RolledBack';
    ts.finishedAt = c.now();
    return 'RolledBack';
  }

  /** Undoes a replacement under way: retires what it provisioned, puts the old target back. */
  private async undo(
    waveId: string,
    id: string,
    ts: TargetState,
    under: NonNullable<TargetState['replace']>,
  ): Promise<'RolledBack' | 'RollbackFailed'> {
    const c = this.c;
    const s = c.state;
    const steps = c.stepsFor(id);
    const problems: string[] = [];
    if (under.new !== undefined && s.targets[under.new] && !s.targets[under.new]!.retired) {
      const fresh = c.ownTarget(under.new)!;
      ts.step = 'retireNew';
      await c.persist();
      const why = await this.runStep(waveId, 'retire', steps.retire!, c.vars(fresh, c.spec.version), fresh.id);
      if (why) problems.push(`${fresh.id} (provisioned) was not retired: ${why}`);
      else {
        s.targets[under.new]!.retired = true;
        s.targets[under.new]!.phase = 'RolledBack';
        c.emit('target_retired', { wave: waveId, target: fresh.id, during: 'rollback' });
      }
    }
    const old = c.ownTarget(under.old) ?? c.target(under.old);
    const version = ts.from ?? s.fromVersion ?? c.spec.version;
    const vars = c.vars(old, version);
    // The old one left service when it was drained (drain-first, or a surge that reached its drain).
    const left = under.mode === 'drainFirst' || ts.step === 'retire' || ts.step === 'drain';
    if (left && steps.undrain) {
      const why = await this.settleStep(waveId, 'undrain', steps.undrain, ts, vars, old.id);
      if (why) problems.push(why);
    }
    const health = await pollUntilHealthy(c.d.runner, steps.verify, vars, c.d.clock, () => undefined, c.d.signal);
    if (!health.ok) problems.push(`${old.id} is not healthy: ${health.message}`);
    const seen = await c.d.runner.run(steps.version, vars, { extractVersion: true, signal: c.d.signal });
    recordVersion(ts, seen.ok ? seen.version : undefined, seen.ok ? undefined : seen.message);
    ts.finishedAt = c.now();
    if (problems.length > 0) {
      ts.phase = 'RollbackFailed';
      ts.message = problems.join('; ');
      await c.persist();
      c.emit('target_failed', { wave: waveId, target: id, step: 'rollback', message: ts.message });
      return 'RollbackFailed';
    }
    ts.phase = 'RolledBack';
    ts.step = undefined;
    ts.replace = undefined;
    ts.message = `replacement undone: ${under.new ? `${under.new} retired, ` : ''}${old.id} in service`;
    await c.persist();
    c.emit('target_rolled_back', { wave: waveId, target: id, version: ts.version, message: ts.message });
    return 'RolledBack';
  }

  private fail(wave: string, id: string, ts: TargetState, message: string, reason?: Reason): ReplaceOutcome {
    const c = this.c;
    if (c.aborted) return this.interrupted(ts);
    ts.phase = 'Failed';
    ts.message = message;
    if (reason !== undefined) ts.reason = reason;
    ts.finishedAt = c.now();
    c.emit('target_failed', { wave, target: id, step: ts.step, message, ...(reason && { reason }) });
    return 'Failed';
  }

  /** Interrupted (Ctrl-C, SIGTERM): the slot stays in progress at its step; the next run goes on from it. */
  private interrupted(ts: TargetState): ReplaceOutcome {
    ts.message = `interrupted at ${ts.step ?? 'start'}`;
    return 'Stopped';
  }

  /** Records the step a slot is at, written ahead (a replacement changes the fleet at almost every step). */
  private async record(ts: TargetState, step: string): Promise<void> {
    ts.step = step;
    if (step === 'version' || step === 'verifyNew') this.c.persistSoon();
    else await this.c.persist();
  }

  /** Runs one step on a target; its failure as a sentence, or undefined. */
  private async runStep(
    wave: string,
    name: string,
    step: StepSpec,
    vars: ReturnType<EngineCore['vars']>,
    target: string,
  ): Promise<string | undefined> {
    const c = this.c;
    const res = await c.d.runner.run(step, vars, { signal: c.d.signal });
    c.emit('target_step', { wave, target, step: name, ok: res.ok, durationMs: res.durationMs });
    return res.ok ? undefined : `${name} of ${target} failed: ${res.message}`;
  }

  /** A drain or an undrain with its grace and its `until` check (as an in-place move settles it). */
  private async settleStep(
    wave: string,
    name: 'drain' | 'undrain',
    step: SettlingStepSpec,
    ts: TargetState,
    vars: ReturnType<EngineCore['vars']>,
    target: string,
  ): Promise<string | undefined> {
    const c = this.c;
    await this.record(ts, name);
    const why = await this.runStep(wave, name, step, vars, target);
    if (why) return why;
    if (step.graceMs !== undefined && step.graceMs > 0) await c.d.clock.sleep(step.graceMs, c.d.signal);
    if (step.until === undefined) return undefined;
    const r = await pollUntilHealthy(c.d.runner, step.until, vars, c.d.clock, () => undefined, c.d.signal);
    return r.ok
      ? undefined
      : `${name} of ${target} did not take effect (until not passed within ${step.until.timeoutMs} ms): ${r.message}`;
  }
}
