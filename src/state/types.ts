/**
 * The state file (`rollouts/<name>.state.yaml`): observed progress, written
 * only by Fleetgate. Times are ISO-8601 strings (UTC); durations in ms.
 */
import type { AlertsCheck, SilenceRecord } from '../analysis/alerts/types.js';
import type { SloCheck } from '../analysis/slo/types.js';
import type { Measurement } from '../analysis/types.js';
import type { StoredConfig } from '../spec/types.js';

export const STATE_API_VERSION = 'fleetgate/v1alpha1';
export const STATE_KIND = 'RolloutState';

/** Phase of the rollout (Argo's words where they fit). */
export type RolloutPhase =
  /** Nothing has run yet for this spec. */
  | 'Pending'
  /** Waves are being applied. */
  | 'Progressing'
  /** Stopped for a decision: breaker trip, failed wave, gate, warning metric. */
  | 'Paused'
  /** Every wave done and observed: the fleet runs `toVersion`. */
  | 'Healthy'
  /** Stopped with targets in a mixed or failed condition (abort, failed rollback). */
  | 'Degraded'
  /** Touched targets are being returned to the previous version. */
  | 'RollingBack'
  /** Touched targets were returned to the previous version. */
  | 'RolledBack';

export type WavePhase = 'Pending' | 'Progressing' | 'Observing' | 'Completed' | 'Failed' | 'RolledBack';

/**
 * Per-target result. `step` is the last step started; with phase `Progressing`
 * it says what the target was doing when the run stopped.
 */
export type TargetPhase = 'Pending' | 'Progressing' | 'Succeeded' | 'Failed' | 'RolledBack' | 'RollbackFailed';

export interface TargetState {
  phase: TargetPhase;
  /** Last step started: `version`, `drain`, `upgrade`, `verify`, `undrain`, `observe`, `rollback`. */
  step?: string;
  /** Version the target reported when first probed in this rollout. */
  from?: string;
  /**
   * Version it reported last (read again after every failed step: what it runs now).
   * Absent after a failed read: see `message`.
   */
  version?: string;
  /** Version it is being moved to by a rollback (written before it is touched, so a crash resumes to the same version). */
  to?: string;
  /** Why the last read of its version failed (`unknown: connection refused`), when it did. */
  versionUnknown?: string;
  /** True when the target already ran the desired version and was not upgraded again. */
  skipped?: boolean;
  attempts?: number;
  startedAt?: string;
  finishedAt?: string;
  message?: string;
  /**
   * Where the target was reached, and its labels, as the inventory said when this rollout
   * last loaded it: a rollback rebuilds its targets from these when discovery fails.
   */
  address?: string;
  labels?: Record<string, string>;
  /** Reason code of the last failure, when it has one (`NotCaughtUp`). */
  reason?: string;
  /**
   * A replacement under way or done in this slot (`strategy.type: replace`; src/engine/replace.ts):
   * `mode` `surge` (the new target came before the old one left) or `drainFirst` (the old one left
   * first, within maxUnavailable) or `pool` (a blue-green tier's new pool: the old target serves until
   * the switch), `old` the target being replaced, `new` the one provisioned for it
   * (written as soon as the provision step answered, so a crash never loses a provisioned target).
   */
  replace?: { mode: 'surge' | 'drainFirst' | 'pool'; old: string; new?: string };
  /** This target was replaced by that one (`strategy.type: replace` or `blueGreen`). */
  replacedBy?: string;
  /** This target was retired (its retire step passed and it no longer answers): it is gone. */
  retired?: boolean;
  /** This target was provisioned by a rollout to take that target's place. */
  replaces?: string;
  /**
   * Configuration revisions (spec `config`, docs/config-rollouts.md): `config` the one it reported
   * last, `configFrom` the one it reported when first probed in this rollout, `configTo` the one a
   * rollback is moving it to (written before it is touched, like `to`).
   */
  config?: string;
  configFrom?: string;
  configTo?: string;
}

export interface WaveState {
  id: string;
  phase: WavePhase;
  /** Target ids of the wave (as planned when it started). */
  targets: string[];
  startedAt?: string;
  finishedAt?: string;
  /** End of the observation window (ISO time) once the wave's steps are done: the most it lasts (the tier's `observe`). */
  observeUntil?: string;
  /**
   * Where the analysed window really ended (ISO time): before `observeUntil` when every metric was
   * decided early, after it when `noData: wait` held it. The next wave's `before` window ends here.
   */
  observedUntil?: string;
  /** When the analysis reached its verdict (ISO time; for a window evaluated after it elapsed, when it was evaluated). */
  decidedAt?: string;
  /** Times a run opened the window again because the provider had lost it (`scrape` after an interrupted or deferred run). */
  reopened?: number;
  succeeded?: number;
  failed?: number;
  message?: string;
  /** Metric analysis of the observation window: verdict and every measurement (metric, query, cohort, window, value, baseline, threshold, verdict, message). */
  analysis?: { verdict: 'pass' | 'fail' | 'inconclusive'; message: string; measurements: Measurement[] };
  /** The alert gate's checks (spec `alerts`): before the wave started and at the end of its window, with the alerts that fired. */
  alerts?: {
    before?: AlertsCheck;
    after?: AlertsCheck;
    /** Alerts an operator's `continue` accepted after a check showed them (`fingerprint@startsAt`): not counted again. */
    accepted?: string[];
  };
  /** The error-budget gate's checks (spec `slo`): before the wave started and at the end of its window. */
  slo?: { before?: SloCheck; after?: SloCheck };
  /**
   * How long each step took on this wave's targets (ms): `target` (probe to undrain, from the
   * targets' own times), `drain`, `upgrade`, `verify`, `undrain`, `caughtUp`; a median and a
   * maximum, never every sample (see `src/state/history.ts`).
   */
  steps?: Record<string, StepTiming>;
  /** Reason codes of the pauses this wave stopped at (`CircuitBreakerTripped`, `GatePending`, …), each once. */
  paused?: string[];
  /**
   * Legs this wave was opened for (`run --open-shards N`): each `run --shard i/N` moves only its
   * slice of the targets; the next unsharded run takes the wave's verdict (see `src/engine/shard.ts`).
   */
  shards?: number;
}

export interface BreakerTrip {
  at: string;
  wave: string;
  failedTargets: string[];
  reason: string;
}

export type Decision = 'continue' | 'rollback' | 'abort';

export interface DecisionRecord {
  at: string;
  decision: Decision;
  by: string;
  reason?: string;
  /** Wave the decision was taken at (a `continue` accepts that wave's failures). */
  wave?: string;
}

export interface Approval {
  at: string;
  gate: string;
  by: string;
}

export interface Condition {
  /** Reason code from `src/engine/reasons.ts` (tests assert on these). */
  reason: string;
  message: string;
  at: string;
  /** `OutsideDeployWindow`, `DeployFreeze`: when waves may start again (ISO-8601). */
  opensAt?: string;
}

/** How long one step took over a wave's targets (ms): bounded, a median and a maximum. */
export interface StepTiming {
  /** Targets that ran the step. */
  count: number;
  /** Median duration (ms; the mean of the two middle samples for an even count). */
  medianMs: number;
  /** Longest duration (ms). */
  maxMs: number;
}

/**
 * One wave of a past rollout, as its history entry keeps it (one line in the state file):
 * what `plan` estimates from and what its wave-size suggestion counts.
 */
export interface WaveHistory {
  id: string;
  /** Targets in the wave. */
  size: number;
  phase: WavePhase;
  /** Wall time of the wave (ms): its start to its end, steps and observation window (and any pause in between). */
  durationMs?: number;
  /** Targets of the wave that failed. */
  failed?: number;
  /** Reason codes of the pauses the wave stopped at (see `WaveState.paused`). */
  paused?: string[];
  /** The last decision taken at this wave (`continue`, `rollback`, `abort`). */
  decision?: Decision;
  /** The verdict of the wave's metric analysis, when it had one. */
  verdict?: 'pass' | 'fail' | 'inconclusive';
  /** Per-step timings (see `WaveState.steps`). */
  steps?: Record<string, StepTiming>;
}

/** Waves kept per history entry (the first ones; `waveCount` says how many there were). */
export const WAVE_HISTORY_LIMIT = 50;

/**
 * History entries, the newest, that keep their `waves`: the plan reads the last 5 rollouts of new
 * versions, and 10 leave room for rollbacks between them. Older entries keep `waveCount` only, so
 * a full history adds at most 500 wave lines (a 10,000-target state stays under 2 MB).
 */
export const WAVE_HISTORY_ENTRIES = 10;

export interface HistoryEntry {
  from?: string;
  to: string;
  /** The version this rollout rolled back (never a target of `rollback --to`). */
  rolledBack?: string;
  phase: RolloutPhase;
  startedAt?: string;
  finishedAt?: string;
  reason?: string;
  /**
   * Who approved which gate and who decided what, in that rollout (the audit row "who
   * approved, when" outlives the next rollout, which empties `approvals` and `decisions`).
   * At most {@link AUDIT_LIMIT} of each, the newest.
   */
  approvals?: Approval[];
  decisions?: DecisionRecord[];
  /** Configuration revisions before and after (spec `config`; absent for a rollout without one). */
  fromConfig?: string;
  toConfig?: string;
  /** True for a `fleetgate rollback` run: the entry is that rollback, not a rollout of a new version. */
  rollback?: boolean;
  /** The rollout's waves with their durations and step timings, at most {@link WAVE_HISTORY_LIMIT}. */
  waves?: WaveHistory[];
  /** Waves the rollout had, when more than were kept in `waves` (or when an older entry's were dropped). */
  waveCount?: number;
}

/** Approvals and decisions kept per history entry. */
export const AUDIT_LIMIT = 20;

/** Outcome of a rollout hook (`before`, `after`): its start is written before it runs, so a crash re-runs it. */
export interface HookRecord {
  phase: 'Running' | 'Succeeded' | 'Failed';
  startedAt?: string;
  finishedAt?: string;
  message?: string;
}

export interface RolloutState {
  apiVersion: typeof STATE_API_VERSION;
  kind: typeof STATE_KIND;
  name: string;
  /** Increases by one on every write; a write compares it with what the writer read (compare-and-swap). */
  revision: number;
  phase: RolloutPhase;
  /** Why the rollout is in this phase (set for Paused, Degraded, RolledBack, …). */
  condition?: Condition;
  /** Version the fleet ran before this rollout. */
  fromVersion?: string;
  /** Version this rollout moves to (a rollback's `toVersion` is the version it restores). */
  toVersion?: string;
  /** True when this rollout was started as a rollback (`fleetgate rollback`). */
  isRollback?: boolean;
  /** Version that was rolled back; `fleetgate run` refuses to roll it out again unless told to. */
  rolledBackFrom?: string;
  /** Last version a rollout completed as Healthy on. */
  lastKnownGood?: string;
  /**
   * Configuration revisions (spec `config`, docs/config-rollouts.md), beside the versions: the
   * desired state is (version, configuration revision). `fromConfig` what most targets ran before,
   * `toConfig` what this rollout moves to (a rollback's: what it restores), `lastKnownGoodConfig`
   * with `lastKnownGood`, `rolledBackFromConfig` with `rolledBackFrom`.
   */
  fromConfig?: string;
  toConfig?: string;
  lastKnownGoodConfig?: string;
  rolledBackFromConfig?: string;
  /**
   * The content of the configuration revisions a rollback may restore, by revision: the one
   * rolled out, the one before, the last known good one and those of recent history (bounded).
   */
  configs?: Record<string, StoredConfig>;
  startedAt?: string;
  updatedAt?: string;
  /** Where the rollout stands: id of the wave in progress or next. */
  currentWave?: string;
  waves: WaveState[];
  targets: Record<string, TargetState>;
  breaker: { consecutiveFailures: number; trips: BreakerTrip[] };
  decisions: DecisionRecord[];
  approvals: Approval[];
  /** Hooks of the rollout in progress and how they ended (a `Running` one is re-run by the next run). */
  hooks?: {
    before?: HookRecord;
    after?: HookRecord;
    /** Hooks of tiers that have their own, by tier name. */
    tiers?: Record<string, { before?: HookRecord; after?: HookRecord }>;
  };
  /** Targets left out of this rollout explicitly (spec `exclude`, `--exclude`): never touched. */
  excluded?: string[];
  /**
   * Silences Fleetgate created in Alertmanager for targets being drained and upgraded and has
   * not expired yet (spec `alerts.silence`); the next run expires any a stopped run left.
   */
  silences?: SilenceRecord[];
  /** Past rollouts, newest first, bounded (see `HISTORY_LIMIT`). */
  history: HistoryEntry[];
  /**
   * The run that may touch this rollout's targets now, on backends shared by several
   * machines (GitHub): taken with a compare-and-swap commit before any target is touched,
   * renewed while the run lives, removed when it ends (see `src/engine/lease.ts`).
   */
  lease?: StateLease;
  /**
   * The legs of a sharded wave (`run --shard i/N`), by `<wave>#<i>/<N>`: each leg writes only its
   * own entry and its own targets, so the commits of concurrent legs merge (`state-merge.ts`).
   * The verdict removes a wave's entries once it has read them.
   */
  shardLegs?: Record<string, ShardLeg>;
  /**
   * Inventory ids replaced by a `replace` or `blueGreen` tier → the target in their place now
   * (see `src/plan/replace.ts`: an inventory that still lists the old id reaches the new target).
   */
  replacements?: Record<string, Replacement>;
  /** Blue-green tiers of this rollout, by tier name: the pools and the traffic switch (src/engine/blue-green.ts). */
  pools?: Record<string, PoolRecord>;
}

/** A blue-green tier's two pools (slot ids and the targets in them; times ISO, UTC). */
export interface PoolRecord {
  /** Version of the new pool. */
  version: string;
  /** Targets of the old pool (serving until the switch; kept until `keepUntil`). */
  old: string[];
  /** Targets of the new pool (provisioned and observed before the switch). */
  new: string[];
  /** When the `switch` step moved traffic to the new pool. */
  switchedAt?: string;
  /** Until when the old pool is kept (a rollback until then switches back). */
  keepUntil?: string;
  /** When the old pool was retired (after that a rollback cannot switch back). */
  retiredAt?: string;
  /** When a rollback switched traffic back to the old pool. */
  switchedBackAt?: string;
}

/**
 * An inventory entry that was replaced (`strategy.type: replace`): kept across rollouts, so an
 * inventory that still lists the old id (an inline list, a file) reaches the target now in its place.
 */
export interface Replacement {
  /** Id of the target in its place now (chains are collapsed: always the newest). */
  by: string;
  address: string;
  labels?: Record<string, string>;
  at: string;
}

/** One leg of a sharded wave: who ran it, its lease while it runs, and what its steps left (times ISO, UTC). */
export interface ShardLeg {
  wave: string;
  /** 1-based index of the leg. */
  shard: number;
  /** Number of legs of the wave. */
  of: number;
  holder: string;
  /** The leg's own lease (key: the run's key and `#<i>/<N>`); absent once the leg ended. */
  lease?: StateLease;
  startedAt: string;
  finishedAt?: string;
  /** Most members of the tier this leg had out at once (its share of the budget). */
  budget: number;
  /** Targets of the leg's slice. */
  targets: number;
  succeeded?: number;
  failed?: number;
  /** The leg's circuit breaker tripped (on its own consecutive failures): the verdict pauses. */
  breakerTripped?: { reason: string; failedTargets: string[]; at: string };
  /** A take-down the leg's share of the budget refused (names the members out): the verdict pauses. */
  budgetExhausted?: string;
}

/** A run's claim on the rollout (times ISO, UTC). */
export interface StateLease {
  /** Who holds it, for people: `github:alice run 123 attempt 1 job canary`. */
  holder: string;
  /**
   * What a later run compares to tell a re-run of the same job (may take the lease over)
   * from another run: `github:<owner>/<repo>:<run id>:<job>`, or `local:<host>:<pid>`.
   */
  key: string;
  acquiredAt: string;
  /** Past this time the lease no longer holds anyone off (renewed every third of its length). */
  expiresAt: string;
  /** Host and process of the holder, when it runs outside Actions (a dead process frees it at once). */
  host?: string;
  pid?: number;
}

/** Most past rollouts kept in `history`. */
export const HISTORY_LIMIT = 20;
