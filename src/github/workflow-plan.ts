/**
 * What the rollout workflow's jobs should do in this run, from the plan and the
 * state (pure). The plan job writes these as outputs; the other jobs read them:
 * whether the canary job runs and which environment gates it, whether the
 * promotion gate is still to pass, which waves the matrix holds, and whether
 * observation windows are short enough to wait out on a runner.
 */
import type { RolloutPlan } from '../plan/types.js';
import type { RolloutSpec } from '../spec/types.js';
import type { RolloutState } from '../state/types.js';

/** Windows shorter than this (5 minutes) may be waited out on a runner; longer ones never. */
export const SHORT_WINDOW_MS = 5 * 60_000;

/** GitHub allows 256 jobs per matrix; leave room for the workflow's other jobs. */
export const MAX_MATRIX_WAVES = 250;

/**
 * One matrix entry: the wave it runs, whether it first waits on the observation environment, and
 * the runner labels of the wave's tier (`tiers[].runsOn`; absent = the workflow's `runs-on`). The
 * key is `runs-on` so that the job reads `runs-on: ${{ matrix.runs-on || inputs.runs-on }}`.
 */
export interface MatrixWave {
  wave: string;
  wait: boolean;
  'runs-on'?: string[];
}

/**
 * A big wave this run splits across runners (its tier's `strategy.shards`, see `src/engine/shard.ts`):
 * one job opens it (`open-shards`), one matrix job per leg moves its slice (`shard: i/N`), and one
 * job takes its verdict. It ends the run's waves: the matrix holds the waves before it.
 */
export interface ShardedWave {
  wave: string;
  shards: number;
  /** True when the opening job first waits on the observation environment (the previous window is long). */
  wait: boolean;
  /** The legs' matrix: `{shard: 'i/N'}`, with the tier's runner labels when it sets `runsOn`. */
  legs: { shard: string; 'runs-on'?: string[] }[];
  'runs-on'?: string[];
}

export interface WorkflowRunPlan {
  rollout: string;
  version: string;
  phase: string;
  /** False when nothing is to be done (already there, paused for a decision, rolled-back version). */
  hasWork: boolean;
  /** Why there is no work (for the summary). */
  idleReason?: string;
  /** The first wave when it is still to run (the canary job), else `''`. */
  canaryWave: string;
  /** Environment gating the canary job (`''`: none, or already approved in this rollout). */
  canaryEnvironment: string;
  /** Environment of the promotion gate when it is still to pass, else `''`. */
  promoteEnvironment: string;
  /** Runner labels of the canary wave's tier (the canary job), when the tier sets `runsOn`. */
  canaryRunsOn?: string[];
  /**
   * Runner labels for the analysis job after the canary: the tier of the wave whose window it
   * evaluates (the canary's, or in a continuation run the one an earlier run left observing);
   * a failed analysis rolls back that wave's targets from this job.
   */
  analyzeRunsOn?: string[];
  /** Runner labels of the tier of the wave the promote job runs (the first promoted wave). */
  promoteRunsOn?: string[];
  /** Runner labels for the finalize job: the tier of the last wave this run touches. */
  finalizeRunsOn?: string[];
  /** Environment whose wait timer holds observation windows (`''`: none). */
  observeEnvironment: string;
  /**
   * True when the analysis job after the canary must wait on `observeEnvironment`: the
   * canary's window (or, in a continuation run, the window left open by the last run) is long.
   */
  canaryWait: boolean;
  /**
   * The waves still to run that this run's matrix holds (in order): those after the canary,
   * and after the wave the promote job runs when the promotion gate is still to pass.
   */
  waves: MatrixWave[];
  /** True when more waves remain than this run holds: the workflow continues in a new run. */
  moreWaves: boolean;
  /** The big wave after the matrix's waves, split across runners (absent: none in this run). */
  sharded?: ShardedWave;
  /** True when every observation window is under 5 minutes (waited out on a runner). */
  shortWindows: boolean;
  /** Longest observation window (seconds). */
  maxObserveSeconds: number;
  lastKnownGood?: string;
}

function inFlight(state: RolloutState | undefined): boolean {
  return state?.phase === 'Progressing' || state?.phase === 'Paused' || state?.phase === 'RollingBack';
}

/**
 * Decides this run's jobs.
 * @param opts.maxWavesPerRun - matrix size cap (≤ {@link MAX_MATRIX_WAVES})
 * @param opts.observeEnvironment - environment with a wait timer for observation windows, or `''`
 */
export function planWorkflowRun(
  spec: RolloutSpec,
  plan: RolloutPlan,
  state: RolloutState | undefined,
  opts: { maxWavesPerRun?: number; observeEnvironment?: string } = {},
): WorkflowRunPlan {
  const cap = Math.max(1, Math.min(opts.maxWavesPerRun ?? 50, MAX_MATRIX_WAVES));
  const observeEnvironment = opts.observeEnvironment ?? '';
  const maxObserveMs = Math.max(0, ...plan.waves.map((w) => w.observeMs));
  const shortWindows = maxObserveMs < SHORT_WINDOW_MS;
  const desired = spec.version;
  const base = {
    rollout: spec.name,
    version: desired,
    phase: state?.phase ?? 'Pending',
    observeEnvironment,
    shortWindows,
    maxObserveSeconds: Math.ceil(maxObserveMs / 1000),
    lastKnownGood: state?.lastKnownGood,
  };
  const idle = (idleReason: string): WorkflowRunPlan => ({
    ...base,
    hasWork: false,
    idleReason,
    canaryWave: '',
    canaryEnvironment: '',
    promoteEnvironment: '',
    canaryWait: false,
    waves: [],
    moreWaves: false,
  });

  const current = inFlight(state) && (state?.toVersion === desired || state?.phase === 'RollingBack');
  if (state?.phase === 'Paused' && state.condition?.reason !== 'GatePending') {
    return idle(`paused: ${state.condition?.message ?? 'waiting for a decision'} — dispatch the decide workflow`);
  }
  if (inFlight(state) && !current) {
    return idle(
      `a rollout to ${state?.toVersion} is still ${state?.phase}: finish it or decide (abort/rollback) first`,
    );
  }
  if (
    !current &&
    state?.toVersion === desired &&
    (state.phase === 'Healthy' || (state.phase === 'RolledBack' && state.isRollback))
  ) {
    return idle(`already ${state.phase} at ${desired}`);
  }
  if (!current && state?.rolledBackFrom === desired) {
    return idle(`${desired} was rolled back; change the version to roll out again`);
  }
  if (plan.waves.length === 0) return idle('the plan has no waves (no tier selects any target)');
  if (state?.phase === 'RollingBack') {
    return { ...idle(''), hasWork: true, idleReason: undefined, canaryWave: plan.waves[0]!.id };
  }

  const done = new Set(current ? (state?.waves ?? []).filter((w) => w.phase === 'Completed').map((w) => w.id) : []);
  const approved = new Set(current ? (state?.approvals ?? []).map((a) => a.gate) : []);
  const first = plan.waves[0]!;
  const canaryWave = done.has(first.id) ? '' : first.id;
  const canaryEnvironment =
    canaryWave && spec.gates.canary && !approved.has(spec.gates.canary) ? spec.gates.canary : '';
  const hasCanary = plan.waves.some((w) => w.kind === 'canary');
  const firstPromoted = plan.waves.find((w) => w.index > 0 && w.kind !== 'canary');
  const promoteEnvironment =
    spec.gates.promote && hasCanary && firstPromoted && !done.has(firstPromoted.id) && !approved.has(spec.gates.promote)
      ? spec.gates.promote
      : '';
  const remaining = plan.waves.slice(1).filter((w) => !done.has(w.id));
  // A wave left in its observation window by an earlier run: the first analysis job evaluates it.
  const observingId = current && !canaryWave ? state?.waves.find((w) => w.phase === 'Observing')?.id : undefined;
  const observing = plan.waves.find((w) => w.id === observingId);
  // Without a wait-timer environment, long windows cannot be waited for in this run: one wave per run.
  const perRun = shortWindows || observeEnvironment ? cap : 1;
  const budget = canaryWave && !shortWindows && !observeEnvironment ? 0 : perRun;
  // The promote job runs the first promoted wave itself (one of this run's waves when only one
  // fits), and an observing wave has run already: the matrix holds the waves after them, so each
  // entry is the wave it runs (its name, its tier's runners).
  const promoted = promoteEnvironment ? firstPromoted : undefined;
  const pool = remaining.filter((w) => w.id !== observingId && w.id !== promoted?.id);
  const promotedRuns = promoted !== undefined && budget > 0;
  const held = pool.slice(0, promotedRuns && perRun === 1 ? 0 : budget);
  // Big waves across runners: the first wave of a sharded tier ends the matrix; its legs and its
  // verdict follow the matrix, and the run ends after it (a new run goes on).
  const big = held.findIndex((w) => ((spec.tiers ?? []).find((t) => t.name === w.tier)?.strategy.shards ?? 1) > 1);
  const inMatrix = big < 0 ? held : held.slice(0, big);
  const shardedWave = big < 0 ? undefined : held[big];
  const runsOn = tierRunners(spec);
  const waves = inMatrix.map((w, i) => {
    const previous = plan.waves[w.index - 1];
    // The first entry's previous window was analysed by analyze-canary, unless the promote job ran a wave since.
    const analysedBefore = i === 0 && !promoted;
    const wait = !analysedBefore && observeEnvironment !== '' && (previous?.observeMs ?? 0) >= SHORT_WINDOW_MS;
    const labels = runsOn.get(w.tier);
    return labels ? { wave: w.id, wait, 'runs-on': labels } : { wave: w.id, wait };
  });
  const analysed = observing ?? (canaryWave ? first : undefined);
  const lastTouched = shardedWave ?? inMatrix.at(-1) ?? (promotedRuns ? promoted : analysed);
  return {
    ...base,
    hasWork: true,
    canaryWave,
    canaryEnvironment,
    promoteEnvironment,
    ...labelsOf('canaryRunsOn', canaryWave ? runsOn.get(first.tier) : undefined),
    ...labelsOf('analyzeRunsOn', analysed ? runsOn.get(analysed.tier) : undefined),
    ...labelsOf('promoteRunsOn', promoted ? runsOn.get(promoted.tier) : undefined),
    ...labelsOf('finalizeRunsOn', lastTouched ? runsOn.get(lastTouched.tier) : undefined),
    canaryWait: observeEnvironment !== '' && (observing?.observeMs ?? first.observeMs) >= SHORT_WINDOW_MS,
    waves,
    moreWaves:
      pool.length > held.slice(0, big < 0 ? undefined : big + 1).length || (promoted !== undefined && !promotedRuns),
    ...(shardedWave && {
      sharded: planShardedWave(spec, plan, shardedWave, big === 0 && !promoted, observeEnvironment),
    }),
  };
}

/** The jobs of a big wave (see {@link ShardedWave}); `analysedBefore`: its previous window was analysed by analyze-canary. */
function planShardedWave(
  spec: RolloutSpec,
  plan: RolloutPlan,
  wave: RolloutPlan['waves'][number],
  analysedBefore: boolean,
  observeEnvironment: string,
): ShardedWave {
  const shards = spec.tiers.find((t) => t.name === wave.tier)!.strategy.shards!;
  const labels = tierRunners(spec).get(wave.tier);
  const previous = plan.waves[wave.index - 1];
  return {
    wave: wave.id,
    shards,
    wait: !analysedBefore && observeEnvironment !== '' && (previous?.observeMs ?? 0) >= SHORT_WINDOW_MS,
    legs: Array.from({ length: shards }, (_, i) => ({
      shard: `${i + 1}/${shards}`,
      ...(labels && { 'runs-on': labels }),
    })),
    ...(labels && { 'runs-on': labels }),
  };
}

/** Each tier's runner labels (`tiers[].runsOn`), by tier name; tiers without any are absent. */
function tierRunners(spec: RolloutSpec): Map<string, string[]> {
  return new Map((spec.tiers ?? []).flatMap((t) => (t.runsOn?.length ? [[t.name, t.runsOn] as const] : [])));
}

function labelsOf<K extends string>(key: K, labels: string[] | undefined): Partial<Record<K, string[]>> {
  return (labels ? { [key]: labels } : {}) as Partial<Record<K, string[]>>;
}
