/**
 * Schedule ticks skip idle specs before any job starts (issue 12, item 8): what the plan job
 * would call idle, a rollout paused at a gate for a person, and a window still open.
 */
import { describe, expect, it } from 'vitest';
import { assessScheduleTick } from '../../src/github/schedule-idle.js';
import type { WorkflowRunPlan } from '../../src/github/workflow-plan.js';
import type { RolloutState } from '../../src/state/types.js';

const NOW = Date.parse('2026-12-03T10:00:00Z');
const work = { hasWork: true } as WorkflowRunPlan;
const state = (s: Partial<RolloutState>) => ({ waves: [], approvals: [], ...s }) as unknown as RolloutState;

describe('assessScheduleTick', () => {
  it('skips what the plan job would find idle, with its reason', () => {
    expect(
      assessScheduleTick({ hasWork: false, idleReason: 'already Healthy at 1.2.0' } as WorkflowRunPlan, undefined, NOW),
    ).toEqual({
      idle: true,
      why: 'already Healthy at 1.2.0',
    });
  });

  it('skips a rollout paused at a gate: only a person can move it', () => {
    const paused = state({
      phase: 'Paused',
      condition: { reason: 'GatePending', message: 'waiting for approval of gate "prod"', at: '' },
    });
    const tick = assessScheduleTick(work, paused, NOW);
    expect(tick.idle).toBe(true);
    expect(tick.why).toMatch(/paused at a gate.*decide/);
  });

  it('skips a window still open, keeps one that has passed', () => {
    const observing = (until: string) =>
      state({
        phase: 'Progressing',
        currentWave: 'all/1',
        waves: [{ id: 'all/1', phase: 'Observing', observeUntil: until }] as RolloutState['waves'],
      });
    expect(assessScheduleTick(work, observing('2026-12-03T10:20:00Z'), NOW)).toMatchObject({
      idle: true,
      why: 'observation window open until 2026-12-03T10:20:00Z: a tick after it continues',
    });
    expect(assessScheduleTick(work, observing('2026-12-03T09:59:00Z'), NOW)).toEqual({ idle: false });
  });

  it('skips a blue-green rollout while its old pool is kept, keeps it once the keep time is over', () => {
    const kept = (until: string) =>
      state({
        phase: 'Progressing',
        condition: { reason: 'OldPoolKept', message: 'old pool kept', at: '' },
        pools: { api: { version: '2.0.0', old: ['api-1'], new: ['api-1.g2'], keepUntil: until } },
      });
    expect(assessScheduleTick(work, kept('2026-12-03T11:00:00Z'), NOW)).toEqual({
      idle: true,
      why: 'the old blue-green pool is kept until 2026-12-03T11:00:00Z (keepOldPool): a tick after it retires it',
    });
    expect(assessScheduleTick(work, kept('2026-12-03T09:00:00Z'), NOW)).toEqual({ idle: false });
  });

  it('keeps a rollout with work and no state yet (a push run that never committed one)', () => {
    expect(assessScheduleTick(work, undefined, NOW)).toEqual({ idle: false });
    expect(assessScheduleTick(work, state({ phase: 'Progressing', currentWave: 'all/2' }), NOW)).toEqual({
      idle: false,
    });
  });
});
