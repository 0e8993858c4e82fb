/**
 * Pure transition functions: what was observed about a wave → the next
 * decision. The engine does the I/O around them; these say what follows, so
 * every pause, rollback and completion branch is unit-tested without a process.
 */
import type { Severity } from '../spec/types.js';
import { Messages, Reasons, type Reason } from './reasons.js';

/** What the engine does next. */
export type Transition =
  | { kind: 'pause'; reason: Reason; message: string; failedTargets?: string[] }
  | { kind: 'rollback'; reason: Reason; message: string }
  | { kind: 'observe' }
  | { kind: 'complete' };

/** What a wave's steps left behind. */
export interface WaveStepsObserved {
  wave: string;
  /** Targets of the wave (as run). */
  total: number;
  /** Ids of the wave's targets that failed. */
  failed: string[];
  /** The breaker's reason when it tripped during the wave. */
  breakerTripped?: string;
  /** A take-down refused by the tier's budget (message names the members out). */
  budgetExhausted?: string;
  /** The leader could not be told, or leadership could not be moved off it (nothing was taken down). */
  leadership?: { reason: Reason; message: string };
  /** Percent of the wave's targets that may fail (0–100). */
  tolerancePercent: number;
  /** An operator's `continue` accepted this wave's failures. */
  accepted: boolean;
}

/**
 * After a wave's steps: breaker trip → pause; failures above the wave's tolerance (and not
 * accepted) → pause; budget exhausted → pause; leadership not moved off the leader → pause;
 * else the observation window.
 */
export function decideAfterWaveSteps(o: WaveStepsObserved): Transition {
  if (o.breakerTripped !== undefined)
    return { kind: 'pause', reason: Reasons.CircuitBreakerTripped, message: o.breakerTripped, failedTargets: o.failed };
  if (!o.accepted && exceedsTolerance(o.failed.length, o.total, o.tolerancePercent)) {
    return {
      kind: 'pause',
      reason: Reasons.WaveFailureToleranceExceeded,
      message: Messages.waveTolerance(o.wave, o.failed.length, o.total, o.tolerancePercent),
      failedTargets: o.failed,
    };
  }
  if (o.budgetExhausted !== undefined)
    return { kind: 'pause', reason: Reasons.BudgetExhausted, message: o.budgetExhausted, failedTargets: o.failed };
  if (o.leadership !== undefined)
    return { kind: 'pause', reason: o.leadership.reason, message: o.leadership.message, failedTargets: o.failed };
  return { kind: 'observe' };
}

/** True when `failed` of `total` is above `tolerancePercent` (percent 0–100). */
export function exceedsTolerance(failed: number, total: number, tolerancePercent: number): boolean {
  return failed > 0 && total > 0 && (failed / total) * 100 > tolerancePercent;
}

/** What the observation window showed. */
export interface ObservationObserved {
  wave: string;
  /** Targets that turned unhealthy during the window. */
  turned: string[];
  /** The analysis verdict (absent: no analysis, or a `continue` accepted it). */
  analysis?: { verdict: 'pass' | 'fail' | 'inconclusive'; severity?: Severity; message: string };
}

/**
 * After the observation window: a target turned unhealthy → pause; a critical metric
 * failed → roll back at once; a failed (warning) or inconclusive analysis → pause
 * (inconclusive is never a pass); else the wave is complete.
 */
export function decideAfterObservation(o: ObservationObserved): Transition {
  if (o.turned.length > 0)
    return {
      kind: 'pause',
      reason: Reasons.ObservationFailed,
      message: Messages.observationFailed(o.wave, o.turned),
      failedTargets: o.turned,
    };
  const a = o.analysis;
  if (a && a.verdict === 'fail' && a.severity === 'critical')
    return {
      kind: 'rollback',
      reason: Reasons.AnalysisFailed,
      message: `critical metric failed at ${o.wave}: ${a.message}`,
    };
  if (a && a.verdict !== 'pass')
    return {
      kind: 'pause',
      reason: a.verdict === 'fail' ? Reasons.AnalysisFailed : Reasons.AnalysisInconclusive,
      message: `analysis of ${o.wave}: ${a.message}`,
    };
  return { kind: 'complete' };
}
