/**
 * The schedule gate (spec `schedule`): before a wave starts, the engine asks whether the
 * deploy windows are open and no freeze is in force. A closed schedule stops the run at that
 * wave boundary (`Progressing`, exit 6, like `--max-waves`) with the next opening; rollbacks
 * never ask (they do not go through here). The calendar rules are in `src/plan/schedule.ts`.
 */
import { assessSchedule, formatInZone } from '../plan/schedule.js';
import type { ScheduleSpec } from '../spec/types.js';
import { Messages, Reasons, type Reason } from './reasons.js';

/** Why a wave may not start now, for the state's condition and the run's result. */
export interface ScheduleHold {
  reason: Reason;
  message: string;
  /** When waves may start again (ISO-8601), when the schedule opens within the search horizon. */
  opensAt?: string;
}

/**
 * Whether `wave` may start at `nowMs` under `schedule`.
 * @param nowMs - epoch milliseconds (the engine's clock)
 * @returns undefined when it may (or the spec has no schedule), else the hold with its reason
 *   (`OutsideDeployWindow`, `DeployFreeze`), a message naming the next opening in the schedule's
 *   time zone, and that opening as ISO-8601 UTC
 */
export function assessScheduleHold(
  schedule: ScheduleSpec | undefined,
  wave: string,
  nowMs: number,
): ScheduleHold | undefined {
  const verdict = assessSchedule(schedule, nowMs);
  if (verdict.open || !schedule) return undefined;
  const opensAt = verdict.opensAtMs === undefined ? undefined : new Date(verdict.opensAtMs).toISOString();
  const shown =
    verdict.opensAtMs === undefined ? undefined : `${formatInZone(verdict.opensAtMs, schedule.timeZone)} (${opensAt})`;
  if (verdict.reason === 'DeployFreeze') {
    const f = verdict.freeze!;
    return {
      reason: Reasons.DeployFreeze,
      message: Messages.deployFreeze(wave, f.reason, formatInZone(f.untilMs, f.timeZone), shown),
      opensAt,
    };
  }
  return { reason: Reasons.OutsideDeployWindow, message: Messages.outsideDeployWindow(wave, shown), opensAt };
}

/** Whether a condition was set by the schedule gate (cleared once the schedule lets a wave start). */
export function isScheduleHold(reason: string | undefined): boolean {
  return reason === Reasons.OutsideDeployWindow || reason === Reasons.DeployFreeze;
}
