/**
 * Admission of take-downs against the tier's budget, from observation: before a
 * target is drained, the gate probes its tier's members (their health check, one
 * attempt each, concurrently and bounded), adds the members this run has in
 * flight and those the state records as failed and left drained, and lets the
 * target go only within the budget (`assessTakeDown`). When the budget is used by
 * members in flight it waits for one of them; when it is used by members that are
 * down for other reasons it re-probes for the verify step's timeout (counted from
 * the end of the first probe round), then gives up with the assessment (the engine pauses with `BudgetExhausted`).
 */
import { assessTakeDown, type OutOfService, type TakeDownAssessment } from './budget.js';
import type { EngineCore } from './core.js';
import { Notifier, poolMap } from './pool.js';
import { replaceLeftOut } from './replace-slots.js';
import type { TargetState } from '../state/types.js';

/** Longest a budget health probe may take (ms), whatever the verify step allows. */
export const BUDGET_PROBE_TIMEOUT_MS = 5_000;
/** Default age (ms) up to which a member's last probe is reused when judging a take-down. */
export const DEFAULT_BUDGET_PROBE_MAX_AGE_MS = 1_000;

/** How a take-down request ended. */
export type Admission = { admitted: true } | { admitted: false; assessment?: TakeDownAssessment; stopped?: boolean };

export class BudgetGate {
  private readonly inFlight = new Set<string>();
  private readonly released = new Notifier();
  private readonly probes = new Map<string, { atMs: number; out?: OutOfService }>();
  /** Probes under way: concurrent admissions share them instead of probing the same member again. */
  private readonly probing = new Map<string, Promise<OutOfService | undefined>>();
  /**
   * The probe round under way per tier (member → what its probe found): an admission that
   * needs members probed while one runs waits for it and reads its answers, instead of walking
   * the members again with probes of its own to share (at 10,000 members and 1,000 take-downs
   * at once, that walk was ten million awaits per wave).
   */
  private readonly rounds = new Map<string, Promise<Map<string, OutOfService | undefined>>>();
  /**
   * Members another leg of a sharded wave moves: that leg counts them against its own share of
   * the budget, so this one neither probes nor counts them (see `src/engine/shard.ts`).
   */
  ignored: ReadonlySet<string> = new Set();

  constructor(private readonly core: EngineCore) {}

  /**
   * Waits until `id` may be taken out of service within `budget`; on success it is in
   * flight until {@link release}.
   * @param tier - the tier's name in the plan
   * @param budget - most members of the tier out at once
   * @param shouldStop - checked before each look and after each wait: true gives up (`stopped`)
   */
  async admit(tier: string, id: string, budget: number, shouldStop?: () => boolean): Promise<Admission> {
    const c = this.core;
    const verify = c.stepsFor(id).verify;
    // Set after the first look: a slow first probe round (a loaded runner) must not use up the wait.
    let deadline: number | undefined;
    const interval = Math.max(50, Math.min(verify.intervalMs, 1_000));
    let announced = false;
    for (;;) {
      if (c.aborted || shouldStop?.()) return { admitted: false, stopped: true };
      const out = await this.observeTier(tier, id);
      deadline ??= c.nowMs() + verify.timeoutMs;
      if (c.aborted || shouldStop?.()) return { admitted: false, stopped: true };
      // Synchronous from here to the add: no other admission can interleave.
      const inFlightNow = [...this.inFlight].filter((m) => c.tierNameOf(m) === tier && m !== id);
      const all: OutOfService[] = [
        ...inFlightNow.map((m) => ({ id: m, cause: 'in-flight' as const })),
        ...out.filter((o) => !this.inFlight.has(o.id)),
      ];
      const assessment = assessTakeDown(id, budget, all);
      if (assessment.allowed) {
        this.inFlight.add(id);
        return { admitted: true };
      }
      if (!announced) {
        announced = true;
        c.emit('budget_wait', { target: id, tier, budget, out: assessment.out.map((o) => `${o.id}:${o.cause}`) });
      }
      if (assessment.waitable) {
        await this.released.wait();
        continue;
      }
      if (c.nowMs() >= deadline) return { admitted: false, assessment };
      await c.d.clock.sleep(interval, c.d.signal);
      this.forget(tier);
    }
  }

  /**
   * `id` is back in service, or failed (a failed one stays counted through the state).
   * @param healthy - true when the move ended with a passing health check and the undrain:
   *   that counts as a fresh probe (in service now), so the next admissions need not ask again
   */
  release(id: string, healthy = false): void {
    if (this.inFlight.delete(id)) {
      if (healthy) this.probes.set(id, { atMs: this.core.nowMs() });
      else this.probes.delete(id);
      this.released.notify();
    }
  }

  /** Members in flight now. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  private forget(tier: string): void {
    for (const id of this.core.plan.tiers.find((t) => t.name === tier)?.targets ?? []) this.probes.delete(id);
  }

  /** Members of `tier` out of service now, by the state (failed, left drained) and by a fresh probe. */
  private async observeTier(tier: string, candidate: string): Promise<OutOfService[]> {
    const c = this.core;
    const planned = c.plan.tiers.find((t) => t.name === tier);
    const members = planned?.targets ?? [candidate];
    const excluded = new Set(planned?.excluded ?? []);
    const out: OutOfService[] = [];
    const toProbe: string[] = [];
    const maxAge = c.d.budgetProbeMaxAgeMs ?? DEFAULT_BUDGET_PROBE_MAX_AGE_MS;
    const now = c.nowMs();
    for (const id of members) {
      if (this.inFlight.has(id) || (this.ignored.has(id) && id !== candidate)) continue;
      const ts = c.state.targets[id];
      if (!excluded.has(id) && ts && leftOutOfService(ts)) {
        out.push({ id, cause: 'failed', message: ts.message });
        continue;
      }
      if (!c.hasTarget(id)) continue;
      const last = this.probes.get(id);
      if (last && now - last.atMs <= maxAge) {
        if (last.out) out.push(last.out);
      } else toProbe.push(id);
    }
    const found = await this.probeRound(tier, toProbe);
    for (const id of toProbe) {
      const o = found.get(id);
      if (o) out.push(o);
    }
    return out;
  }

  /**
   * What probes of `ids` (members of `tier`) found: from the tier's round under way when there
   * is one, the rest by a round of this admission's (bounded by `probeConcurrency`). A member
   * not probed because the run was aborted is absent (the caller checks `aborted`).
   */
  private async probeRound(tier: string, ids: string[]): Promise<Map<string, OutOfService | undefined>> {
    const found = new Map<string, OutOfService | undefined>();
    if (ids.length === 0) return found;
    let rest = ids;
    const under = this.rounds.get(tier);
    if (under) {
      const shared = await under;
      rest = [];
      for (const id of ids) {
        if (shared.has(id)) found.set(id, shared.get(id));
        else rest.push(id);
      }
      if (rest.length === 0) return found;
    }
    const c = this.core;
    const round = poolMap(
      rest,
      c.d.probeConcurrency ?? 16,
      () => c.aborted,
      (id) => this.probe(id),
    );
    this.rounds.set(tier, round);
    try {
      for (const [id, o] of await round) found.set(id, o);
    } finally {
      if (this.rounds.get(tier) === round) this.rounds.delete(tier);
    }
    return found;
  }

  /** One health probe of `id`, shared with any other admission that asks while it runs. */
  private probe(id: string): Promise<OutOfService | undefined> {
    const running = this.probing.get(id);
    if (running) return running;
    const c = this.core;
    const verify = c.stepsFor(id).verify;
    const step = { ...verify, retries: 0, timeoutMs: Math.min(verify.timeoutMs, BUDGET_PROBE_TIMEOUT_MS) };
    const p = (async () => {
      try {
        const r = await c.d.runner.run(step, c.vars(c.target(id), c.spec.version), {
          signal: c.d.signal,
          purpose: 'budget-probe',
        });
        const unreachable = r.status === undefined && r.exitCode === undefined;
        const o: OutOfService | undefined = r.ok
          ? undefined
          : { id, cause: unreachable ? 'unreachable' : 'unhealthy', message: r.message };
        // Aged from the end of the probe: a slow round must not make every admission probe again.
        this.probes.set(id, { atMs: c.nowMs(), out: o });
        return o;
      } finally {
        this.probing.delete(id);
      }
    })();
    this.probing.set(id, p);
    return p;
  }
}

/** Steps during which a target is out of service (drained, restarting, not yet back in rotation). */
const TAKEN_DOWN_STEPS: ReadonlySet<string> = new Set(['drain', 'upgrade', 'undrain']);

/**
 * A target the state records as out of service: failed after it was taken down (left
 * drained), or stopped in the middle of a take-down by a crash or an interrupt.
 */
export function leftOutOfService(ts: Pick<TargetState, 'phase' | 'step' | 'replace' | 'retired'>): boolean {
  // A slot of a replace tier: by the replacement's mode and step (src/engine/replace-slots.ts).
  const replacing = replaceLeftOut(ts);
  if (replacing !== undefined) return replacing;
  if (ts.phase === 'Failed' || ts.phase === 'RollbackFailed') return ts.step !== undefined && ts.step !== 'version';
  return ts.phase === 'Progressing' && ts.step !== undefined && TAKEN_DOWN_STEPS.has(ts.step);
}
