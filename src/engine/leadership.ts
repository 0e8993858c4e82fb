/**
 * Quorum leadership, observed: the tier's `leader` step is asked right before each of its
 * waves (leadership moves during a rollout) and the pure planner puts the member leading
 * then last (`placeQuorumLeader`); before the leader is drained, `transferLeadership` moves
 * leadership to a member already on the new version, and the `leader` step is asked again
 * until another member leads (bounded by the transfer step's timeout).
 */
import { placeQuorumLeader, type StartedWave } from '../plan/leader.js';
import type { PlannedWave, RolloutPlan } from '../plan/types.js';
import type { StepSpec } from '../spec/types.js';
import type { EngineCore } from './core.js';
import { Messages, Reasons, type Reason } from './reasons.js';

/** What asking the `leader` step gave. */
export type LeaderReading =
  { ok: true; leader: string; askedOf: string } | { ok: false; reason: Reason; message: string };

/** Why a wave may not start: the leader could not be told. */
export interface LeadershipProblem {
  reason: Reason;
  message: string;
}

export class Leadership {
  /** The plan before any leader was placed (after exclusions): every re-plan starts from it. */
  private base: RolloutPlan;
  /** Leader observed last, per quorum tier. */
  private readonly leaders = new Map<string, string>();

  constructor(private readonly c: EngineCore) {
    this.base = c.plan;
  }

  /** Starts over from `plan` (the plan after exclusions); leaders observed before are forgotten. */
  reset(plan: RolloutPlan): void {
    this.base = plan;
    this.leaders.clear();
  }

  /** The `leader` step of tier `tier` when it is a quorum tier with one, else `undefined`. */
  leaderStep(tier: string): StepSpec | undefined {
    const planned = this.c.plan.tiers.find((t) => t.name === tier);
    const first = planned?.targets[0];
    if (!planned?.quorum || first === undefined) return undefined;
    return this.c.stepsFor(first).leader;
  }

  /**
   * Asks the tier's `leader` step, of each member in turn (plan order), until one answers.
   * A step that fails everywhere, or an answer that is not a member of the tier, is a reading
   * with reason `LeaderUnknown` (not an exception).
   * @throws InvalidPhaseError when a member of the plan is not in the inventory any more
   */
  async read(tier: string, step: StepSpec): Promise<LeaderReading> {
    const c = this.c;
    const members = c.plan.tiers.find((t) => t.name === tier)?.targets ?? [];
    const failures: string[] = [];
    for (const id of members) {
      if (c.aborted) break;
      const r = await c.d.runner.run(step, c.vars(c.target(id), c.spec.version), {
        extractVersion: true,
        signal: c.d.signal,
      });
      if (!r.ok || r.version === undefined) {
        // The runner reads the answer as it reads a version; say what is missing here.
        failures.push(`${id}: ${r.message.replace(/no version in /, 'no leader id in ')}`);
        continue;
      }
      const leader = r.version.trim();
      if (!members.includes(leader))
        return { ok: false, reason: Reasons.LeaderUnknown, message: Messages.leaderNotMember(tier, id, leader) };
      return { ok: true, leader, askedOf: id };
    }
    return { ok: false, reason: Reasons.LeaderUnknown, message: Messages.leaderUnread(tier, failures) };
  }

  /**
   * Right before a wave of a quorum tier with a `leader` step: reads the leader and re-plans
   * the tier so it goes last (`c.plan` and the state's waves change; the caller persists).
   * @returns why the wave may not start (the leader could not be told), or `undefined`
   */
  async beforeWave(wave: PlannedWave): Promise<LeadershipProblem | undefined> {
    const step = this.leaderStep(wave.tier);
    if (step === undefined) return undefined;
    const reading = await this.read(wave.tier, step);
    if (this.c.aborted) return undefined;
    if (!reading.ok) return reading;
    const previous = this.leaders.get(wave.tier);
    this.leaders.set(wave.tier, reading.leader);
    this.apply();
    const tierWaves = this.c.plan.waves.filter((w) => w.tier === wave.tier);
    const next = tierWaves.find((w) => this.c.state.waves.find((x) => x.id === w.id)?.phase !== 'Completed');
    this.c.emit('leader_observed', {
      tier: wave.tier,
      // The wave that runs next, as re-planned around this leader.
      wave: next?.id ?? wave.id,
      leader: reading.leader,
      askedOf: reading.askedOf,
      ...(previous !== undefined && { previous }),
      lastWave: tierWaves.at(-1)?.id,
    });
    return undefined;
  }

  /**
   * Whether target `id` of a quorum tier must hand leadership off before it goes down: always
   * in the tier's `leader` wave; in its other waves when the `leader` step, asked again right
   * now, names it (leadership may have moved onto it since its wave started). A failed reading
   * does not stop the take-down: the wave's own reading allowed it a moment ago.
   */
  async mustTransferFrom(wave: PlannedWave, id: string): Promise<boolean> {
    if (wave.kind === 'leader') return true;
    const step = this.leaderStep(wave.tier);
    if (step === undefined) return false;
    const reading = await this.read(wave.tier, step);
    if (!reading.ok || reading.leader !== id) return false;
    this.leaders.set(wave.tier, reading.leader);
    this.c.emit('leader_observed', {
      tier: wave.tier,
      wave: wave.id,
      target: id,
      leader: reading.leader,
      askedOf: reading.askedOf,
      message: `${id} leads now, in ${wave.id}: leadership is moved off it before it goes down`,
    });
    return true;
  }

  /**
   * Before the leader `id` is drained (in the `leader` wave, or a member that leads now): runs `transferLeadership` with a
   * member already on `desired` as `{{transferee.*}}`, then (with a `leader` step) reads the
   * leader every `intervalMs` until another member leads, for at most the step's `timeoutMs`.
   * No transfer step: nothing to do. No member on `desired` yet: nothing is moved (an event
   * says so) and the leader is drained as it is.
   * @returns `undefined` when the leader may be drained, else why not (the leader is untouched)
   */
  async transferFrom(wave: PlannedWave, id: string, desired: string): Promise<LeadershipProblem | undefined> {
    const c = this.c;
    const step = c.stepsFor(id).transferLeadership;
    if (step === undefined) return undefined;
    const tier = c.plan.tiers.find((t) => t.name === wave.tier);
    const excluded = new Set(tier?.excluded ?? []);
    const transferee = tier?.targets.find((m) => {
      const ts = c.state.targets[m];
      return m !== id && !excluded.has(m) && ts?.phase === 'Succeeded' && ts.version === desired;
    });
    if (transferee === undefined) {
      c.emit('leadership_transferred', {
        wave: wave.id,
        target: id,
        ok: false,
        skipped: true,
        message: Messages.noTransferee(wave.tier, id, desired),
      });
      return undefined;
    }
    const vars = { ...c.vars(c.target(id), desired), transferee: c.target(transferee) };
    const started = c.nowMs();
    const r = await c.d.runner.run(step, vars, { signal: c.d.signal });
    if (c.aborted) return undefined;
    if (!r.ok) {
      const message = Messages.transferFailed(id, transferee, r.message);
      c.emit('leadership_transferred', { wave: wave.id, target: id, transferee, ok: false, message });
      return { reason: Reasons.LeadershipNotTransferred, message };
    }
    const leaderStep = this.leaderStep(wave.tier);
    let leader: string | undefined;
    if (leaderStep !== undefined) {
      const deadline = c.nowMs() + step.timeoutMs;
      let last = '';
      for (;;) {
        const reading = await this.read(wave.tier, leaderStep);
        if (c.aborted) return undefined;
        if (reading.ok && reading.leader !== id) {
          leader = reading.leader;
          break;
        }
        last = reading.ok ? `${id} still leads` : reading.message;
        const left = deadline - c.nowMs();
        if (left <= 0) {
          const message = Messages.leaderDidNotMove(id, transferee, step.timeoutMs, last);
          c.emit('leadership_transferred', { wave: wave.id, target: id, transferee, ok: false, message });
          return { reason: Reasons.LeadershipNotTransferred, message };
        }
        await c.d.clock.sleep(Math.min(step.intervalMs, left), c.d.signal);
      }
      this.leaders.set(wave.tier, leader);
    }
    c.emit('leadership_transferred', {
      wave: wave.id,
      target: id,
      transferee,
      ok: true,
      ...(leader !== undefined && { leader }),
      durationMs: c.nowMs() - started,
    });
    return undefined;
  }

  /** `c.plan` from the base plan with every observed leader placed; the state's waves follow it. */
  private apply(): void {
    const c = this.c;
    const s = c.state;
    let plan = this.base;
    for (const [tier, leader] of this.leaders) {
      const prefix = `${tier}/`;
      const started: StartedWave[] = s.waves
        .filter((w) => w.id.startsWith(prefix) && w.phase !== 'Pending')
        .map((w) => ({ id: w.id, targets: w.targets, ...(w.startedAt !== undefined && { startedAt: w.startedAt }) }));
      const members = plan.tiers.find((t) => t.name === tier)?.targets ?? [];
      const untouched = new Set(members.filter((id) => (s.targets[id]?.phase ?? 'Pending') === 'Pending'));
      plan = placeQuorumLeader(plan, { tier, leader, started, untouched });
    }
    c.plan = plan;
    // The state lists the waves as they will run: pending ones follow the plan, emptied ones go.
    const planned = new Map(plan.waves.map((w) => [w.id, w]));
    const tiers = [...this.leaders.keys()].map((t) => `${t}/`);
    const ofLeaderTier = (id: string) => tiers.some((p) => id.startsWith(p));
    s.waves = s.waves.filter((ws) => !(ws.phase === 'Pending' && ofLeaderTier(ws.id) && !planned.has(ws.id)));
    for (const w of plan.waves) {
      if (!ofLeaderTier(w.id)) continue;
      const ws = s.waves.find((x) => x.id === w.id);
      if (ws === undefined) s.waves.push({ id: w.id, phase: 'Pending', targets: [...w.targets] });
      else ws.targets = [...w.targets];
    }
    const order = new Map(plan.waves.map((w, i) => [w.id, i]));
    s.waves.sort((a, b) => (order.get(a.id) ?? order.size) - (order.get(b.id) ?? order.size));
  }
}
