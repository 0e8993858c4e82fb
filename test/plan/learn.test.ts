/**
 * Learning from history (issue 13, part 5): the plan's estimate from the median of the spec's
 * own past rollouts, and a wave size suggested from where they failed — pure, history as data.
 */
import { describe, expect, it } from 'vitest';
import {
  applyHistoryEstimate,
  describeEstimate,
  describeWaveSizeSuggestions,
  estimateFromHistory,
  FAILURE_PAUSE_REASONS,
  suggestWaveSizes,
  type PastRollout,
  type PastWave,
} from '../../src/plan/learn.js';
import { planRollout } from '../../src/plan/plan.js';
import { Reasons } from '../../src/engine/reasons.js';
import { fleet, size, spec, tier } from './helpers.js';

// 11 targets: canary 1, then waves of 5 (edge/1, edge/2), 1 at a time, 1 min per target, 1 min observe.
const theSpec = spec([
  tier('edge', {}, { canary: size(1), waves: size(5), maxUnavailable: size(1), observeMs: 60_000 }),
]);
const plan = planRollout(theSpec, fleet('edge', 11));

/** A completed past rollout whose waves took these times (ms), sizes as planned. */
function past(
  to: string,
  ms: [number, number, number],
  over: Partial<PastRollout> = {},
  waves?: PastWave[],
): PastRollout {
  return {
    from: '1.0.0',
    to,
    phase: 'Healthy',
    startedAt: `2026-12-0${to.split('.')[1]}T10:00:00.000Z`,
    waves: waves ?? [
      { id: 'edge/canary', size: 1, phase: 'Completed', durationMs: ms[0] },
      { id: 'edge/1', size: 5, phase: 'Completed', durationMs: ms[1] },
      { id: 'edge/2', size: 5, phase: 'Completed', durationMs: ms[2] },
    ],
    ...over,
  };
}

describe('estimateFromHistory', () => {
  it('takes each wave from the median of its past durations, and names the rollouts', () => {
    const history = [
      past('1.3.0', [1_000, 5_000, 6_000]),
      past('1.2.0', [3_000, 9_000, 4_000]),
      past('1.1.0', [2_000, 7_000, 5_000]),
    ];
    const e = estimateFromHistory(plan, history)!;
    expect(e.waves).toEqual([
      { id: 'edge/canary', estimatedMs: 2_000, source: 'history', samples: 3 },
      { id: 'edge/1', estimatedMs: 7_000, source: 'history', samples: 3 },
      { id: 'edge/2', estimatedMs: 5_000, source: 'history', samples: 3 },
    ]);
    expect(e.estimatedDurationMs).toBe(14_000);
    expect(e.specDurationMs).toBe(plan.estimatedDurationMs);
    expect(e.rollouts.map((r) => [r.to, r.durationMs])).toEqual([
      ['1.3.0', 12_000],
      ['1.2.0', 16_000],
      ['1.1.0', 14_000],
    ]);
    const applied = applyHistoryEstimate(plan, e);
    expect(applied.estimatedDurationMs).toBe(14_000);
    expect(applied.waves.map((w) => w.estimatedMs)).toEqual([2_000, 7_000, 5_000]);
    expect(plan.estimatedDurationMs).not.toBe(14_000); // the input plan is not changed
    expect(describeEstimate(e, plan)).toBe(
      `Estimate: 14s, from the median of 3 past rollouts (1.0.0 → 1.3.0 on 2026-12-03T10:00:00Z, 1.0.0 → 1.2.0 on 2026-12-02T10:00:00Z, 1.0.0 → 1.1.0 on 2026-12-01T10:00:00Z):\n  3 of 3 waves from their past durations; the spec's own estimate is 14m`,
    );
  });

  it('reads only the last five completed rollouts of new versions (no rollbacks, no failed ones)', () => {
    const history = [
      past('1.9.0', [99_000, 99_000, 99_000], { phase: 'RolledBack' }),
      past('1.8.0', [99_000, 99_000, 99_000], { rollback: true }),
      ...['1.7.0', '1.6.0', '1.5.0', '1.4.0', '1.3.0'].map((v) => past(v, [1_000, 1_000, 1_000])),
      past('1.2.0', [99_000, 99_000, 99_000]),
    ];
    const e = estimateFromHistory(plan, history)!;
    expect(e.rollouts.map((r) => r.to)).toEqual(['1.7.0', '1.6.0', '1.5.0', '1.4.0', '1.3.0']);
    expect(e.estimatedDurationMs).toBe(3_000);
  });

  it('keeps the spec estimate for a wave that is new or was resized, and says so', () => {
    const resized = past('1.1.0', [1_000, 0, 0], {}, [
      { id: 'edge/canary', size: 1, phase: 'Completed', durationMs: 1_000 },
      { id: 'edge/1', size: 10, phase: 'Completed', durationMs: 20_000 },
    ]);
    expect(
      describeEstimate(undefined, plan, [
        past('1.1.0', [0, 0, 0], {}, [{ id: 'edge/1', size: 10, phase: 'Completed', durationMs: 1 }]),
      ]),
    ).toMatch(
      /from the spec .*; none of the last 1 completed rollout ran these waves with these sizes \(resized since\)$/,
    );
    const e = estimateFromHistory(plan, [resized])!;
    expect(e.waves.map((w) => w.source)).toEqual(['history', 'spec', 'spec']);
    expect(e.estimatedDurationMs).toBe(1_000 + plan.waves[1]!.estimatedMs! + plan.waves[2]!.estimatedMs!);
    expect(describeEstimate(e, plan)).toContain(
      '1 of 3 waves from their past durations (edge/1, edge/2 from the spec: new, or resized since)',
    );
  });

  it('leaves out a wave that paused once started (its time holds the wait for a decision), not one held at its gate', () => {
    const waited = past('1.2.0', [1_000, 3_600_000, 1_000], {}, [
      {
        id: 'edge/canary',
        size: 1,
        phase: 'Completed',
        durationMs: 1_000,
        paused: ['GatePending'],
        decision: 'continue',
      },
      {
        id: 'edge/1',
        size: 5,
        phase: 'Completed',
        durationMs: 3_600_000,
        paused: ['CircuitBreakerTripped'],
        decision: 'continue',
      },
      { id: 'edge/2', size: 5, phase: 'Completed', durationMs: 1_000 },
    ]);
    const e = estimateFromHistory(plan, [waited, past('1.1.0', [3_000, 5_000, 3_000])])!;
    expect(e.waves.map((w) => [w.id, w.estimatedMs, w.samples])).toEqual([
      ['edge/canary', 2_000, 2],
      ['edge/1', 5_000, 1],
      ['edge/2', 2_000, 2],
    ]);
  });

  it('gives no estimate without a past rollout that ran a wave of this plan; the text says the spec is used', () => {
    expect(estimateFromHistory(plan, [])).toBeUndefined();
    expect(estimateFromHistory(plan, [{ to: '1.1.0', phase: 'Healthy' }])).toBeUndefined(); // written before issue 13
    expect(describeEstimate(undefined, plan)).toMatch(
      /^Estimate: 14m, from the spec .*no completed rollout of this spec recorded/,
    );
  });
});

describe('suggestWaveSizes', () => {
  const trouble = (to: string, wave: Partial<PastWave>): PastRollout =>
    past(to, [0, 0, 0], { phase: 'RolledBack' }, [
      { id: 'edge/canary', size: 1, phase: 'Completed', durationMs: 1_000 },
      { id: 'edge/1', size: 10, phase: 'Failed', ...wave },
    ]);

  it('suggests half the smallest troubled wave after 2 of the last 5 rollouts stopped there, explained and not applied', () => {
    const big = planRollout(
      spec([tier('edge', {}, { canary: size(1), waves: size(10), maxUnavailable: size(2), observeMs: 0 })]),
      fleet('edge', 21),
    );
    const history = [
      trouble('1.4.0', { paused: ['CircuitBreakerTripped'], failed: 2, decision: 'rollback' }),
      past('1.3.0', [1, 1, 1]),
      trouble('1.2.0', { failed: 1 }),
      past('1.1.0', [1, 1, 1]),
      past('1.0.1', [1, 1, 1]),
    ];
    const [s, ...rest] = suggestWaveSizes(big, history);
    expect(rest).toEqual([]);
    expect(s).toMatchObject({ tier: 'edge', tierIndex: 0, current: 10, suggested: 5, considered: 5 });
    expect(s!.troubled.map((t) => [t.to, t.wave, t.size, t.why])).toEqual([
      ['1.4.0', 'edge/1', 10, 'CircuitBreakerTripped'],
      ['1.2.0', 'edge/1', 10, '1 failed'],
    ]);
    expect(s!.message).toBe(
      '2 of the last 5 rollouts stopped in a wave of tier edge (edge/1 of 1.4.0 on 2026-12-04: CircuitBreakerTripped; edge/1 of 1.2.0 on 2026-12-02: 1 failed); the smallest had 10 targets → suggest waves of 5 (tiers[0].strategy.waves: 5); not applied: this plan keeps waves of 10',
    );
    expect(big.tiers[0]!.waveSize).toBe(10); // never applied
    expect(describeWaveSizeSuggestions([s!])).toBe(
      `Wave size from history (a suggestion, not applied):\n  - ${s!.message}`,
    );
  });

  it('suggests nothing for one trouble, for canary failures, gate pauses, or when the waves are already small enough', () => {
    const big = planRollout(
      spec([tier('edge', {}, { canary: size(1), waves: size(10), maxUnavailable: size(2), observeMs: 0 })]),
      fleet('edge', 21),
    );
    const canaryFailed = (to: string): PastRollout =>
      past(to, [0, 0, 0], { phase: 'RolledBack' }, [
        { id: 'edge/canary', size: 1, phase: 'Failed', failed: 1, paused: ['CircuitBreakerTripped'] },
      ]);
    expect(suggestWaveSizes(big, [trouble('1.4.0', { failed: 3 })])).toEqual([]);
    expect(suggestWaveSizes(big, [canaryFailed('1.4.0'), canaryFailed('1.3.0')])).toEqual([]);
    expect(
      suggestWaveSizes(big, [
        trouble('1.4.0', { paused: ['GatePending'] }),
        trouble('1.3.0', { paused: ['DeployFreeze'] }),
      ]),
    ).toEqual([]);
    // Troubles older than the last five rollouts are not counted.
    const old = [1, 2, 3, 4, 5].map((i) => past(`1.${i}.0`, [1, 1, 1]));
    expect(suggestWaveSizes(big, [...old, trouble('1.0.2', { failed: 1 }), trouble('1.0.1', { failed: 1 })])).toEqual(
      [],
    );
    // The plan already has waves of 5 (the advice was taken): nothing more to say.
    expect(suggestWaveSizes(plan, [trouble('1.4.0', { failed: 1 }), trouble('1.3.0', { failed: 1 })])).toEqual([]);
  });

  it('counts only reason codes the engine has', () => {
    for (const reason of FAILURE_PAUSE_REASONS) expect(Object.values(Reasons)).toContain(reason);
  });
});
