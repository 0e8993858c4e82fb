/** What each job of the rollout workflow does in a run, from plan and state (pure). */
import { describe, expect, it } from 'vitest';
import { planWorkflowRun, SHORT_WINDOW_MS } from '../../src/github/workflow-plan.js';
import type { RolloutPlan } from '../../src/plan/types.js';
import type { RolloutSpec } from '../../src/spec/types.js';
import { createEmptyState } from '../../src/state/store.js';
import type { RolloutState } from '../../src/state/types.js';

function plan(waves: number, observeMs: number): RolloutPlan {
  return {
    rollout: 'svc',
    component: 'c',
    version: '2.0.0',
    tiers: [],
    estimatedDurationMs: 0,
    warnings: [],
    waves: Array.from({ length: waves }, (_, i) => ({
      id: i === 0 ? 'all/canary' : `all/${i}`,
      index: i,
      tier: 'all',
      kind: i === 0 ? ('canary' as const) : ('wave' as const),
      targets: [`t-${i}`],
      maxUnavailable: 1,
      observeMs,
    })),
  };
}
const spec = { name: 'svc', version: '2.0.0', gates: { canary: 'c-env', promote: 'p-env' } } as unknown as RolloutSpec;

describe('planWorkflowRun', () => {
  it('a fresh rollout: canary behind its gate, promotion gate, every other wave in the matrix', () => {
    const r = planWorkflowRun(spec, plan(4, 1000), undefined, {});
    expect(r).toMatchObject({
      hasWork: true,
      canaryWave: 'all/canary',
      canaryEnvironment: 'c-env',
      promoteEnvironment: 'p-env',
    });
    expect(r.waves).toEqual([
      { wave: 'all/1', wait: false },
      { wave: 'all/2', wait: false },
      { wave: 'all/3', wait: false },
    ]);
    expect(r.shortWindows).toBe(true);
  });

  it('caps the matrix and continues in a new run', () => {
    const r = planWorkflowRun(spec, plan(400, 0), undefined, { maxWavesPerRun: 1000 });
    expect(r.waves).toHaveLength(250);
    expect(r.moreWaves).toBe(true);
  });

  it('long windows wait on the observation environment, never on a runner', () => {
    const r = planWorkflowRun(spec, plan(3, SHORT_WINDOW_MS), undefined, { observeEnvironment: 'obs' });
    expect(r.canaryWait).toBe(true);
    expect(r.waves).toEqual([
      { wave: 'all/1', wait: false },
      { wave: 'all/2', wait: true },
    ]);
    const none = planWorkflowRun(spec, plan(3, SHORT_WINDOW_MS), undefined, {});
    expect(none.waves).toEqual([]);
    expect(none.moreWaves).toBe(true);
  });

  it('skips what is done and approved, and idles when a decision is needed or nothing changed', () => {
    const state: RolloutState = {
      ...createEmptyState('svc'),
      phase: 'Progressing',
      toVersion: '2.0.0',
      waves: [
        { id: 'all/canary', phase: 'Completed', targets: ['t-0'] },
        { id: 'all/1', phase: 'Completed', targets: ['t-1'] },
      ],
      approvals: [
        { gate: 'c-env', by: 'a', at: 'x' },
        { gate: 'p-env', by: 'a', at: 'x' },
      ],
    };
    const r = planWorkflowRun(spec, plan(4, 0), state, {});
    expect(r).toMatchObject({ canaryWave: '', canaryEnvironment: '', promoteEnvironment: '' });
    expect(r.waves.map((w) => w.wave)).toEqual(['all/2', 'all/3']);
    const paused = planWorkflowRun(
      spec,
      plan(4, 0),
      { ...state, phase: 'Paused', condition: { reason: 'CircuitBreakerTripped', message: 'm', at: 'x' } },
      {},
    );
    expect(paused).toMatchObject({ hasWork: false });
    expect(paused.idleReason).toMatch(/decide/);
    const healthy = planWorkflowRun(spec, plan(4, 0), { ...state, phase: 'Healthy' }, {});
    expect(healthy).toMatchObject({ hasWork: false, idleReason: 'already Healthy at 2.0.0' });
  });
});
