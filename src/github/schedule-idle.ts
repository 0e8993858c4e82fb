/**
 * Which specs a schedule tick can skip before any job starts (issue 12, item 8), pure.
 *
 * Every tick used to call the reusable workflow for every spec, finished ones too: a plan job
 * with checkout and setup-node per spec, billed per started minute, every 15 minutes. The
 * `specs` job now asks, per spec, what the plan job would answer (`planWorkflowRun`'s
 * `hasWork`) and two things only a tick knows nothing can change: a rollout paused at a gate
 * waits for a person (the decide workflow or the environment's reviewers go on, and a tick
 * would only queue a run that waits at the same gate), an observation window still open
 * until a later time has nothing to evaluate yet, a rollout the schedule holds (outside its
 * deploy windows, or in a freeze) cannot start a wave before the opening it recorded, and a
 * blue-green tier's old pool is not retired before its `keepUntil`.
 */
import { isScheduleHold } from '../engine/schedule-gate.js';
import type { RolloutState } from '../state/types.js';
import type { WorkflowRunPlan } from './workflow-plan.js';

/**
 * When waves may start again, for a rollout the schedule gate stopped (outside `schedule.windows`
 * or in a freeze, `OutsideDeployWindow` / `DeployFreeze`) and whose opening is still ahead:
 * its `condition.opensAt` (ISO-8601). `undefined` when it is not held, or the opening has passed.
 * A hold without a known opening (none within the search horizon) returns `'unknown'`.
 * @param nowMs - the time to judge at (epoch milliseconds)
 */
export function scheduleClosedUntil(state: RolloutState | undefined, nowMs: number): string | undefined {
  const condition = state?.condition;
  if (state?.phase !== 'Progressing' || !condition || !isScheduleHold(condition.reason)) return undefined;
  if (condition.opensAt === undefined) return 'unknown';
  return Date.parse(condition.opensAt) > nowMs ? condition.opensAt : undefined;
}

/** The verdict for one spec on one tick. */
export interface ScheduleTick {
  idle: boolean;
  /** Why it is skipped (for the job summary); absent when it is not. */
  why?: string;
}

/**
 * Decides whether a schedule tick can skip a spec.
 * @param run - what the plan job would decide for it ({@link planWorkflowRun})
 * @param state - its state, as the rollout workflow will read it
 * @param nowMs - the tick's time (epoch milliseconds)
 */
export function assessScheduleTick(run: WorkflowRunPlan, state: RolloutState | undefined, nowMs: number): ScheduleTick {
  if (!run.hasWork) return { idle: true, why: run.idleReason ?? 'nothing to do' };
  if (state?.phase === 'Paused' && state.condition?.reason === 'GatePending')
    return {
      idle: true,
      why: `paused at a gate for an approval (${state.condition.message}): the decide workflow's continue, or the environment's reviewers in a dispatched run, go on; a tick cannot approve`,
    };
  const closed = scheduleClosedUntil(state, nowMs);
  if (closed !== undefined)
    return {
      idle: true,
      why: `held by the schedule (${state!.condition!.reason}) until ${closed === 'unknown' ? 'a window opens (none within the search horizon)' : closed}: a tick after it continues`,
    };
  // A blue-green tier keeps its old pool until keepUntil: nothing is retired before it.
  const kept =
    state?.phase === 'Progressing' && state.condition?.reason === 'OldPoolKept'
      ? Object.values(state.pools ?? {})
          .map((p) => p.keepUntil)
          .filter((t): t is string => t !== undefined && Date.parse(t) > nowMs)
          .sort()[0]
      : undefined;
  if (kept !== undefined)
    return {
      idle: true,
      why: `the old blue-green pool is kept until ${kept} (keepOldPool): a tick after it retires it`,
    };
  const open = state?.waves.find((w) => w.id === state.currentWave && w.phase === 'Observing')?.observeUntil;
  if (state?.phase === 'Progressing' && open && Date.parse(open) > nowMs)
    return { idle: true, why: `observation window open until ${open}: a tick after it continues` };
  return { idle: false };
}
