/**
 * What `fleetgate plan` adds from the spec's own history (docs/history.md): the duration
 * estimated from past rollouts instead of the spec's, and wave-size suggestions from where they
 * failed. The planner stays pure (`src/plan/learn.ts`); this reads the state's history into it.
 */
import {
  applyHistoryEstimate,
  describeEstimate,
  describeWaveSizeSuggestions,
  estimateFromHistory,
  suggestWaveSizes,
  type HistoryEstimate,
  type PastRollout,
  type WaveSizeSuggestion,
} from '../plan/learn.js';
import type { RolloutPlan } from '../plan/types.js';

export interface PlanLearning {
  /** The plan with its estimates from history (the input plan when there is none). */
  plan: RolloutPlan;
  /** The spec's plan as `planRollout` made it. */
  specPlan: RolloutPlan;
  estimate?: HistoryEstimate;
  suggestions: WaveSizeSuggestion[];
  /** The history it learnt from (newest first). */
  history: readonly PastRollout[];
}

/**
 * Reads the history (the state's `history`, newest first) into the plan: its estimates from the
 * median of past rollouts when there are some, and the suggestions (never applied).
 */
export function learnFromHistory(plan: RolloutPlan, history: readonly PastRollout[]): PlanLearning {
  const estimate = estimateFromHistory(plan, history);
  return {
    plan: estimate ? applyHistoryEstimate(plan, estimate) : plan,
    specPlan: plan,
    ...(estimate && { estimate }),
    suggestions: suggestWaveSizes(plan, history),
    history,
  };
}

/**
 * The fields `plan --json` adds: `estimate` (`source` `history` with the rollouts it came from,
 * or `spec`) and `waveSizeSuggestions`. Durations in milliseconds.
 */
export function planLearningJson(l: PlanLearning): {
  estimate: ({ source: 'history' } & HistoryEstimate) | { source: 'spec'; estimatedDurationMs: number };
  waveSizeSuggestions: WaveSizeSuggestion[];
} {
  return {
    estimate: l.estimate
      ? { source: 'history', ...l.estimate }
      : { source: 'spec', estimatedDurationMs: l.specPlan.estimatedDurationMs },
    waveSizeSuggestions: l.suggestions,
  };
}

/** The text `plan` prints after the waves: where the estimate comes from, then any suggestion. */
export function describePlanLearning(l: PlanLearning): string {
  const suggestions = describeWaveSizeSuggestions(l.suggestions);
  return [describeEstimate(l.estimate, l.specPlan, l.history), ...(suggestions ? ['', suggestions] : [])].join('\n');
}
