/**
 * A fleet simulated in memory and a scripted `StepRunner` over it.
 *
 * Each target has a version, a health flag, a reachability flag and a drained flag.
 * The runner tells steps apart by the spec's step objects (compared by identity, then
 * by URL or argv: the engine passes copies of `verify` with other timeouts):
 *
 * - `version`: the version (any string, `ERROR` too); fails without an HTTP status when unreachable;
 * - `drain` / `undrain`: set / clear `drained` (a drain takes effect when it starts, an undrain when it ends);
 * - `upgrade`: sets the version at the end of the call;
 * - `verify`: 200 when reachable, healthy and not on a version tagged `-broken` (drained does not
 *   matter: a health check, like the agents' `/healthz`); 503 when unhealthy; no status when unreachable;
 * - hooks (`before`, `after`): succeed.
 *
 * Every call is recorded with its kind, target, version and virtual time; chosen calls can be
 * made to fail ({@link SimFleet.failWhen}), and scripts can change the fleet when a call is made
 * ({@link SimFleet.on}). Listeners see every change of a target ({@link SimFleet.onChange}).
 */
import type { StepResult, StepRunner } from '../../../src/engine/steps.js';
import type { TemplateVars } from '../../../src/engine/template.js';
import type { RolloutSpec, StepSpec } from '../../../src/spec/types.js';
import type { FakeClock } from './clock.js';

export type StepKind = 'version' | 'drain' | 'upgrade' | 'verify' | 'undrain' | 'before' | 'after';

export interface SimTarget {
  version: string;
  /** False: its health check fails (503) whatever it runs. */
  healthy: boolean;
  /** False: no step reaches it (no HTTP status, like a refused connection). */
  reachable: boolean;
  /** Taken out of the load balancer. */
  drained: boolean;
}

export interface Call {
  kind: StepKind;
  target: string;
  /** `{{version}}` of the call (the version an upgrade installs). */
  version: string;
  /** Virtual time the call started (ms). */
  at: number;
  /** Virtual time it answered (ms); absent while it runs. */
  endAt?: number;
  ok?: boolean;
  /** Index of this call among all calls. */
  n: number;
  /** The step as the runner got it (`POST http://{{target.address}}/upgrade`, or the argv joined). */
  step?: string;
}

/** A rule making matching calls fail: no effect on the target, HTTP 500 (or the given message). */
export interface FailRule {
  kind?: StepKind;
  target?: string;
  /** Extra condition, asked when the call starts. */
  when?: (call: Call, fleet: SimFleet) => boolean;
  /** How many matching calls fail (default: all). */
  times?: number;
  message?: string;
  /** `false`: the failure has no HTTP status (the target did not answer). */
  status?: number | false;
}

/** Virtual duration of each kind of call (ms). */
export const DEFAULT_LATENCY: Record<StepKind, number> = {
  version: 5,
  drain: 20,
  upgrade: 200,
  verify: 5,
  undrain: 20,
  before: 50,
  after: 50,
};

export type ChangeListener = (change: { target: string; what: string; call?: Call }) => void;
export type AnswerListener = (call: Call, result: StepResult) => void;

export class SimFleet {
  readonly targets = new Map<string, SimTarget>();
  readonly calls: Call[] = [];
  private readonly rules: FailRule[] = [];
  private readonly scripts: { match: (call: Call) => boolean; action: (call: Call) => void; once: boolean }[] = [];
  private readonly listeners: ChangeListener[] = [];
  private readonly answerListeners: AnswerListener[] = [];
  latency: Record<StepKind, number> = { ...DEFAULT_LATENCY };

  constructor(initial: Record<string, Partial<SimTarget> & { version: string }> = {}) {
    for (const [id, t] of Object.entries(initial)) this.add(id, t);
  }

  add(id: string, t: Partial<SimTarget> & { version: string }): void {
    this.targets.set(id, { healthy: true, reachable: true, drained: false, ...t });
  }

  get(id: string): SimTarget {
    const t = this.targets.get(id);
    if (!t) throw new Error(`no simulated target ${id}`);
    return t;
  }

  /** Changes a target (as an operator or a failure would), telling the listeners. */
  set(id: string, change: Partial<SimTarget>, call?: Call): void {
    Object.assign(this.get(id), change);
    this.changed(id, Object.keys(change).join(','), call);
  }

  /** Version of every target. */
  versions(): Record<string, string> {
    return Object.fromEntries([...this.targets].map(([id, t]) => [id, t.version]));
  }

  /** True when the target is serving: reachable, healthy, on a working version and not drained. */
  inService(id: string): boolean {
    const t = this.get(id);
    return t.reachable && this.healthOk(t) && !t.drained;
  }

  healthOk(t: SimTarget): boolean {
    return t.reachable && t.healthy && !t.version.includes('-broken');
  }

  /** Matching calls fail (see {@link FailRule}). */
  failWhen(rule: FailRule): this {
    this.rules.push({ ...rule });
    return this;
  }

  /** Runs `action` when a matching call starts, before it is answered. */
  on(match: (call: Call) => boolean, action: (call: Call) => void, once = true): this {
    this.scripts.push({ match, action, once });
    return this;
  }

  onChange(listener: ChangeListener): this {
    this.listeners.push(listener);
    return this;
  }

  /** Listeners see every answer, when it is given. */
  onAnswer(listener: AnswerListener): this {
    this.answerListeners.push(listener);
    return this;
  }

  /** Calls of the given kinds (every call without a filter), optionally of one target. */
  callsOf(kinds?: StepKind | StepKind[], target?: string): Call[] {
    const ks = kinds === undefined ? undefined : Array.isArray(kinds) ? kinds : [kinds];
    return this.calls.filter((c) => (!ks || ks.includes(c.kind)) && (!target || c.target === target));
  }

  /** Targets that got a step changing them (drain, upgrade, undrain). */
  touched(): string[] {
    return [...new Set(this.callsOf(['drain', 'upgrade', 'undrain']).map((c) => c.target))];
  }

  private changed(target: string, what: string, call?: Call): void {
    for (const l of this.listeners) l({ target, what, call });
  }

  /** @internal the runner's entry: what a call does to the fleet, and what it answers. */
  async handle(kind: StepKind, target: string, version: string, clock: FakeClock, signal?: AbortSignal, step?: string) {
    const call: Call = { kind, target, version, at: clock.nowMs(), n: this.calls.length, ...(step && { step }) };
    this.calls.push(call);
    for (const s of [...this.scripts]) {
      if (!s.match(call)) continue;
      if (s.once) this.scripts.splice(this.scripts.indexOf(s), 1);
      s.action(call);
    }
    const rule = this.rules.find(
      (r) =>
        (r.kind === undefined || r.kind === kind) &&
        (r.target === undefined || r.target === target) &&
        (r.times === undefined || r.times > 0) &&
        (r.when === undefined || r.when(call, this)),
    );
    if (rule && rule.times !== undefined) rule.times--;
    const isHook = kind === 'before' || kind === 'after';
    const t = isHook ? undefined : this.get(target);
    const reachable = isHook || t!.reachable;
    if (!rule && reachable && kind === 'drain') {
      t!.drained = true;
      this.changed(target, 'drained', call);
    }
    const latency = this.latency[kind];
    if (latency > 0) await clock.sleep(latency, signal);
    const answer = (r: Omit<StepResult, 'attempts' | 'durationMs'>): StepResult => {
      call.endAt = clock.nowMs();
      call.ok = r.ok;
      const result = { attempts: 1, durationMs: call.endAt - call.at, ...r };
      for (const l of this.answerListeners) l(call, result);
      return result;
    };
    if (signal?.aborted) return answer({ ok: false, message: 'aborted', stopped: true });
    if (rule) {
      const message = rule.message ?? `scripted ${kind} failure on ${target}`;
      return answer(
        rule.status === false ? { ok: false, message } : { ok: false, status: rule.status ?? 500, message },
      );
    }
    if (!t) return answer({ ok: true, status: 200, message: `${kind} hook ran` });
    if (!t.reachable) return answer({ ok: false, message: `connect ECONNREFUSED ${target}` });
    switch (kind) {
      case 'version':
        return answer({ ok: true, status: 200, version: t.version, message: `version ${t.version}` });
      case 'upgrade':
        t.version = version;
        this.changed(target, `version=${version}`, call);
        return answer({ ok: true, status: 200, message: `upgraded to ${version}` });
      case 'undrain':
        t.drained = false;
        this.changed(target, 'undrained', call);
        return answer({ ok: true, status: 200, message: 'undrained' });
      case 'verify':
        return this.healthOk(t)
          ? answer({ ok: true, status: 200, message: 'HTTP 200' })
          : answer({ ok: false, status: 503, message: `HTTP 503 (${t.healthy ? t.version : 'unhealthy'})` });
      default:
        return answer({ ok: true, status: 200, message: `${kind} ok` });
    }
  }
}

/** The scripted step runner: maps each step object to its kind and lets the fleet answer. */
export class ScriptedRunner implements StepRunner {
  private readonly byKey = new Map<string, StepKind>();
  private readonly byObject = new Map<StepSpec, StepKind>();

  constructor(
    spec: RolloutSpec,
    readonly fleet: SimFleet,
    private readonly clock: FakeClock,
  ) {
    const named: [StepKind, StepSpec | undefined][] = [
      ['version', spec.steps.version],
      ['drain', spec.steps.drain],
      ['upgrade', spec.steps.upgrade],
      ['verify', spec.steps.verify],
      ['undrain', spec.steps.undrain],
      ['before', spec.hooks.before],
      ['after', spec.hooks.after],
      // A tier's own steps and hooks (distinct URLs from the top-level ones).
      ...spec.tiers.flatMap((t): [StepKind, StepSpec | undefined][] => [
        ['version', t.steps?.version],
        ['drain', t.steps?.drain],
        ['upgrade', t.steps?.upgrade],
        ['verify', t.steps?.verify],
        ['undrain', t.steps?.undrain],
        ['before', t.hooks?.before],
        ['after', t.hooks?.after],
      ]),
    ];
    for (const [kind, step] of named) {
      if (!step) continue;
      this.byObject.set(step, kind);
      const key = stepKey(step);
      if (this.byKey.has(key))
        throw new Error(`steps ${this.byKey.get(key)} and ${kind} look alike: give them distinct URLs`);
      this.byKey.set(key, kind);
    }
  }

  kindOf(step: StepSpec): StepKind {
    const kind = this.byObject.get(step) ?? this.byKey.get(stepKey(step));
    if (!kind) throw new Error(`the scripted runner does not know step ${stepKey(step)}`);
    return kind;
  }

  run(step: StepSpec, vars: TemplateVars, opts: { signal?: AbortSignal } = {}): Promise<StepResult> {
    return this.fleet.handle(this.kindOf(step), vars.target.id, vars.version, this.clock, opts.signal, stepKey(step));
  }
}

function stepKey(step: StepSpec): string {
  return step.kind === 'http'
    ? `${step.method} ${step.url}`
    : step.kind === 'ssh'
      ? `ssh ${step.ssh.join(' ')}`
      : step.run.join(' ');
}
