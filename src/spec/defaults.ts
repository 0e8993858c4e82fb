/**
 * Defaults applied by `normalizeSpec`, in the form a spec would write them
 * (so the JSON Schema can show them) and where a rule comes from.
 */
import type { NoDataPolicy, Severity, Size } from './types.js';

/** Step names that have their own defaults; `hook` covers `hooks.before` / `hooks.after`. */
export type StepDefaultsName =
  | 'version'
  | 'drain'
  | 'undrain'
  | 'upgrade'
  | 'verify'
  | 'hook'
  | 'leader'
  | 'transferLeadership'
  | 'caughtUp'
  | 'provision'
  | 'inService'
  | 'retire'
  | 'switch'
  | 'configRevision'
  | 'reload';

/** Written defaults of a step's timeout, retries and interval. */
export interface WrittenStepDefaults {
  timeout: string;
  retries: number;
  interval: string;
}

/**
 * Per-step defaults. `version`: a quick read (10 s, 2 retries). `drain`/`undrain`:
 * 30 s, 2 retries (seed 000 API servers: 30 s connection drain grace period).
 * `upgrade`: 5 min, no retry (an upgrade is not blindly repeated). `verify`:
 * polled every 5 s until healthy within 5 min. Hooks: 10 min, no retry
 * (backups and migrations, seeds 002/003). `leader`: a quick read like `version`.
 * `transferLeadership`: 30 s for the transfer and again for the leader to be seen elsewhere, no
 * retry. `caughtUp`: polled every second for at most 2 min (a member replaying its Raft log).
 * `provision`: 10 min, no retry (a new machine is not blindly asked for twice). `inService`: like
 * undrain. `retire`: 5 min, 2 retries (removing a machine is idempotent). `switch` (blue-green
 * traffic switch): 2 min, no retry.
 */
export const STEP_DEFAULTS: Readonly<Record<StepDefaultsName, WrittenStepDefaults>> = {
  version: { timeout: '10s', retries: 2, interval: '1s' },
  drain: { timeout: '30s', retries: 2, interval: '1s' },
  undrain: { timeout: '30s', retries: 2, interval: '1s' },
  upgrade: { timeout: '5m', retries: 0, interval: '5s' },
  verify: { timeout: '5m', retries: 0, interval: '5s' },
  hook: { timeout: '10m', retries: 0, interval: '5s' },
  leader: { timeout: '10s', retries: 2, interval: '1s' },
  transferLeadership: { timeout: '30s', retries: 0, interval: '200ms' },
  caughtUp: { timeout: '2m', retries: 0, interval: '1s' },
  provision: { timeout: '10m', retries: 0, interval: '5s' },
  inService: { timeout: '30s', retries: 2, interval: '1s' },
  retire: { timeout: '5m', retries: 2, interval: '5s' },
  switch: { timeout: '2m', retries: 0, interval: '5s' },
  // Config rollouts (docs/config-rollouts.md): the revision is read like the version; a reload is not blindly repeated.
  configRevision: { timeout: '10s', retries: 2, interval: '1s' },
  reload: { timeout: '1m', retries: 0, interval: '5s' },
};

/** HTTP statuses a step accepts when `expect` is omitted: any 2xx up to 206. */
export const DEFAULT_HTTP_EXPECT: readonly number[] = [200, 201, 202, 203, 204, 205, 206];
/** HTTP method when `http.method` is omitted. */
export const DEFAULT_HTTP_METHOD = 'GET';

/** Canary size when omitted: `auto` = 1 under 50 targets, 2 up to 500, 5 above (seed 000 table). */
export const DEFAULT_CANARY = 'auto';
/** Wave size when omitted: `auto` = 5, 25 or 50 targets by fleet size (seed 000 table). */
export const DEFAULT_WAVES = 'auto';
/** Most targets of a tier out of service at once when omitted. */
export const DEFAULT_MAX_UNAVAILABLE = 1;
/**
 * Extra targets a `replace` tier may run at once above its size when `maxSurge` is omitted:
 * 25 %, rounded up (the Kubernetes Deployment default for `maxSurge`).
 */
export const DEFAULT_MAX_SURGE = '25%';
/** How long a `blueGreen` tier keeps its old pool after the switch when `keepOldPool` is omitted. */
export const DEFAULT_KEEP_OLD_POOL = '1h';
/** Observation window after the canary and each wave when omitted: 15 minutes (seed 000). */
export const DEFAULT_OBSERVE = '15m';
/** Health re-check interval during the observation window when omitted. */
export const DEFAULT_OBSERVE_INTERVAL = '30s';
/** Consecutive failed targets that trip the circuit breaker when omitted (seed 001). */
export const DEFAULT_MAX_CONSECUTIVE_FAILURES = 2;
/** Percent of a wave's targets that may fail without failing the wave when omitted. */
export const DEFAULT_FAILURE_TOLERANCE = '0%';
/** Label key whose value `"true"` marks the quorum leader when omitted. */
export const DEFAULT_LEADER_LABEL = 'leader';
/** Planning estimate of one target's drain → undrain time when omitted. */
export const DEFAULT_EXPECTED_TARGET_DURATION = '60s';

/** Name of the single tier used when `tiers` is omitted; it selects every target. */
export const DEFAULT_TIER_NAME = 'all';

/** Time allowed for an inventory `discover` command when omitted. */
export const DEFAULT_DISCOVER_TIMEOUT = '60s';

/** Rollback wave size when omitted: half the targets going back per wave (seed 001: rollback goes faster than the rollout). */
export const DEFAULT_ROLLBACK_WAVES = '50%';
/** The same, normalized. */
export const DEFAULT_ROLLBACK_WAVES_SIZE: Size = { kind: 'percent', value: 50 };

/** What a metric with no data means when omitted: pause for a decision (inconclusive is never a pass). */
export const DEFAULT_NO_DATA: NoDataPolicy = 'pause';
/** Metric severity when omitted: a failure pauses the rollout. */
export const DEFAULT_SEVERITY: Severity = 'warning';
/** Time between two measurements of a metric when omitted. */
export const DEFAULT_METRIC_INTERVAL = '1m';
/** Measurements per analysis when omitted. */
export const DEFAULT_METRIC_COUNT = 1;
/** Failed measurements tolerated when omitted. */
export const DEFAULT_FAILURE_LIMIT = 0;
/** Inconclusive measurements tolerated when omitted. */
export const DEFAULT_INCONCLUSIVE_LIMIT = 0;
/** Statistical comparison score (percent) at or above which a metric passes, when omitted. */
export const DEFAULT_PASS_SCORE = 95;
/** Statistical comparison score (percent) at or above which a metric is inconclusive rather than failed, when omitted. */
export const DEFAULT_MARGINAL_SCORE = 75;
/**
 * Confidence of the sequential `maxIncrease` test when omitted: a good canary is falsely failed,
 * and a `detect`-size regression falsely passed, each at most 1% of the time (issue 11).
 */
export const DEFAULT_CONFIDENCE = '99%';
/** The same as a ratio. */
export const DEFAULT_CONFIDENCE_RATIO = 0.99;
/** Smallest regression a pass must rule out when omitted: twice the baseline rate (suits seed 000's criteria). */
export const DEFAULT_DETECT = '2x';
/** The same as a ratio. */
export const DEFAULT_DETECT_RATIO = 2;
/** Fewest events (requests, or samples) before any verdict when omitted. */
export const DEFAULT_MIN_SAMPLES = 1;
/** Most time past the window a `noData: wait` metric waits for data when omitted. */
export const DEFAULT_MAX_WAIT = '1h';
/** Least observation window before the analysis may end it early when omitted: none. */
export const DEFAULT_MIN_WINDOW = '0s';

/** Host of `ssh` steps when `ssh.host` is omitted: the target's address without a port. */
export const DEFAULT_SSH_HOST = '{{target.host}}';
/** Port of `ssh` steps when `ssh.port` is omitted (the IANA ssh port). */
export const DEFAULT_SSH_PORT = 22;
/** Time allowed to open one target's SSH connection when `ssh.connectTimeout` is omitted. */
export const DEFAULT_SSH_CONNECT_TIMEOUT = '10s';
