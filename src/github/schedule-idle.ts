/**
 * Which specs a schedule tick can skip before any job starts (issue 12, item 8), pure.
 *
 * Every tick used to call the reusable workflow for every spec, finished ones too: a plan job
 * with checkout and setup-node per spec, billed per started minute, every 15 minutes. The
 * `specs` job now asks, per spec, what the plan job would answer (`planWorkflowRun`'s
 * `hasWork`) and two things only a tick knows nothing can change: a rollout paused at a gate
 * waits for a person (the decide workflow or the environment's reviewers go on, and a tick
 * would only queue a run that waits at the same gate), and an observation window still open
 * until a later time has nothing to evaluate yet.
 */
import type { RolloutState } from '../state/types.js';
import type { WorkflowRunPlan } from './workflow-plan.js';

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
  const open = state?.waves.find((w) => w.id === state.currentWave && w.phase === 'Observing')?.observeUntil;
  if (state?.phase === 'Progressing' && open && Date.parse(open) > nowMs)
    return { idle: true, why: `observation window open until ${open}: a tick after it continues` };
  return { idle: false };
}
