/**
 * Normalized rollout spec: what the program uses after parsing, validation and
 * defaults. What the user typed is `WrittenRolloutSpec` (inferred from the zod
 * schema in `schema.ts`); this is the type every other module consumes.
 *
 * Units: every duration here is in **milliseconds**; every percent is a
 * **percent number** (20 means 20%), never a ratio.
 */

import type { SloSpec } from './slo.js';
import type { ScheduleSpec } from './schedule.js';
import type { NotifyWebhookSpec } from './notify.js';
import type { ConfigSpec } from './config.js';
import type { SelectorExpression } from './selector.js';

export type { SloSpec } from './slo.js';
export type { ScheduleSpec } from './schedule.js';
export type { NotifyEvent, NotifyWebhookSpec } from './notify.js';
export type { ConfigSpec, ConfigVars, StoredConfig } from './config.js';
export type { SelectorExpression } from './selector.js';

/** API version of the spec file format. */
export const SPEC_API_VERSION = 'fleetgate/v1alpha1';
/** `kind` of a spec document. */
export const SPEC_KIND = 'Rollout';

/** A size written as a count (`5`), a percent (`"20%"`) or `auto` (fleet-size table, seed 000). */
export type Size = { kind: 'count'; value: number } | { kind: 'percent'; value: number } | { kind: 'auto' };

/**
 * One machine, VM, box or service instance the rollout upgrades: what `TargetSchema`
 * (src/spec/schema.ts) reads, with its labels read as text and `{}` when absent
 * (src/inventory/validate.ts). Not the schema's output itself, which lets labels be absent,
 * numbers or booleans; test/state/schema-types.test.ts pins that the two agree.
 */
export interface Target {
  /** Unique id within the inventory (used in state and events). */
  id: string;
  /** Address the steps reach it at, e.g. `127.0.0.1:8080` or `edge-1.example.net`. */
  address: string;
  /** Free-form labels; tiers select targets by them. */
  labels: Record<string, string>;
}

/** Where the targets come from. */
export type InventorySource =
  | { kind: 'inline'; targets: Target[] }
  /** A YAML or JSON file (path relative to the spec file's folder) holding a list of targets or `{targets: [...]}`. */
  | { kind: 'file'; path: string }
  /** An argv command (no shell) whose stdout is JSON: a list of targets or `{targets: [...]}`. */
  | { kind: 'discover'; run: string[]; timeoutMs: number };

/** Retry and timeout settings shared by every step. */
export interface StepCommon {
  /** Time allowed for one attempt (ms). For `verify`, the whole polling budget. */
  timeoutMs: number;
  /** Extra attempts after the first one fails (0 = no retry). */
  retries: number;
  /** Delay between attempts (ms). For `verify`, the polling interval. */
  intervalMs: number;
}

/** A step run as an argv array (never through a shell). `{{target.*}}`, `{{version}}` are templated into args and env. */
export interface CommandStep extends StepCommon {
  kind: 'run';
  run: string[];
  env: Record<string, string>;
  /** Working directory, relative to the spec file's folder. */
  cwd?: string;
  /** For the `version` step: the command's trimmed stdout is the version unless `json` names a field. */
  json?: string;
}

/** A step made as an HTTP request through undici. */
export interface HttpStep extends StepCommon {
  kind: 'http';
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** Accepted status codes. */
  expect: number[];
  /** For the `version` step: dotted path of the JSON field holding the version (e.g. `version` or `build.version`). */
  json?: string;
}

/**
 * A command run on the target over SSH: `ssh` is an argv list that Fleetgate quotes for the
 * remote POSIX shell (each element one single-quoted word), so no element is ever read as
 * shell code there. How to connect (host, port, user, key, known_hosts) is the spec's
 * top-level {@link SshSpec}; the system `ssh` client is started as argv, never through a
 * local shell.
 */
export interface SshStep extends StepCommon {
  kind: 'ssh';
  /** Remote argv: program and arguments, each templated, then quoted by Fleetgate. */
  ssh: string[];
  /** For the `version` step: the command's trimmed stdout is the version unless `json` names a field. */
  json?: string;
}

export type StepSpec = CommandStep | HttpStep | SshStep;

/** Where the private key of `ssh` steps comes from. */
export type SshIdentity =
  /** An environment variable holding the key itself (e.g. a GitHub secret); written to a 0600 file per run. */
  | { kind: 'env'; name: string }
  /** A key file (relative to the spec file's folder, or absolute, or `~/…`); copied to a 0600 file per run. */
  | { kind: 'file'; path: string };

/** Host keys `ssh` steps accept (strict checking: any other key fails the step). */
export interface SshKnownHosts {
  /** known_hosts files (relative to the spec file's folder, or absolute, or `~/…`). */
  files: string[];
  /** known_hosts lines written in the spec (`host ssh-ed25519 AAAA…`, `[host]:2222 …`). */
  hosts: string[];
  /** Label key whose value on each target is its host key (`ssh-ed25519 AAAA…`), pinned in the inventory. */
  label?: string;
}

/** How `ssh` steps connect (the spec's top-level `ssh:`); templates are rendered per target. */
export interface SshSpec {
  /** Host template (default `{{target.host}}`). */
  host: string;
  /** Port template (default `22`). */
  port: string;
  /** User template; absent = the ssh client's default. */
  user?: string;
  identity?: SshIdentity;
  /** Absent = the ssh client's own known_hosts files (`~/.ssh/known_hosts`). */
  knownHosts?: SshKnownHosts;
  /** `true` (default): `StrictHostKeyChecking=yes`; `false`: `accept-new` (a changed key still fails). */
  strictHostKeyChecking: boolean;
  /** Time allowed to open a target's connection (ms; default 10 s); rounded up to whole seconds for ssh. */
  connectTimeoutMs: number;
}

/**
 * What says a drain or an undrain has taken effect. Both apply after the step itself has
 * succeeded: first `graceMs`, then `until` polled.
 */
export interface Settle {
  /**
   * Check polled every `until.intervalMs` until it passes or `until.timeoutMs` (the whole
   * polling budget) elapses: for a drain, before the upgrade starts; for an undrain, before
   * the target's slot in its tier's budget is released. Not passing fails the target.
   */
  until?: StepSpec;
  /** Minimum wait after the step, before `until` (ms). */
  graceMs?: number;
}

/** A drain or undrain step, with what says it has taken effect. */
export type SettlingStepSpec = StepSpec & Settle;

export interface StepsSpec {
  /** Reads the version a target runs now (idempotence, resume, drift). */
  version: StepSpec;
  drain?: SettlingStepSpec;
  upgrade: StepSpec;
  /** Polled every `intervalMs` until it succeeds or `timeoutMs` elapses. */
  verify: StepSpec;
  undrain?: SettlingStepSpec;
  /**
   * Quorum tier: prints the current leader's target id (trimmed stdout, the HTTP body, or the
   * `json` field). Asked of the tier's members in turn (`{{target.*}}` is the member asked; the
   * first answer wins) when the tier is about to run a wave, so the leader found then goes last.
   */
  leader?: StepSpec;
  /**
   * Quorum tier: moves leadership off the leader (`{{target.*}}`) to a member already on the new
   * version (`{{transferee.*}}`), before the leader is drained. With a `leader` step, the leader
   * is read again every `intervalMs` until another member leads, within `timeoutMs`.
   */
  transferLeadership?: StepSpec;
  /**
   * Polled every `intervalMs` for at most `timeoutMs` after a member is back (after its undrain),
   * before its slot in the tier's budget is released: e.g. its Raft applied index is within a
   * bound of the leader's. Not passing fails the target (`NotCaughtUp`), left out of service.
   */
  caughtUp?: StepSpec;
  /**
   * `replace` and `blueGreen` tiers: creates a new target to take `{{target.*}}`'s place, on
   * `{{version}}`, and prints it as JSON `{"id", "address", "labels"?}` (stdout, or the HTTP body).
   * The new target is then observed (its version and health) before it is trusted.
   */
  provision?: StepSpec;
  /** `replace`: puts the new target (`{{target.*}}`) in service once it is verified (register it with a load balancer). */
  inService?: StepSpec;
  /** `replace` and `blueGreen`: removes the old target (`{{target.*}}`) once it is drained (it no longer exists after). */
  retire?: StepSpec;
  /**
   * `blueGreen`: moves the tier's traffic to the pool on `{{version}}` (`{{pool.addresses}}`, `{{pool.ids}}`:
   * comma-separated); run once per switch, also to switch back on rollback.
   */
  switch?: StepSpec;
  /**
   * With a `config` section: reads the configuration revision a target runs (trimmed stdout, the
   * HTTP body, or the `json` field), before the engine acts on it and after, as `version` does.
   */
  configRevision?: StepSpec;
  /**
   * With `config.hotReload`: applies a configuration-only change without drain, upgrade or
   * restart (`{{config.revision}}`, `{{config.path}}`, `{{config.content}}`); then verify.
   */
  reload?: StepSpec;
}

/**
 * Steps as a spec or a tier writes them: any subset. A tier's steps are the spec's top-level
 * `steps` with the tier's own `steps` over them (`tierSteps` in `src/spec/steps.ts`); the
 * validator makes sure every tier ends up with `version`, `upgrade` and `verify`.
 */
export type StepOverrides = Partial<StepsSpec>;

export interface HooksSpec {
  /** Runs once before the first target of a rollout is touched (backup, migrations: seeds 002, 003). */
  before?: StepSpec;
  /** Runs once after the last wave is healthy. */
  after?: StepSpec;
}

export interface CircuitBreakerSpec {
  /** Failed targets in a row that trip the breaker (default 2, seed 001). */
  maxConsecutiveFailures: number;
}

/**
 * How a tier's targets get the new version: `inPlace` (drain, upgrade, verify, undrain each target),
 * `replace` (a new target per old one: provision, verify, in service, then drain and retire the old:
 * rolling replacement, seed 004), `blueGreen` (a whole new pool, verified and analysed, then the
 * traffic switched and the old pool kept for `keepOldPoolMs`: seed 004's blue-green node pools).
 */
export type StrategyType = 'inPlace' | 'replace' | 'blueGreen';

export interface StrategySpec {
  /** How targets get the new version (absent = `inPlace`; `normalizeSpec` always sets it). */
  type?: StrategyType;
  /**
   * `replace`: most targets above the tier's size at once (a count ≥ 0 or a percent, rounded up;
   * default 25 %), as a Kubernetes Deployment's `maxSurge`. 0: each old target leaves service before its
   * replacement is provisioned (then `maxUnavailable` must be ≥ 1). Absent = 25 %.
   */
  maxSurge?: Size;
  /** `blueGreen`: how long (ms) the old pool is kept after the switch, so a rollback is a switch back (default 1 h). */
  keepOldPoolMs?: number;
  /** Canary size (default `auto`: 1 under 50 targets, 2 up to 500, 5 above — seed 000). `{kind:'count',value:0}` = no canary. */
  canary: Size;
  /** Wave size (default `auto` from the seed 000 table). */
  waves: Size;
  /** `canary` written as a list: these member ids are the canary, in this order (`canary` is then their count). */
  canaryTargets?: string[];
  /** `canary: {spreadBy: <label>}`: the canary is one member per value of this label (docs/planning.md). */
  canarySpreadBy?: string;
  /** `waves` written as a list of lists: the tier's waves after the canary, by target id (`waves` is then `auto`, unused). */
  waveTargets?: string[][];
  /** Most targets of the tier out of service at once (default 1). Also the concurrency within a wave. */
  maxUnavailable: Size;
  /**
   * Members that must stay in service (count or percent of the tier, like a Kubernetes
   * PodDisruptionBudget); when set, the tier's budget is n − minAvailable instead of `maxUnavailable`.
   */
  minAvailable?: Size;
  /** Observation window after the canary and after each wave (ms; default 15 minutes, seed 000). */
  observeMs: number;
  /** How often targets' health is re-checked during the window (ms; default 30 s). */
  observeIntervalMs: number;
  circuitBreaker: CircuitBreakerSpec;
  /** Percent of a wave's targets that may fail without failing the wave (default 0). */
  failureTolerancePercent: number;
  /** Quorum tier: never more than floor((n-1)/2) members down; leader last. */
  quorum: boolean;
  /** Label key whose value `"true"` marks the quorum leader (default `leader`). */
  leaderLabel: string;
  /** Planning estimate of one target's drain→undrain time (ms; default 60 s). */
  expectedTargetMs: number;
  /**
   * Legs (GitHub matrix jobs) each wave of the tier after the canary is split into (`strategy.shards`,
   * 1–64; absent = one job per wave): see `src/engine/shard.ts`. Never for a quorum tier.
   */
  shards?: number;
}

export interface TierSpec {
  name: string;
  /** Label selector's equality pairs (Kubernetes `matchLabels`): a target belongs to the tier when every pair matches. Empty = every target. */
  select: Record<string, string>;
  /**
   * The selector's set-based requirements (Kubernetes `matchExpressions`: `In`, `NotIn`, `Exists`,
   * `DoesNotExist`), all of which must hold too; absent = none (`src/spec/selector.ts`).
   */
  matchExpressions?: SelectorExpression[];
  strategy: StrategySpec;
  /** Steps of this tier that differ from the spec's top-level `steps` (seed 000: one procedure per component). */
  steps?: StepOverrides;
  /** Hooks run before the tier's first target is touched and after its last wave is healthy. */
  hooks?: HooksSpec;
  /**
   * Runner labels for this tier's jobs on GitHub Actions (`tiers[].runsOn`, a label or a list,
   * normalized to a list): absent = the workflow's `runs-on`. Only the GitHub layer reads it.
   */
  runsOn?: string[];
}

export type Severity = 'warning' | 'critical';
/**
 * What no data (or too few events, below `minSamples`) means: `pause` → inconclusive, `fail`,
 * `pass` (only when written), or `wait`: keep measuring past the window until the data come
 * or `maxWaitMs` after the window passes, then inconclusive.
 */
export type NoDataPolicy = 'pause' | 'fail' | 'pass' | 'wait';

/** A threshold parsed from `"< 0.01"`, `"<= 30"` etc. */
export interface AbsoluteThreshold {
  op: '<' | '<=' | '>' | '>=' | '==' | '!=';
  value: number;
}

export interface MetricSpec {
  name: string;
  /** Query template: `{{targets}}`, `{{targets.regex}}`, `{{baseline}}`, `{{window}}`. */
  query: string;
  threshold?: AbsoluteThreshold;
  /** Relative threshold: most allowed increase over the baseline, percent. */
  maxIncreasePercent?: number;
  /**
   * Absolute increase over the baseline (the metric's own unit, e.g. a ratio) below which
   * `maxIncreasePercent` never fails: a zero or tiny baseline makes any percent meaningless.
   */
  ignoreIncreaseBelow?: number;
  baseline?: { cohort: 'stable' | 'before' };
  /** Statistical comparison (Mann-Whitney U) scores, percent. */
  statistical?: { passScore: number; marginalScore: number };
  severity: Severity;
  noData: NoDataPolicy;
  intervalMs: number;
  count: number;
  failureLimit: number;
  inconclusiveLimit: number;
  /**
   * Confidence of the sequential `maxIncrease` test and the statistical "enough samples" rule,
   * as a ratio in (0, 1) (written `99%`; absent = 0.99): a good canary fails, and a regression of
   * `detect` size passes, each with probability at most 1 − confidence.
   */
  confidence?: number;
  /**
   * Smallest regression a pass must rule out, as a ratio of the baseline (written `2x`; absent = 2,
   * or twice 1 + maxIncrease when that is 2 or more). Above 1 + maxIncrease.
   */
  detect?: number;
  /**
   * Fewest events before any verdict: requests (the ratio's denominator) of the canary, and of
   * its baseline when compared, summed over the window; samples for per-target values. Absent = 1.
   */
  minSamples?: number;
  /** With `noData: wait`: the most time (ms) past the window the metric waits for data (absent = 1 hour). */
  maxWaitMs?: number;
}

export interface AnalysisSpec {
  /** Provider type (registry key) and its settings. */
  provider: { type: string; config: Record<string, unknown> };
  noData: NoDataPolicy;
  metrics: MetricSpec[];
  /**
   * Least time (ms) an observation window lasts before the analysis may end it early because every
   * metric is conclusive (absent = 0: as soon as they are). The window's `observe` is the most.
   */
  minWindowMs?: number;
  /**
   * End the observation window as soon as every metric is decided (`analysis.stopEarly`; absent =
   * true): the tier's `observe` is then the most a window lasts. False: every window runs its full `observe`.
   */
  stopEarly?: boolean;
}

/** How Fleetgate reaches Alertmanager (credentials are read from the environment when the client is made). */
export interface AlertmanagerSpec {
  /** Base URL as written (`${VAR}` not yet expanded). */
  url: string;
  /** Name of the environment variable holding a bearer token. */
  bearerTokenEnv?: string;
  headers: Record<string, string>;
  /** Time allowed per request (ms). */
  timeoutMs: number;
  retries: number;
  /** Wait before the first retry (ms), doubled each time. */
  backoffMs: number;
}

/** The `alerts` section: firing Alertmanager alerts as a gate, silences for planned work (docs/providers/alertmanager.md). */
export interface AlertsSpec {
  alertmanager: AlertmanagerSpec;
  /** Selector in Alertmanager matcher syntax as written; values may hold `{{target.*}}`. */
  select: string;
  /** `fail`: the wave fails and touched targets roll back; `pause`: pause with reason `AlertFiring`. */
  action: 'fail' | 'pause';
  /** Silences of each target's alerts while it is drained and upgraded; absent = none. */
  silence?: {
    /** Most time a silence lasts (ms); it is expired as soon as the target is back. */
    durationMs: number;
    /** Words added to each silence's comment. */
    comment?: string;
    /** Matchers naming the target, added to `select`'s (as written, templated per target). */
    matchers: string;
  };
}

export interface GatesSpec {
  /** Environment (or CLI prompt) that approves starting the canary. */
  canary?: string;
  /** Environment that approves promotion from canary to the waves. */
  promote?: string;
}

export interface VersionPolicySpec {
  /** Allow moving to a lower semver version outside a rollback (default false). */
  allowDowngrade: boolean;
  /** Most minor versions a target may jump in one rollout; absent = no limit. */
  maxSkew?: number;
  /** Versions a rollout must pass through, in order (version skipping via a step-by-step path, seed 003). */
  stepThrough: string[];
  /** Allow a tier whose members report more than two distinct versions before the run (default false: N and N-1, seed 000). */
  allowMixedVersions?: boolean;
}

export interface RollbackSpec {
  /** Targets per rollback wave (`rollback/1`, `rollback/2`, …; default `"50%"`, seed 001 "faster rollback"). */
  waves: Size;
  /** Most targets of a rollback wave out of service at once (default: the wave's size). */
  maxUnavailable?: Size;
}

export interface RolloutSpec {
  apiVersion: typeof SPEC_API_VERSION;
  kind: typeof SPEC_KIND;
  name: string;
  component: string;
  /** Desired version (semver). */
  version: string;
  inventory: InventorySource;
  tiers: TierSpec[];
  /** Steps every tier uses unless it has its own (see {@link TierSpec.steps}). */
  steps: StepOverrides;
  /** Hooks run once per rollout (before the first target, after the last wave). */
  hooks: HooksSpec;
  /** How `ssh` steps connect; absent = the defaults of {@link SshSpec}. */
  ssh?: SshSpec;
  analysis?: AnalysisSpec;
  /** Alertmanager as a gate and silences for planned work; absent = no alert gate. */
  alerts?: AlertsSpec;
  /** The error-budget gate (`slo`): budget consumed since the rollout began, burn rates (docs/slo.md). */
  slo?: SloSpec;
  /** Deploy windows and freezes (`schedule`): when waves may start (docs/schedule-and-notifications.md). */
  schedule?: ScheduleSpec;
  /** Webhooks told about chosen events (`notify`; docs/schedule-and-notifications.md). */
  notify?: NotifyWebhookSpec[];
  /** Configuration rolled out with the version (`config`; docs/config-rollouts.md): its revision is part of the desired state. */
  config?: ConfigSpec;
  gates: GatesSpec;
  versionPolicy: VersionPolicySpec;
  rollback: RollbackSpec;
  /** Target ids left out of the rollout explicitly (never touched; recorded in the state). */
  exclude: string[];
  /** Path of the spec file it came from (as given to the parser). */
  file: string;
}
