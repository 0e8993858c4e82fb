/** What each job of the rollout workflow does in a run, from plan and state (pure). */
import { describe, expect, it } from 'vitest';
import { planWorkflowRun, SHORT_WINDOW_MS } from '../../src/github/workflow-plan.js';
import type { RolloutPlan } from '../../src/plan/types.js';
import type { RolloutSpec } from '../../src/spec/types.js';
import { createEmptyState, type RolloutState } from '../../src/state/types.js';

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
    // all/1 is the promote job's wave: the matrix holds the waves after it.
    expect(r.waves).toEqual([
      { wave: 'all/2', wait: false },
      { wave: 'all/3', wait: false },
    ]);
    expect(r.shortWindows).toBe(true);
    expect(r.moreWaves).toBe(false);
  });

  it('caps the matrix and continues in a new run', () => {
    const r = planWorkflowRun(spec, plan(400, 0), undefined, { maxWavesPerRun: 1000 });
    expect(r.waves).toHaveLength(250);
    expect(r.moreWaves).toBe(true);
  });

  it('long windows wait on the observation environment, never on a runner', () => {
    const r = planWorkflowRun(spec, plan(3, SHORT_WINDOW_MS), undefined, { observeEnvironment: 'obs' });
    expect(r.canaryWait).toBe(true);
    // The promote job runs all/1; the matrix's first entry waits on all/1's window.
    expect(r.waves).toEqual([{ wave: 'all/2', wait: true }]);
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

  it('without a promotion gate the matrix holds every wave after the canary', () => {
    const r = planWorkflowRun({ ...spec, gates: { canary: 'c-env' } }, plan(4, 1000), undefined, {});
    expect(r.promoteEnvironment).toBe('');
    expect(r.waves.map((w) => w.wave)).toEqual(['all/1', 'all/2', 'all/3']);
  });

  it("after the promote job's wave, the first matrix entry waits on a long window like the others", () => {
    const r = planWorkflowRun(spec, plan(4, SHORT_WINDOW_MS), undefined, { observeEnvironment: 'obs' });
    expect(r.waves).toEqual([
      { wave: 'all/2', wait: true },
      { wave: 'all/3', wait: true },
    ]);
  });
});

/** A plan over tiers in different networks: `eu` (canary and one wave), then `us` (two waves). */
function tieredPlan(): RolloutPlan {
  const wave = (id: string, index: number, tier: string, kind: 'canary' | 'wave' = 'wave') => ({
    id,
    index,
    tier,
    kind,
    targets: [`${id}-t`],
    maxUnavailable: 1,
    observeMs: 0,
  });
  return {
    ...plan(0, 0),
    waves: [wave('eu/canary', 0, 'eu', 'canary'), wave('eu/1', 1, 'eu'), wave('us/1', 2, 'us'), wave('us/2', 3, 'us')],
  };
}
const tiered = (runsOn: { eu?: string[]; us?: string[] }, gates: Record<string, string> = { canary: 'c-env' }) =>
  ({
    ...spec,
    gates,
    tiers: [
      { name: 'eu', select: {}, strategy: {}, ...(runsOn.eu ? { runsOn: runsOn.eu } : {}) },
      { name: 'us', select: {}, strategy: {}, ...(runsOn.us ? { runsOn: runsOn.us } : {}) },
    ],
  }) as unknown as RolloutSpec;

describe('planWorkflowRun: runner labels from the tiers (tiers[].runsOn, issue 12 item 11)', () => {
  const EU = ['self-hosted', 'eu-fleet'];
  const US = ['self-hosted', 'us-fleet'];

  it("each matrix entry carries its tier's runners; the canary, its analysis and finalize theirs", () => {
    const r = planWorkflowRun(tiered({ eu: EU, us: US }), tieredPlan(), undefined, {});
    expect(r.waves).toEqual([
      { wave: 'eu/1', wait: false, 'runs-on': EU },
      { wave: 'us/1', wait: false, 'runs-on': US },
      { wave: 'us/2', wait: false, 'runs-on': US },
    ]);
    expect(r).toMatchObject({ canaryRunsOn: EU, analyzeRunsOn: EU, finalizeRunsOn: US });
    expect(r.promoteRunsOn).toBeUndefined();
  });

  it('the promote job runs on the tier of the wave it runs', () => {
    const r = planWorkflowRun(
      tiered({ eu: EU, us: US }, { canary: 'c-env', promote: 'p-env' }),
      tieredPlan(),
      undefined,
      {},
    );
    expect(r.promoteEnvironment).toBe('p-env');
    expect(r.promoteRunsOn).toEqual(EU);
    expect(r.waves.map((w) => [w.wave, w['runs-on']])).toEqual([
      ['us/1', US],
      ['us/2', US],
    ]);
  });

  it('a tier without runsOn leaves its entries and jobs to the workflow runs-on', () => {
    const r = planWorkflowRun(tiered({ us: US }), tieredPlan(), undefined, {});
    expect(r.waves[0]).toEqual({ wave: 'eu/1', wait: false });
    expect(r.waves[0]).not.toHaveProperty('runs-on');
    expect(r.canaryRunsOn).toBeUndefined();
    expect(r.analyzeRunsOn).toBeUndefined();
    expect(r.waves[1]!['runs-on']).toEqual(US);
  });

  it('a continuation run analyses the observing wave on its tier, and finalize follows the last wave it touches', () => {
    const state: RolloutState = {
      ...createEmptyState('svc'),
      phase: 'Progressing',
      toVersion: '2.0.0',
      waves: [
        { id: 'eu/canary', phase: 'Completed', targets: ['a'] },
        { id: 'eu/1', phase: 'Completed', targets: ['b'] },
        { id: 'us/1', phase: 'Observing', targets: ['c'] },
      ],
      approvals: [{ gate: 'c-env', by: 'a', at: 'x' }],
    };
    const r = planWorkflowRun(tiered({ eu: EU, us: US }), tieredPlan(), state, { maxWavesPerRun: 1 });
    expect(r.canaryWave).toBe('');
    expect(r.canaryRunsOn).toBeUndefined();
    expect(r.analyzeRunsOn).toEqual(US);
    expect(r.waves).toEqual([{ wave: 'us/2', wait: false, 'runs-on': US }]);
    expect(r.finalizeRunsOn).toEqual(US);
  });
});
