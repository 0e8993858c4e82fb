/**
 * Learning from history (issue 13, part 5; the "extract a learning" step of seed 001's rolling
 * upgrade, docs/sources.md; docs/history.md): the plan's duration estimated from the spec's own past rollouts,
 * and a wave size suggested from where they failed. Pure: the history is passed in as data (the
 * state's `history`, newest first); nothing here reads a file or a clock, and nothing is applied
 * to the plan unless the caller does (`applyHistoryEstimate`). The suggestion never is.
 */
import { median } from '../util/median.js';
import { abbreviateIds, formatDurationMs } from './describe.js';
import type { RolloutPlan } from './types.js';

/** One wave of a past rollout as the planner reads it (the state's `history[].waves[]`). */
export interface PastWave {
  id: string;
  /** Targets in the wave. */
  size: number;
  phase: string;
  /** Wall time of the wave (ms). */
  durationMs?: number;
  failed?: number;
  /** Reason codes of the pauses it stopped at. */
  paused?: readonly string[];
  decision?: string;
}

/** A past rollout as the planner reads it (the state's `history[]`, newest first). */
export interface PastRollout {
  from?: string;
  to: string;
  phase: string;
  startedAt?: string;
  finishedAt?: string;
  /** A `fleetgate rollback` run, not a rollout of a new version. */
  rollback?: boolean;
  waves?: readonly PastWave[];
}

/** Past rollouts an estimate or a suggestion reads, newest first. */
const LEARN_FROM_ROLLOUTS = 5;

/** Rollouts of the last {@link LEARN_FROM_ROLLOUTS} that must have stopped in a tier's waves before a smaller size is suggested. */
const SUGGEST_AFTER_TROUBLES = 2;

/**
 * Pause reasons that say a wave hurt the fleet (reason codes of `src/engine/reasons.ts`): a
 * smaller wave would have hurt fewer targets. Gates, schedules, interruptions and hooks are
 * not about the wave's size and are not counted.
 */
export const FAILURE_PAUSE_REASONS: readonly string[] = [
  'CircuitBreakerTripped',
  'WaveFailureToleranceExceeded',
  'ObservationFailed',
  'AnalysisFailed',
  'AlertFiring',
  'ErrorBudgetBurn',
  'BudgetExhausted',
  'NotCaughtUp',
];

/** The past rollout an estimate was made from. */
interface EstimateSource {
  from?: string;
  to: string;
  startedAt?: string;
  /** Σ of its waves' wall times (ms): steps and observation windows, not the waits between waves. */
  durationMs: number;
}

/** The plan's duration from the spec's own past rollouts (see {@link estimateFromHistory}). */
export interface HistoryEstimate {
  /** Σ over the plan's waves of each one's estimate (ms). */
  estimatedDurationMs: number;
  /** The spec's own estimate of the same plan (ms), for comparison. */
  specDurationMs: number;
  /** The past rollouts it was made from, newest first. */
  rollouts: EstimateSource[];
  /** Per planned wave: its estimate (ms), and whether it is the median of past durations or the spec's. */
  waves: { id: string; estimatedMs: number; source: 'history' | 'spec'; samples: number }[];
}

/**
 * Whether a wave paused after it started, so its wall time holds the wait for a decision: any
 * pause but a gate's (asked before the wave starts, so outside its time).
 */
function pausedWithin(w: PastWave): boolean {
  return (w.paused ?? []).some((reason) => reason !== 'GatePending');
}

/** Completed rollouts of new versions with recorded wave durations, newest first, at most `limit`. */
function completedRollouts(history: readonly PastRollout[], limit: number): PastRollout[] {
  return history
    .filter(
      (h) => h.rollback !== true && h.phase === 'Healthy' && (h.waves ?? []).some((w) => w.durationMs !== undefined),
    )
    .slice(0, limit);
}

/**
 * Estimates the plan's duration from the spec's own past rollouts: each planned wave takes the
 * median wall time (ms) of the same wave (same id, same number of targets, completed, not paused
 * once started — its time would hold the wait for a decision) in the
 * last {@link LEARN_FROM_ROLLOUTS} rollouts that completed `Healthy` (rollbacks left out); a
 * wave none of them ran like this (new, or resized since) keeps the spec's estimate
 * (`PlannedWave.estimatedMs`: ceil(targets / maxUnavailable) × `expectedTargetDuration` +
 * `observe`). A wave's wall time includes its observation window, as it ran (an analysis that
 * decided early shortened it); the waits between waves (gates, pauses) are not counted.
 * @param plan - the plan as `planRollout` made it (its estimates the spec's).
 * @param history - the state's `history`, newest first.
 * @returns `undefined` when no past rollout ran any wave of this plan
 */
export function estimateFromHistory(
  plan: RolloutPlan,
  history: readonly PastRollout[],
  limit = LEARN_FROM_ROLLOUTS,
): HistoryEstimate | undefined {
  const rollouts = completedRollouts(history, limit);
  if (rollouts.length === 0) return undefined;
  let any = false;
  const waves = plan.waves.map((w) => {
    const spec = w.estimatedMs ?? w.observeMs;
    const samples: number[] = [];
    for (const h of rollouts) {
      const past = h.waves?.find((p) => p.id === w.id);
      if (
        past &&
        past.size === w.targets.length &&
        past.phase === 'Completed' &&
        past.durationMs !== undefined &&
        !pausedWithin(past)
      )
        samples.push(past.durationMs);
    }
    const m = median(samples);
    if (m === undefined) return { id: w.id, estimatedMs: spec, source: 'spec' as const, samples: 0 };
    any = true;
    return { id: w.id, estimatedMs: Math.round(m), source: 'history' as const, samples: samples.length };
  });
  if (!any) return undefined;
  return {
    estimatedDurationMs: waves.reduce((sum, w) => sum + w.estimatedMs, 0),
    specDurationMs: plan.estimatedDurationMs,
    rollouts: rollouts.map((h) => ({
      ...(h.from !== undefined && { from: h.from }),
      to: h.to,
      ...(h.startedAt !== undefined && { startedAt: h.startedAt }),
      durationMs: (h.waves ?? []).reduce((sum, w) => sum + (w.durationMs ?? 0), 0),
    })),
    waves,
  };
}

/**
 * The plan with each wave's estimate, and the total, taken from `estimate` (a new plan; the
 * schedule then places the waves by these estimates too).
 */
export function applyHistoryEstimate(plan: RolloutPlan, estimate: HistoryEstimate): RolloutPlan {
  const byId = new Map(estimate.waves.map((w) => [w.id, w.estimatedMs]));
  return {
    ...plan,
    waves: plan.waves.map((w) => ({ ...w, estimatedMs: byId.get(w.id) ?? w.estimatedMs })),
    estimatedDurationMs: estimate.estimatedDurationMs,
  };
}

/** A past rollout that stopped in one of a tier's waves. */
interface TroubledWave {
  to: string;
  startedAt?: string;
  wave: string;
  size: number;
  /** What happened there: a pause reason code, `3 failed`, or `rolled back`. */
  why: string;
}

/** A smaller wave size for a tier, suggested from where its recent rollouts failed (never applied). */
export interface WaveSizeSuggestion {
  tier: string;
  /** Index of the tier in the spec (`tiers[i].strategy.waves`). */
  tierIndex: number;
  /** The plan's wave size for the tier now. */
  current: number;
  suggested: number;
  /** Past rollouts read (at most {@link LEARN_FROM_ROLLOUTS}). */
  considered: number;
  /** Those that stopped in a wave of the tier, newest first. */
  troubled: TroubledWave[];
  /** The suggestion and its reason, for people. */
  message: string;
}

/** What went wrong in a past wave, when something did (see {@link FAILURE_PAUSE_REASONS}). */
function troubleOf(w: PastWave): string | undefined {
  const reason = w.paused?.find((r) => FAILURE_PAUSE_REASONS.includes(r));
  if (reason !== undefined) return reason;
  if ((w.failed ?? 0) > 0) return `${w.failed} failed`;
  if (w.decision === 'rollback') return 'rolled back';
  return undefined;
}

/** `2026-12-03` from an ISO time (the whole text when it is not one). */
function day(iso: string | undefined): string {
  return iso === undefined ? 'an unknown day' : (/^\d{4}-\d{2}-\d{2}/.exec(iso)?.[0] ?? iso);
}

/**
 * Suggests smaller waves for a tier whose recent rollouts kept stopping in its waves. The rule
 * (Fleetgate's own, after seed 001's learning: smaller waves for a smaller blast radius,
 * docs/sources.md): when at least {@link SUGGEST_AFTER_TROUBLES} of the last
 * {@link LEARN_FROM_ROLLOUTS} rollouts of new versions (rollbacks left out; any outcome)
 * stopped in a wave of the tier — a pause for a failure ({@link FAILURE_PAUSE_REASONS}), a
 * failed target, or a rollback decided there; canary and leader waves not counted, they are
 * meant to catch it — suggest half the smallest such wave (rounded up), when that is smaller
 * than the tier's wave size in `plan`. Quorum tiers, whose waves the quorum bounds, get none.
 * @returns the suggestions, one per tier at most (empty when history gives no reason)
 */
export function suggestWaveSizes(
  plan: RolloutPlan,
  history: readonly PastRollout[],
  limit = LEARN_FROM_ROLLOUTS,
): WaveSizeSuggestion[] {
  const recent = history.filter((h) => h.rollback !== true && h.waves !== undefined).slice(0, limit);
  const out: WaveSizeSuggestion[] = [];
  plan.tiers.forEach((tier, tierIndex) => {
    if (tier.quorum || tier.targets.length === 0) return;
    const prefix = `${tier.name}/`;
    const troubled: TroubledWave[] = [];
    for (const h of recent) {
      for (const w of h.waves ?? []) {
        if (!w.id.startsWith(prefix) || w.id.endsWith('/canary') || w.id.endsWith('/leader')) continue;
        const why = troubleOf(w);
        if (why === undefined) continue;
        troubled.push({
          to: h.to,
          ...(h.startedAt !== undefined && { startedAt: h.startedAt }),
          wave: w.id,
          size: w.size,
          why,
        });
        break;
      }
    }
    if (troubled.length < SUGGEST_AFTER_TROUBLES) return;
    const smallest = Math.min(...troubled.map((t) => t.size));
    const suggested = Math.max(1, Math.ceil(smallest / 2));
    if (suggested >= tier.waveSize) return;
    const where = troubled.map((t) => `${t.wave} of ${t.to} on ${day(t.startedAt)}: ${t.why}`).join('; ');
    out.push({
      tier: tier.name,
      tierIndex,
      current: tier.waveSize,
      suggested,
      considered: recent.length,
      troubled,
      message:
        `${troubled.length} of the last ${recent.length} rollouts stopped in a wave of tier ${tier.name} ` +
        `(${where}); the smallest had ${smallest} target${smallest === 1 ? '' : 's'} → suggest waves of ${suggested} ` +
        `(tiers[${tierIndex}].strategy.waves: ${suggested}); not applied: this plan keeps waves of ${tier.waveSize}`,
    });
  });
  return out;
}

/** `1.0.0 → 1.1.0 on 2026-12-03T13:40:01Z` (seconds, UTC), how a past rollout is named in the plan. */
function nameRollout(r: { from?: string; to: string; startedAt?: string }): string {
  const at = r.startedAt === undefined ? '' : ` on ${r.startedAt.replace(/\.\d+Z$/, 'Z')}`;
  return `${r.from === undefined ? '' : `${r.from} → `}${r.to}${at}`;
}

/**
 * Where the plan's duration comes from, as one paragraph for `fleetgate plan` (no trailing newline):
 *
 * ```text
 * Estimate: 6s, from the median of 2 past rollouts (1.1.0 → 1.2.0 on 2026-12-03T13:41:07Z, 1.0.0 → 1.1.0 on 2026-12-03T13:40:01Z):
 *   4 of 4 waves from their past durations; the spec's own estimate is 4m 4s
 * ```
 *
 * Without an estimate from history it says the spec's is used, and why.
 */
export function describeEstimate(
  estimate: HistoryEstimate | undefined,
  plan: RolloutPlan,
  history: readonly PastRollout[] = [],
): string {
  if (!estimate) {
    const n = completedRollouts(history, LEARN_FROM_ROLLOUTS).length;
    const why =
      n === 0
        ? "no completed rollout of this spec recorded its waves' durations yet"
        : `none of the last ${n} completed rollout${n === 1 ? '' : 's'} ran these waves with these sizes (resized since)`;
    return `Estimate: ${formatDurationMs(plan.estimatedDurationMs)}, from the spec (per wave: ceil(targets / maxUnavailable) × expectedTargetDuration + observe); ${why}`;
  }
  const fromHistory = estimate.waves.filter((w) => w.source === 'history').length;
  const fromSpec = estimate.waves.filter((w) => w.source === 'spec').map((w) => w.id);
  const n = estimate.rollouts.length;
  return [
    `Estimate: ${formatDurationMs(estimate.estimatedDurationMs)}, from the median of ${n} past rollout${n === 1 ? '' : 's'} (${estimate.rollouts.map(nameRollout).join(', ')}):`,
    `  ${fromHistory} of ${estimate.waves.length} waves from their past durations${
      fromSpec.length > 0 ? ` (${abbreviateIds(fromSpec)} from the spec: new, or resized since)` : ''
    }; the spec's own estimate is ${formatDurationMs(estimate.specDurationMs)}`,
  ].join('\n');
}

/**
 * The wave-size suggestions as a section for `fleetgate plan` (no trailing newline), or an
 * empty string when there are none. Each says it was not applied.
 */
export function describeWaveSizeSuggestions(suggestions: readonly WaveSizeSuggestion[]): string {
  if (suggestions.length === 0) return '';
  return ['Wave size from history (a suggestion, not applied):', ...suggestions.map((s) => `  - ${s.message}`)].join(
    '\n',
  );
}
