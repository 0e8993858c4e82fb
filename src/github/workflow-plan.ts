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

/** One matrix entry: the wave it is labelled with, and whether it first waits on the observation environment. */
export interface MatrixWave {
  wave: string;
  wait: boolean;
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
  /** Environment whose wait timer holds observation windows (`''`: none). */
  observeEnvironment: string;
  /**
   * True when the analysis job after the canary must wait on `observeEnvironment`: the
   * canary's window (or, in a continuation run, the window left open by the last run) is long.
   */
  canaryWait: boolean;
  /** The waves after the first, still to run, that this run's matrix holds (in order). */
  waves: MatrixWave[];
  /** True when more waves remain than this run holds: the workflow continues in a new run. */
  moreWaves: boolean;
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
  const chosen = remaining.slice(0, canaryWave && !shortWindows && !observeEnvironment ? 0 : perRun);
  const waves = chosen.map((w, i) => {
    const previous = plan.waves[w.index - 1];
    const wait = i > 0 && observeEnvironment !== '' && (previous?.observeMs ?? 0) >= SHORT_WINDOW_MS;
    return { wave: w.id, wait };
  });
  return {
    ...base,
    hasWork: true,
    canaryWave,
    canaryEnvironment,
    promoteEnvironment,
    canaryWait: observeEnvironment !== '' && (observing?.observeMs ?? first.observeMs) >= SHORT_WINDOW_MS,
    waves,
    moreWaves: remaining.length > waves.length,
  };
}
