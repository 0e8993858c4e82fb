/**
 * What every part of the engine shares: its dependencies, the state in memory,
 * the write chain, events and small helpers. One object per run, made by
 * `RolloutEngine`; the wave runner, the observer and the rollback runner each
 * hold it.
 */
import type { RollbackWave } from '../plan/rollback.js';
import type { RolloutPlan, PlannedWave } from '../plan/types.js';
import type { ConfigVars, RolloutSpec, StepsSpec, Target, TierSpec } from '../spec/types.js';
import { configVars, describeMove } from './config-change.js';
import { tierSteps } from '../spec/steps.js';
import { AUDIT_LIMIT, HISTORY_LIMIT, type RolloutState } from '../state/types.js';
import { InvalidPhaseError } from '../errors.js';
import type { MetricProvider } from '../analysis/types.js';
import type { Clock } from '../util/clock.js';
import type { EventSink, RolloutEvent, RolloutEventName } from './events.js';
import { Reasons, type Reason } from './reasons.js';
import type { StatePort } from '../state/port.js';
import type { StepRunner } from './steps.js';
import type { TemplateVars } from './template.js';
import { StateWriter } from './persistence.js';
import { AlertGuard, type AlertsDeps } from './alerts.js';
import { SloGuard } from './slo.js';
import type { LeaseOptions } from './lease.js';
import { liveTarget, recordedTarget, replacedSlot } from './replace-slots.js';
import { historyOfWaves, StepTimer, trimHistoryWaves } from './timings.js';

/** Answers an approval gate: a CLI prompt, `--yes`, or (in GitHub) an environment that was already approved. */
export type GateApprover = (
  gate: string,
  context: { rollout: string; wave: string },
) => Promise<{ approved: boolean; by: string }>;

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

/** Who an automatic decision (a critical metric's rollback) is attributed to. */
export const ENGINE_ACTOR = 'fleetgate';

export interface EngineDeps {
  spec: RolloutSpec;
  /** The spec file as the command was given it (`rollouts/edge.yaml`): named in the hints, e.g. `fleetgate resume <specPath>`. */
  specPath: string;
  targets: Target[];
  plan: RolloutPlan;
  /**
   * Plans the waves of a rollback of the given targets (ordered as they should go back; the
   * plan's `planRollback`); `leaders`: the quorum leaders observed now (tier → target id), each
   * rolled back in a wave of its own.
   */
  planRollback: (targetIds: string[], leaders?: Record<string, string>) => RollbackWave[];
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
  /** Concurrency of read-only probes (preflight versions, budget health checks; default 16). */
  probeConcurrency?: number;
  /** Targets to leave out of this rollout (`--exclude`), on top of the spec's `exclude`. */
  exclude?: string[];
  /**
   * The states of the other rollouts in the same repository (one target, one rollout at a
   * time). Absent: the store's `siblings()`, when it has them; else no other rollout is checked.
   */
  otherRollouts?: () => Promise<RolloutState[]>;
  /** How old (ms) a member's health probe may be when a take-down is judged (default 1,000). */
  budgetProbeMaxAgeMs?: number;
  /** Alertmanager for the spec's `alerts` (gate and silences); absent: no alert gate. */
  alerts?: AlertsDeps;
  /**
   * Take a lease in the state before touching any target (state shared by several machines,
   * see `src/engine/lease.ts`). Absent: no lease in the state (the local lock file keeps runs apart).
   */
  lease?: LeaseOptions;
}

/** The shared state of one engine run. */
export class EngineCore {
  state!: RolloutState;
  /** The plan with the excluded targets left out (see `excludeFromPlan`). */
  plan: RolloutPlan;
  readonly writer: StateWriter;
  /** The alert gate and the silences of planned work (inert without `alerts`). */
  readonly alerts: AlertGuard;
  /** The error-budget gate (inert without `slo`). */
  readonly slo: SloGuard;
  /** This run's step durations per wave, summarized into the wave's `steps` once its steps are done. */
  readonly timings = new StepTimer();
  private readonly byId: Map<string, Target>;

  constructor(readonly d: EngineDeps) {
    this.plan = d.plan;
    this.byId = new Map(d.targets.map((t) => [t.id, t]));
    this.writer = new StateWriter(d.store, () => this.state);
    this.alerts = new AlertGuard(this);
    this.slo = new SloGuard(this);
  }

  get spec(): RolloutSpec {
    return this.d.spec;
  }

  get aborted(): boolean {
    return this.d.signal?.aborted ?? false;
  }

  now(): string {
    return this.d.clock.now().toISOString();
  }

  nowMs(): number {
    return this.d.clock.now().getTime();
  }

  emit(event: RolloutEventName, fields: Omit<RolloutEvent, 'ts' | 'event' | 'rollout'> = {}): void {
    this.d.emit({ ts: this.now(), event, rollout: this.d.spec.name, ...fields });
  }

  persist(): Promise<void> {
    return this.writer.persist();
  }

  persistSoon(): void {
    this.writer.persistSoon();
  }

  async persistAndCommit(message: string): Promise<void> {
    await this.writer.persistAndCommit(message);
    this.emit('state_committed', { message, revision: this.state.revision });
  }

  setCondition(reason: Reason, message: string): void {
    this.state.condition = { reason, message, at: this.now() };
  }

  /**
   * A step's template values. `config`: the configuration it applies (docs/config-rollouts.md;
   * default: the spec's, when it has one).
   */
  vars(target: Target, version: string, config: ConfigVars | undefined = this.desiredConfig()): TemplateVars {
    return {
      target,
      version,
      rollout: { name: this.d.spec.name },
      component: this.d.spec.component,
      ...(config && { config }),
    };
  }

  /** The spec's configuration as step values (absent without a `config` section). */
  desiredConfig(): ConfigVars | undefined {
    return this.d.spec.config ? configVars(this.d.spec, this.state, this.d.spec.config.revision) : undefined;
  }

  /**
   * The target in `id`'s place now: the inventory's, or — for a slot a `replace` tier retired — the
   * target provisioned in its place, as the state records it (src/engine/replace-slots.ts).
   * @throws InvalidPhaseError when the id is not in the inventory any more
   */
  target(id: string): Target {
    const t = liveTarget(this.state, id, (x) => this.byId.get(x));
    if (!t) throw new InvalidPhaseError(`target ${id} is in the plan or state but not in the inventory any more`);
    return t;
  }

  /** Target `id` itself (the inventory's, or one a rollout provisioned), never another in its slot. */
  ownTarget(id: string): Target | undefined {
    return this.byId.get(id) ?? recordedTarget(this.state, id);
  }

  hasTarget(id: string): boolean {
    return liveTarget(this.state, id, (x) => this.byId.get(x)) !== undefined;
  }

  /**
   * The steps target `id` runs: its tier's (the spec's steps with the tier's own over them).
   * @throws ConfigurationError when its tier lacks a required step (a spec that was not validated)
   */
  stepsFor(id: string): StepsSpec {
    const tier = this.tierNameOf(id) ?? this.d.spec.tiers[0]!.name;
    let steps = this.stepsByTier.get(tier);
    if (!steps) {
      steps = tierSteps(this.d.spec, this.tierSpec(tier));
      this.stepsByTier.set(tier, steps);
    }
    return steps;
  }

  private readonly stepsByTier = new Map<string, StepsSpec>();

  tierSpec(name: string): TierSpec {
    return this.d.spec.tiers.find((t) => t.name === name)!;
  }

  tierOf(wave: PlannedWave): TierSpec {
    return this.tierSpec(wave.tier);
  }

  /** Name of the tier a target belongs to (undefined: in no tier of the plan). */
  tierNameOf(id: string): string | undefined {
    // Plans are replaced, never changed in place (the planner is pure): one index per plan.
    if (this.tierIndex?.plan !== this.plan) {
      const byId = new Map<string, string>();
      for (const t of this.plan.tiers) for (const m of t.targets) if (!byId.has(m)) byId.set(m, t.name);
      this.tierIndex = { plan: this.plan, byId };
    }
    // A target a replace tier provisioned is in the tier of the one it replaced.
    return this.tierIndex.byId.get(id) ?? this.tierIndex.byId.get(replacedSlot(this.state, id) ?? '');
  }

  /** Target id → tier name of the plan it was built from (a 10,000-target wave asks per step). */
  private tierIndex?: { plan: RolloutPlan; byId: Map<string, string> };

  waveLabel(wave: PlannedWave): string {
    return `wave ${wave.index + 1}/${this.plan.waves.length} (${wave.id})`;
  }

  versions(): string {
    return describeMove(this.state);
  }

  /** `Succeeded: 3, Failed: 1` over the state's targets. */
  touchedSummary(): string {
    const by: Record<string, string[]> = {};
    for (const [id, t] of Object.entries(this.state.targets)) (by[t.phase] ??= []).push(id);
    return Object.entries(by)
      .map(([phase, ids]) => `${phase}: ${ids.length}`)
      .join(', ');
  }

  /** The run was stopped (Ctrl-C, SIGTERM): records where, for the next run to continue. */
  async interrupted(): Promise<RunResult> {
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

  /** Records the rollout in progress in `history` (newest first, bounded). */
  pushHistory(): void {
    const s = this.state;
    if (!s.toVersion) return;
    s.history.unshift({
      from: s.fromVersion,
      to: s.toVersion,
      phase: s.phase,
      ...(s.rolledBackFrom !== undefined && (s.phase === 'RolledBack' || s.phase === 'Degraded' || s.isRollback)
        ? { rolledBack: s.rolledBackFrom }
        : {}),
      startedAt: s.startedAt,
      finishedAt: this.now(),
      reason: s.condition?.reason,
      // The audit of this rollout, kept when the next one empties approvals and decisions.
      ...(s.approvals.length > 0 && { approvals: s.approvals.slice(-AUDIT_LIMIT).map((a) => ({ ...a })) }),
      ...(s.decisions.length > 0 && { decisions: s.decisions.slice(-AUDIT_LIMIT).map((d) => ({ ...d })) }),
      // The configuration revisions (spec config), beside the versions.
      ...(s.fromConfig !== undefined && { fromConfig: s.fromConfig }),
      ...(s.toConfig !== undefined && { toConfig: s.toConfig }),
      // What later plans learn from: each wave's size, wall time, failures, pauses and step timings.
      ...historyOfWaves(s),
    });
    s.history.length = Math.min(s.history.length, HISTORY_LIMIT);
    trimHistoryWaves(s.history);
  }
}
