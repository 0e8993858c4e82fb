/**
 * Wiring for engine unit tests: a normalized spec with every step (distinct URLs, short
 * timeouts), the fleet simulated in memory, the in-memory state port, the fake clock and
 * `EngineDeps` built with the real planner (`planRollout`, `planRollback`). Each
 * `engine()` call is a new process: a new plan from the spec and inventory as they are
 * now, over the same store, fleet and clock.
 */
import { planRollback, planRollout } from '../../../src/plan/plan.js';
import type { RolloutPlan } from '../../../src/plan/types.js';
import { RolloutEngine, type EngineDeps, type GateApprover } from '../../../src/engine/rollout.js';
import type { RolloutEvent } from '../../../src/engine/events.js';
import type { MetricProvider } from '../../../src/analysis/types.js';
import type { LeaseOptions } from '../../../src/engine/lease.js';
import type { RolloutState } from '../../../src/state/types.js';
import type { RolloutSpec, StepSpec, Target, TierSpec } from '../../../src/spec/types.js';
import { spec as planSpec } from '../../plan/helpers.js';
import { FakeClock } from './clock.js';
import { ScriptedRunner, SimFleet, type SimTarget } from './fleet.js';
import { MemoryStatePort } from './state.js';

export { tier, fleet, size } from '../../plan/helpers.js';

/** An HTTP step whose URL names what it does (the scripted runner tells steps apart by it). */
export function httpStep(name: string, overrides: Partial<Extract<StepSpec, { kind: 'http' }>> = {}): StepSpec {
  return {
    kind: 'http',
    method: name === 'version' || name === 'verify' ? 'GET' : 'POST',
    url: `http://{{target.address}}/${name}`,
    headers: {},
    expect: [200],
    timeoutMs: 1_000,
    retries: 0,
    intervalMs: 100,
    ...overrides,
  };
}

/**
 * A complete normalized spec (version 1.1.0) with version, drain, upgrade, verify (polled every
 * 100 ms for 1 s) and undrain steps.
 */
export function engineSpec(tiers: TierSpec[], overrides: Partial<RolloutSpec> = {}): RolloutSpec {
  return planSpec(tiers, {
    version: '1.1.0',
    steps: {
      version: httpStep('version', { json: 'version' }),
      drain: httpStep('drain'),
      upgrade: httpStep('upgrade'),
      verify: httpStep('verify'),
      undrain: httpStep('undrain'),
    },
    ...overrides,
  });
}

export interface GateLog {
  asked: { gate: string; wave: string }[];
}

export interface ScenarioOptions {
  spec: RolloutSpec;
  targets: Target[];
  /** Simulated targets (default: every target on `from`, healthy). */
  sim?: Record<string, Partial<SimTarget> & { version: string }>;
  /** Version every simulated target runs when `sim` does not say (default 1.0.0). */
  from?: string;
  initialState?: RolloutState;
  gates?: GateApprover;
  actor?: string;
  analysis?: MetricProvider;
  exclude?: string[];
  otherRollouts?: () => Promise<RolloutState[]>;
  budgetProbeMaxAgeMs?: number;
  signal?: AbortSignal;
  /** A lease in the state (as on a shared backend such as GitHub). */
  lease?: LeaseOptions;
}

/** Everything one test works with. `spec` and `targets` may be changed between runs (a re-plan). */
export class Scenario {
  spec: RolloutSpec;
  targets: Target[];
  readonly clock = new FakeClock();
  readonly fleet: SimFleet;
  readonly store: MemoryStatePort;
  readonly events: RolloutEvent[] = [];
  readonly gateLog: GateLog = { asked: [] };
  gates: GateApprover;
  actor: string;
  exclude?: string[];
  otherRollouts?: () => Promise<RolloutState[]>;
  analysis?: MetricProvider;
  signal?: AbortSignal;
  /** The lease the next engine asks for (change it between runs to play another runner). */
  lease?: LeaseOptions;
  /** The spec file the engine is told it runs (its hints name it); not `rollouts/<name>.yaml`, so a hint built from the name shows. */
  specPath = 'deploy/specs/edge-upgrade.yml';
  /** Plan of the last `engine()` (before exclusions). */
  plan!: RolloutPlan;
  private readonly opts: ScenarioOptions;

  constructor(opts: ScenarioOptions) {
    this.opts = opts;
    this.spec = opts.spec;
    this.targets = opts.targets;
    this.fleet = new SimFleet(
      opts.sim ?? Object.fromEntries(opts.targets.map((t) => [t.id, { version: opts.from ?? '1.0.0' }])),
    );
    for (const t of opts.targets)
      if (!this.fleet.targets.has(t.id)) this.fleet.add(t.id, { version: opts.from ?? '1.0.0' });
    this.store = new MemoryStatePort(this.clock, opts.initialState);
    this.gates = opts.gates ?? (() => Promise.resolve({ approved: true, by: 'approver' }));
    this.actor = opts.actor ?? 'tester';
    this.exclude = opts.exclude;
    this.otherRollouts = opts.otherRollouts;
    this.analysis = opts.analysis;
    this.signal = opts.signal;
    this.lease = opts.lease;
  }

  /** The dependencies of one engine run (a new plan from the spec and inventory as they are now). */
  deps(): EngineDeps {
    const spec = this.spec;
    const plan = planRollout(spec, this.targets);
    this.plan = plan;
    return {
      spec,
      specPath: this.specPath,
      targets: this.targets,
      plan,
      planRollback: (ids, leaders) => planRollback(spec, plan, ids, leaders),
      store: this.store,
      runner: new ScriptedRunner(spec, this.fleet, this.clock),
      clock: this.clock,
      emit: (e) => this.events.push(e),
      gates: (gate, ctx) => {
        this.gateLog.asked.push({ gate, wave: ctx.wave });
        return this.gates(gate, ctx);
      },
      actor: this.actor,
      ...(this.signal && { signal: this.signal }),
      ...(this.analysis && { analysis: { provider: this.analysis } }),
      ...(this.exclude && { exclude: this.exclude }),
      ...(this.otherRollouts && { otherRollouts: this.otherRollouts }),
      ...(this.opts.budgetProbeMaxAgeMs !== undefined && { budgetProbeMaxAgeMs: this.opts.budgetProbeMaxAgeMs }),
      ...(this.lease && { lease: this.lease }),
    };
  }

  /** A new engine, as a new `fleetgate` process would make it. */
  engine(): RolloutEngine {
    return new RolloutEngine(this.deps());
  }

  /** The stored state. */
  state(): RolloutState {
    return this.store.current();
  }

  /** Names of the events emitted so far (optionally only those of one kind). */
  eventNames(): string[] {
    return this.events.map((e) => e.event);
  }
}

export function scenario(opts: ScenarioOptions): Scenario {
  return new Scenario(opts);
}

/** Awaits `promise` expecting it to reject; returns the error. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}
