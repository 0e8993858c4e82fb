/**
 * The state file's schema (zod), as the spec and inventories have theirs (issue 14, part 1),
 * and the state's types, which come from it: every field the engine writes is here, with its
 * meaning (the TSDoc on each field carries to the inferred type), and problems are worded in
 * words a person reads. Problems become `file:line:col path: message` through the same
 * `problemsFromZod` as the spec's (src/state/parse.ts).
 *
 * Readers are lenient where writers may differ: a field a newer writer added is kept (every
 * object is loose when read), and an optional field written as `null` counts as absent (it is
 * removed before the state is used). The types are exact nevertheless: a field they do not
 * name is a compile error. Times are ISO-8601 strings (UTC); durations in ms.
 *
 * A few records other layers define and the engine stores as they are (a wave's analysis
 * measurements, the alert and error-budget checks, the silences) are checked here only for
 * being mappings; their types are those layers' (`z.custom`).
 */
import { z } from 'zod';
import type { AlertsCheck, SilenceRecord } from '../analysis/alerts/types.js';
import type { SloCheck } from '../analysis/slo/types.js';
import type { Measurement } from '../analysis/types.js';
import { e } from '../spec/explain.js';

/** `apiVersion` of every state file. */
export const STATE_API_VERSION = 'fleetgate/v1alpha1';
/** `kind` of every state file. */
export const STATE_KIND = 'RolloutState';

/**
 * Phases of a rollout (Argo's words where they fit): `Pending` (nothing has run yet for this
 * spec), `Progressing` (waves are being applied), `Paused` (stopped for a decision: breaker
 * trip, failed wave, gate, warning metric), `Healthy` (every wave done and observed: the fleet
 * runs `toVersion`), `Degraded` (stopped with targets in a mixed or failed condition: abort,
 * failed rollback), `RollingBack` (touched targets are being returned to the previous
 * version), `RolledBack` (they were).
 */
const ROLLOUT_PHASES = [
  'Pending',
  'Progressing',
  'Paused',
  'Healthy',
  'Degraded',
  'RollingBack',
  'RolledBack',
] as const;
/** Phases of a wave: `Observing` is its observation window. */
const WAVE_PHASES = ['Pending', 'Progressing', 'Observing', 'Completed', 'Failed', 'RolledBack'] as const;
/** Phases of a target; with `Progressing`, its `step` says what it was doing when the run stopped. */
const TARGET_PHASES = ['Pending', 'Progressing', 'Succeeded', 'Failed', 'RolledBack', 'RollbackFailed'] as const;
const HOOK_PHASES = ['Running', 'Succeeded', 'Failed'] as const;
const DECISIONS = ['continue', 'rollback', 'abort'] as const;
const VERDICTS = ['pass', 'fail', 'inconclusive'] as const;

const text = z.string(e('must be a string'));
const wholeNumber = z
  .number(e('must be a whole number', 'a whole number ≥ 0'))
  .int(e('must be a whole number', 'a whole number ≥ 0'))
  .nonnegative(e('must be a whole number', 'a whole number ≥ 0'))
  .max(Number.MAX_SAFE_INTEGER, e('must be a whole number', 'a whole number ≥ 0'));
const flag = z.boolean(e('must be true or false'));
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, e(`must be one of ${values.join(', ')}`));
const listOf = <T extends z.ZodType>(item: T) => z.array(item, e('must be a list'));
const mapOf = <T extends z.ZodType>(item: T) => z.record(z.string(), item, e('must be a mapping'));
/** A record another layer defines, stored as it is: checked for being a mapping, typed as `T`. */
const stored = <T extends object>() => z.custom<T>(isRecord, e('must be a mapping'));

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The shape `fields(required, optional)` checks: `optional`'s fields may be absent. */
type FieldsShape<R extends z.core.$ZodLooseShape, O extends z.core.$ZodLooseShape> = R & {
  [K in keyof O]: z.ZodOptional<O[K] & z.ZodType>;
};

/**
 * A mapping with these fields; any other is kept when read (a newer writer's). An optional
 * field (or a required one with a `.default`, which the reader fills) written as `null` is
 * removed from the value read, in place, so the state never holds it. The output TYPE is the
 * exact object (no index signature): the engine writes only what the schema names, and a
 * misspelt field is a compile error.
 */
function fields<R extends z.core.$ZodLooseShape, O extends z.core.$ZodLooseShape>(
  required: R,
  optional: O,
): z.ZodType<z.output<z.ZodObject<FieldsShape<R, O>, z.core.$strip>>, unknown> {
  const optionalKeys = [
    ...Object.keys(optional),
    ...Object.entries(required)
      .filter(([, s]) => s instanceof z.ZodDefault)
      .map(([k]) => k),
  ];
  const shape = {
    ...required,
    ...Object.fromEntries(Object.entries(optional).map(([k, s]) => [k, (s as z.ZodType).optional()])),
  } as FieldsShape<R, O>;
  // The loose object's output (the fields and `[k: string]: unknown`) is assignable to the
  // exact one: the declared return type is what keeps the index signature out of the types.
  return z.preprocess(
    (value) => {
      if (isRecord(value)) for (const key of optionalKeys) if (value[key] === null) delete value[key];
      return value;
    },
    z.looseObject(shape, e('must be a mapping')),
  );
}

const RolloutPhaseSchema = oneOf(ROLLOUT_PHASES);
const WavePhaseSchema = oneOf(WAVE_PHASES);
const TargetPhaseSchema = oneOf(TARGET_PHASES);
const DecisionSchema = oneOf(DECISIONS);
const VerdictSchema = oneOf(VERDICTS);

/** Phase of the rollout (see `ROLLOUT_PHASES` above for each one's meaning). */
export type RolloutPhase = z.output<typeof RolloutPhaseSchema>;
/**
 * Per-target result. `step` is the last step started; with phase `Progressing` it says what the
 * target was doing when the run stopped.
 */
export type TargetPhase = z.output<typeof TargetPhaseSchema>;
/** A decision taken at a pause (`fleetgate resume --decision`), or by Fleetgate itself (`rollback`). */
export type Decision = z.output<typeof DecisionSchema>;

const StepTimingSchema = fields(
  {
    /** Targets that ran the step. */
    count: wholeNumber,
    /** Median duration (ms; the mean of the two middle samples for an even count). */
    medianMs: wholeNumber,
    /** Longest duration (ms). */
    maxMs: wholeNumber,
  },
  {},
);
/** How long one step took over a wave's targets (ms): bounded, a median and a maximum. */
export type StepTiming = z.output<typeof StepTimingSchema>;

const HookRecordSchema = fields(
  {
    /** `Running` is written before the hook starts; a hook not `Succeeded` runs (again) on the next run. */
    phase: oneOf(HOOK_PHASES),
  },
  {
    startedAt: text,
    finishedAt: text,
    /** Why it failed, when it did. */
    message: text,
  },
);
/** Outcome of a rollout hook (`before`, `after`): its start is written before it runs, so a crash re-runs it. */
export type HookRecord = z.output<typeof HookRecordSchema>;

const StateLeaseSchema = fields(
  {
    /** Who holds it, for people: `github:alice run 123 attempt 1 job canary`. */
    holder: text,
    /**
     * What a later run compares to tell a re-run of the same job (may take the lease over)
     * from another run: `github:<owner>/<repo>:<run id>:<job>`, or `local:<host>:<pid>`.
     */
    key: text,
    acquiredAt: text,
    /** Past this time the lease no longer holds anyone off (renewed every third of its length). */
    expiresAt: text,
  },
  {
    /** Host of the holder, when it runs outside Actions (with `pid`: a dead process frees it at once). */
    host: text,
    /** Process id of the holder, when it runs outside Actions. */
    pid: wholeNumber,
  },
);
/** A run's claim on the rollout (times ISO, UTC). */
export type StateLease = z.output<typeof StateLeaseSchema>;

const DecisionRecordSchema = fields(
  {
    at: text,
    decision: DecisionSchema,
    /** Who decided: the user who ran the command, or `fleetgate` for a rollback it decided itself. */
    by: text,
  },
  {
    reason: text,
    /** Wave the decision was taken at (a `continue` accepts that wave's failures). */
    wave: text,
  },
);
/** A decision taken at a pause: which, who, when, why, at which wave. */
export type DecisionRecord = z.output<typeof DecisionRecordSchema>;

const ApprovalSchema = fields(
  {
    at: text,
    /** The gate approved (the spec's `gates.canary` or `gates.promote`). */
    gate: text,
    /** Who approved it. */
    by: text,
  },
  {},
);
/** An approved gate: which, who, when. */
export type Approval = z.output<typeof ApprovalSchema>;

const ConditionSchema = fields(
  {
    /** Reason code from `src/engine/reasons.ts` (tests assert on these). */
    reason: text,
    /** What happened, with the numbers and the targets. */
    message: text,
    at: text,
  },
  {
    /** `OutsideDeployWindow`, `DeployFreeze`: when waves may start again (ISO-8601). */
    opensAt: text,
    /** A pause for failed targets (`WaveFailureToleranceExceeded`, …): which ones. */
    failedTargets: listOf(text),
    /** `GatePending`: the gate waited on (a `resume --decision continue` approves it). */
    gate: text,
  },
);
/** Why the rollout is in its phase. */
export type Condition = z.output<typeof ConditionSchema>;

/** One trip of the circuit breaker. */
const BreakerTripSchema = fields(
  {
    at: text,
    wave: text,
    /** The consecutive failed targets that tripped it. */
    failedTargets: listOf(text),
    reason: text,
  },
  {},
);

const TargetStateSchema = fields(
  { phase: TargetPhaseSchema },
  {
    /**
     * Last step started: `version`, `transferLeadership`, `drain`, `upgrade`, `verify`, `undrain`,
     * `caughtUp`, `observe`, `rollback`.
     */
    step: text,
    /** Version the target reported when first probed in this rollout. */
    from: text,
    /**
     * Version it reported last (read again after every failed step: what it runs now).
     * Absent after a failed read: see `versionUnknown`.
     */
    version: text,
    /** Version it is being moved to by a rollback (written before it is touched, so a crash resumes to the same version). */
    to: text,
    /** Why the last read of its version failed (`unknown: connection refused`), when it did. */
    versionUnknown: text,
    /** True when the target already ran the desired version and was not upgraded again. */
    skipped: flag,
    /** Times its steps were started in this rollout. */
    attempts: wholeNumber,
    startedAt: text,
    finishedAt: text,
    /** What happened to it last, for people (a failure's cause). */
    message: text,
    /**
     * Where the target was reached, as the inventory said when this rollout last loaded it:
     * a rollback rebuilds its targets from this and `labels` when discovery fails.
     */
    address: text,
    /** Its labels, as the inventory said when this rollout last loaded it. */
    labels: mapOf(text),
    /** Reason code of the last failure, when it has one (`NotCaughtUp`). */
    reason: text,
    /**
     * Configuration revision (spec `config`, docs/config-rollouts.md) it reported last.
     */
    config: text,
    /** Configuration revision it reported when first probed in this rollout (what a rollback restores). */
    configFrom: text,
    /** Configuration revision a rollback is moving it to (written before it is touched, like `to`). */
    configTo: text,
    /**
     * A replacement under way or done in this slot (`strategy.type: replace`; src/engine/replace.ts):
     * `mode` `surge` (the new target came before the old one left) or `drainFirst` (the old one left
     * first, within maxUnavailable) or `pool` (a blue-green tier's new pool: the old target serves until
     * the switch), `old` the target being replaced, `new` the one provisioned for it
     * (written as soon as the provision step answered, so a crash never loses a provisioned target).
     */
    replace: fields({ mode: oneOf(['surge', 'drainFirst', 'pool']), old: text }, { new: text }),
    /** This target was replaced by that one (`strategy.type: replace` or `blueGreen`). */
    replacedBy: text,
    /** This target was retired (its retire step passed and it no longer answers): it is gone. */
    retired: flag,
    /** This target was provisioned by a rollout to take that target's place. */
    replaces: text,
  },
);
/** One target's progress in this rollout (`targets.<id>`: one line in the state file). */
export type TargetState = z.output<typeof TargetStateSchema>;

const WaveAnalysisSchema = fields(
  {
    verdict: VerdictSchema,
    /** One line saying what decided it. */
    message: text,
    /** Every measurement: metric, query, cohort, window, value, baseline, threshold, evidence, message. */
    measurements: listOf(stored<Measurement>()),
  },
  {},
);

const WaveStateSchema = fields(
  {
    id: text,
    phase: WavePhaseSchema,
    /** Target ids of the wave: the members it actually ran (set again when it runs). */
    targets: listOf(text),
  },
  {
    startedAt: text,
    finishedAt: text,
    /** End of the observation window (ISO time) once the wave's steps are done: the most it lasts (the tier's `observe`). */
    observeUntil: text,
    /**
     * Where the analysed window really ended (ISO time): before `observeUntil` when every metric was
     * decided early, after it when `noData: wait` held it. The next wave's `before` window ends here.
     */
    observedUntil: text,
    /** When the analysis reached its verdict (ISO time; for a window evaluated after it elapsed, when it was evaluated). */
    decidedAt: text,
    /** Times a run opened the window again because the provider had lost it (`scrape` after an interrupted or deferred run). */
    reopened: wholeNumber,
    /** Targets of the wave that succeeded. */
    succeeded: wholeNumber,
    /** Targets of the wave that failed. */
    failed: wholeNumber,
    message: text,
    /** Metric analysis of the observation window: its verdict and every measurement. */
    analysis: WaveAnalysisSchema,
    /** The alert gate's checks (spec `alerts`): before the wave started and at the end of its window, with the alerts that fired. */
    alerts: fields(
      {},
      {
        before: stored<AlertsCheck>(),
        after: stored<AlertsCheck>(),
        /** Alerts an operator's `continue` accepted after a check showed them (`fingerprint@startsAt`): not counted again. */
        accepted: listOf(text),
      },
    ),
    /** The error-budget gate's checks (spec `slo`): before the wave started and at the end of its window. */
    slo: fields({}, { before: stored<SloCheck>(), after: stored<SloCheck>() }),
    /**
     * How long each step took on this wave's targets (ms): `target` (probe to undrain, from the
     * targets' own times), `drain`, `upgrade`, `verify`, `undrain`, `caughtUp`; a median and a
     * maximum, never every sample (see `src/state/history.ts`).
     */
    steps: mapOf(StepTimingSchema),
    /** Reason codes of the pauses this wave stopped at (`CircuitBreakerTripped`, `GatePending`, …), each once. */
    paused: listOf(text),
    /**
     * Legs this wave was opened for (`run --open-shards N`): each `run --shard i/N` moves only its
     * slice of the targets; the next unsharded run takes the wave's verdict (see `src/engine/shard.ts`).
     */
    shards: wholeNumber,
  },
);
/** One wave of the rollout in progress. */
export type WaveState = z.output<typeof WaveStateSchema>;

const WaveHistorySchema = fields(
  {
    id: text,
    /** Targets in the wave. */
    size: wholeNumber,
    phase: WavePhaseSchema,
  },
  {
    /** Wall time of the wave (ms): its start to its end, steps and observation window (and any pause in between). */
    durationMs: wholeNumber,
    /** Targets of the wave that failed. */
    failed: wholeNumber,
    /** Reason codes of the pauses the wave stopped at (see `WaveState.paused`). */
    paused: listOf(text),
    /** The last decision taken at this wave (`continue`, `rollback`, `abort`). */
    decision: DecisionSchema,
    /** The verdict of the wave's metric analysis, when it had one. */
    verdict: VerdictSchema,
    /** Per-step timings (see `WaveState.steps`). */
    steps: mapOf(StepTimingSchema),
  },
);
/**
 * One wave of a past rollout, as its history entry keeps it (one line in the state file; absent
 * in state written before issue 13): what `plan` estimates from and what its wave-size suggestion counts.
 */
export type WaveHistory = z.output<typeof WaveHistorySchema>;

const HistoryEntrySchema = fields(
  { to: text, phase: RolloutPhaseSchema },
  {
    from: text,
    /** The version this rollout rolled back (never a target of `rollback --to`). */
    rolledBack: text,
    startedAt: text,
    finishedAt: text,
    /** The reason code it ended with. */
    reason: text,
    /**
     * Who approved which gate, in that rollout (the audit row "who approved, when" outlives the
     * next rollout, which empties `approvals` and `decisions`). At most `AUDIT_LIMIT`, the newest.
     */
    approvals: listOf(ApprovalSchema),
    /** Who decided what, in that rollout. At most `AUDIT_LIMIT`, the newest. */
    decisions: listOf(DecisionRecordSchema),
    /** Configuration revision before (spec `config`; absent for a rollout without one). */
    fromConfig: text,
    /** Configuration revision after (spec `config`; absent for a rollout without one). */
    toConfig: text,
    /** True for a `fleetgate rollback` run: the entry is that rollback, not a rollout of a new version. */
    rollback: flag,
    /** The rollout's waves with their durations and step timings, at most `WAVE_HISTORY_LIMIT`. */
    waves: listOf(WaveHistorySchema),
    /** Waves the rollout had, when more than were kept in `waves` (or when an older entry's were dropped). */
    waveCount: wholeNumber,
  },
);
/** A past rollout (`history[]`, newest first). */
export type HistoryEntry = z.output<typeof HistoryEntrySchema>;

const ShardLegSchema = fields(
  {
    wave: text,
    /** 1-based index of the leg. */
    shard: wholeNumber,
    /** Number of legs of the wave. */
    of: wholeNumber,
    holder: text,
    startedAt: text,
    /** Most members of the tier this leg had out at once (its share of the budget). */
    budget: wholeNumber,
    /** Targets of the leg's slice. */
    targets: wholeNumber,
  },
  {
    /** The leg's own lease (key: the run's key and `#<i>/<N>`); absent once the leg ended. */
    lease: StateLeaseSchema,
    finishedAt: text,
    succeeded: wholeNumber,
    failed: wholeNumber,
    /** The leg's circuit breaker tripped (on its own consecutive failures): the verdict pauses. */
    breakerTripped: fields({ reason: text, failedTargets: listOf(text), at: text }, {}),
    /** A take-down the leg's share of the budget refused (names the members out): the verdict pauses. */
    budgetExhausted: text,
  },
);
/** One leg of a sharded wave: who ran it, its lease while it runs, and what its steps left (times ISO, UTC). */
export type ShardLeg = z.output<typeof ShardLegSchema>;

/**
 * An inventory entry that was replaced (`strategy.type: replace`): kept across rollouts, so an
 * inventory that still lists the old id (an inline list, a file) reaches the target now in its place.
 */
const ReplacementSchema = fields(
  {
    /** Id of the target in its place now (chains are collapsed: always the newest). */
    by: text,
    address: text,
    at: text,
  },
  { labels: mapOf(text) },
);

const PoolRecordSchema = fields(
  {
    /** Version of the new pool. */
    version: text,
    /** Targets of the old pool (serving until the switch; kept until `keepUntil`). */
    old: listOf(text),
    /** Targets of the new pool (provisioned and observed before the switch). */
    new: listOf(text),
  },
  {
    /** When the `switch` step moved traffic to the new pool. */
    switchedAt: text,
    /** Until when the old pool is kept (a rollback until then switches back). */
    keepUntil: text,
    /** When the old pool was retired (after that a rollback cannot switch back). */
    retiredAt: text,
    /** When a rollback switched traffic back to the old pool. */
    switchedBackAt: text,
  },
);
/** A blue-green tier's two pools (slot ids and the targets in them; times ISO, UTC). */
export type PoolRecord = z.output<typeof PoolRecordSchema>;

const StoredConfigSchema = fields(
  { content: text, format: oneOf(['json', 'yaml', 'text']) },
  {
    /** `file:<path>` or `values` (for people). */
    source: text,
  },
);

/** The state file: what `parseState` checks before the engine reads it. */
export const StateSchema = fields(
  {
    apiVersion: z.literal(STATE_API_VERSION, e(`must be ${STATE_API_VERSION}`)),
    kind: z.literal(STATE_KIND, e(`must be ${STATE_KIND}`)),
    name: text,
    /** Increases by one on every write; a write compares it with what the writer read (compare-and-swap). */
    revision: wholeNumber,
    phase: RolloutPhaseSchema,
    // The lists and maps below are always written; a file without one reads as empty.
    /** Waves of the rollout in progress (empty before it plans). */
    waves: listOf(WaveStateSchema).default([]),
    /** Every target of the rollout, by id. */
    targets: mapOf(TargetStateSchema).default({}),
    /** The running count of consecutive target failures, and every trip. */
    breaker: fields({ consecutiveFailures: wholeNumber, trips: listOf(BreakerTripSchema).default([]) }, {}).default({
      consecutiveFailures: 0,
      trips: [],
    }),
    /** Decisions taken in the rollout in progress. */
    decisions: listOf(DecisionRecordSchema).default([]),
    /** Gates approved in the rollout in progress. */
    approvals: listOf(ApprovalSchema).default([]),
    /** Past rollouts, newest first, bounded (see `HISTORY_LIMIT`). */
    history: listOf(HistoryEntrySchema).default([]),
  },
  {
    /** Why the rollout is in this phase (set for Paused, Degraded, RolledBack, …). */
    condition: ConditionSchema,
    /** Version the fleet ran before this rollout. */
    fromVersion: text,
    /** Version this rollout moves to (a rollback's `toVersion` is the version it restores). */
    toVersion: text,
    /** True when this rollout was started as a rollback (`fleetgate rollback`). */
    isRollback: flag,
    /** Version that was rolled back; `fleetgate run` refuses to roll it out again unless told to. */
    rolledBackFrom: text,
    /** Last version a rollout completed as Healthy on. */
    lastKnownGood: text,
    /**
     * Configuration revision (spec `config`, docs/config-rollouts.md) most targets ran before: the
     * desired state is (version, configuration revision).
     */
    fromConfig: text,
    /** Configuration revision this rollout moves to (a rollback's: what it restores). */
    toConfig: text,
    /** Configuration revision beside `lastKnownGood`. */
    lastKnownGoodConfig: text,
    /** Configuration revision beside `rolledBackFrom`. */
    rolledBackFromConfig: text,
    /**
     * The content of the configuration revisions a rollback may restore, by revision: the one
     * rolled out, the one before, the last known good one and those of recent history (bounded).
     */
    configs: mapOf(StoredConfigSchema),
    startedAt: text,
    updatedAt: text,
    /** Where the rollout stands: id of the wave in progress or next. */
    currentWave: text,
    /** Hooks of the rollout in progress and how they ended (a `Running` one is re-run by the next run). */
    hooks: fields(
      {},
      {
        before: HookRecordSchema,
        after: HookRecordSchema,
        /** Hooks of tiers that have their own, by tier name. */
        tiers: mapOf(fields({}, { before: HookRecordSchema, after: HookRecordSchema })),
      },
    ),
    /** Targets left out of this rollout explicitly (spec `exclude`, `--exclude`): never touched. */
    excluded: listOf(text),
    /**
     * Silences Fleetgate created in Alertmanager for targets being drained and upgraded and has
     * not expired yet (spec `alerts.silence`); the next run expires any a stopped run left.
     */
    silences: listOf(stored<SilenceRecord>()),
    /**
     * The run that may touch this rollout's targets now, on backends shared by several
     * machines (GitHub): taken with a compare-and-swap commit before any target is touched,
     * renewed while the run lives, removed when it ends (see `src/engine/lease.ts`).
     */
    lease: StateLeaseSchema,
    /**
     * The legs of a sharded wave (`run --shard i/N`), by `<wave>#<i>/<N>`: each leg writes only its
     * own entry and its own targets, so the commits of concurrent legs merge (`state-merge.ts`).
     * The verdict removes a wave's entries once it has read them.
     */
    shardLegs: mapOf(ShardLegSchema),
    /**
     * Inventory ids replaced by a `replace` or `blueGreen` tier → the target in their place now
     * (see `src/plan/replace.ts`: an inventory that still lists the old id reaches the new target).
     */
    replacements: mapOf(ReplacementSchema),
    /** Blue-green tiers of this rollout, by tier name: the pools and the traffic switch (src/engine/blue-green.ts). */
    pools: mapOf(PoolRecordSchema),
  },
);
/** The state file (`rollouts/<name>.state.yaml`): observed progress, written only by Fleetgate. */
export type RolloutState = z.output<typeof StateSchema>;
