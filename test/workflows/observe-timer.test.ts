/**
 * A missing wait timer must not become a dispatch loop (issue 12, item 3). Preflight reads the
 * observe-environment from GitHub (GET …/environments/{name}: a wait_timer rule, or none, or 404)
 * and outputs whether its timer covers the longest window; finalize dispatches a run to wait on
 * an open window only when it does, and otherwise says the schedule continues. The finalize
 * conditions are evaluated here the way the runner does, for every combination.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { condition } from '../actions/expressions.js';
import { ROOT } from './workflow-files.js';

type Step = { name?: string; if?: string; uses?: string; id?: string; with?: Record<string, unknown> };
type Job = { outputs?: Record<string, string>; permissions?: Record<string, string>; steps: Step[] };
const doc = parse(readFileSync(join(ROOT, '.github/workflows/rollout.yml'), 'utf8')) as { jobs: Record<string, Job> };
const finalize = doc.jobs.finalize!;
const dispatch = finalize.steps.find((s) => s.uses?.includes('/actions/dispatch@'))!;
const schedule = finalize.steps.find((s) => s.name === 'Leave the open window to the schedule');

function decide(o: {
  windowOpen: boolean;
  moreWaves: boolean;
  covers: '' | 'true' | 'false';
  observeEnvironment: string;
}) {
  const ctx = {
    status: 'success' as const,
    contexts: {
      steps: {
        last: { outputs: { outcome: 'Progressing', 'window-open': String(o.windowOpen), 'observe-until': '' } },
      },
      needs: {
        plan: { outputs: { 'more-waves': String(o.moreWaves) } },
        preflight: { outputs: { 'observe-covers': o.covers } },
      },
      inputs: { 'observe-environment': o.observeEnvironment, spec: 'rollouts/svc.yaml' },
    },
  };
  return { dispatches: condition(dispatch.if, ctx), leavesToSchedule: schedule ? condition(schedule.if, ctx) : false };
}

describe('finalize with an open observation window', () => {
  it('preflight exposes what it read from the environment to finalize', () => {
    expect(doc.jobs.preflight!.outputs?.['observe-covers']).toBe('${{ steps.preflight.outputs.observe-covers }}');
    expect(doc.jobs.preflight!.steps.find((s) => s.uses?.includes('/actions/preflight@'))?.id).toBe('preflight');
  });

  it('the plan job reads the timer too (actions: read), so it plans no matrix of open windows', () => {
    const plan = doc.jobs.plan!;
    expect(plan.permissions?.actions).toBe('read');
    expect(plan.steps.find((s) => s.uses?.includes('/actions/plan@'))?.with?.['read-observe-timer']).toBe(true);
  });

  it.each([
    // A named environment without a timer (private repository on Team, or never created): no loop.
    { windowOpen: true, moreWaves: false, covers: 'false', observeEnvironment: 'fleetgate-observe' },
    { windowOpen: true, moreWaves: true, covers: 'false', observeEnvironment: 'fleetgate-observe' },
    // Preflight did not run or could not read it: the same.
    { windowOpen: true, moreWaves: true, covers: '', observeEnvironment: 'fleetgate-observe' },
    { windowOpen: true, moreWaves: false, covers: '', observeEnvironment: '' },
  ] as const)('does not dispatch without a timer that covers the window: %o', (o) => {
    expect(decide(o)).toEqual({ dispatches: false, leavesToSchedule: true });
  });

  it('dispatches when the timer covers the window, or when no window is open and work remains', () => {
    expect(decide({ windowOpen: true, moreWaves: false, covers: 'true', observeEnvironment: 'obs' })).toEqual({
      dispatches: true,
      leavesToSchedule: false,
    });
    expect(decide({ windowOpen: false, moreWaves: true, covers: 'false', observeEnvironment: 'obs' })).toEqual({
      dispatches: true,
      leavesToSchedule: false,
    });
  });
});
