/**
 * The engine's pure parts: what was observed → what happens next (`transitions.ts`), and
 * whether a target may be taken out of service now (`budget.ts`).
 */
import { describe, expect, it } from 'vitest';
import { assessTakeDown, describeOutOfService, type OutOfService } from '../../src/engine/budget.js';
import { Reasons } from '../../src/engine/reasons.js';
import {
  decideAfterObservation,
  decideAfterWaveSteps,
  exceedsTolerance,
  type WaveStepsObserved,
} from '../../src/engine/transitions.js';

describe('decideAfterWaveSteps', () => {
  const steps = (o: Partial<WaveStepsObserved> = {}): WaveStepsObserved => ({
    wave: 'edge/1',
    total: 4,
    failed: [],
    tolerancePercent: 0,
    accepted: false,
    ...o,
  });

  it('given no failure, then the observation window follows', () => {
    expect(decideAfterWaveSteps(steps())).toEqual({ kind: 'observe' });
  });

  it('given a breaker trip, then it pauses with CircuitBreakerTripped, before tolerance and budget', () => {
    const t = decideAfterWaveSteps(
      steps({ failed: ['a', 'b'], breakerTripped: 'tripped', budgetExhausted: 'no room', accepted: true }),
    );
    expect(t).toEqual({
      kind: 'pause',
      reason: Reasons.CircuitBreakerTripped,
      message: 'tripped',
      failedTargets: ['a', 'b'],
    });
  });

  it('given failures above the tolerance, then it pauses with WaveFailureToleranceExceeded, before the budget', () => {
    const t = decideAfterWaveSteps(steps({ failed: ['a'], tolerancePercent: 20, budgetExhausted: 'no room' }));
    expect(t).toMatchObject({ kind: 'pause', reason: Reasons.WaveFailureToleranceExceeded, failedTargets: ['a'] });
  });

  it('given failures within the tolerance, or accepted by a continue, then the window follows', () => {
    expect(decideAfterWaveSteps(steps({ failed: ['a'], tolerancePercent: 25 }))).toEqual({ kind: 'observe' });
    expect(decideAfterWaveSteps(steps({ failed: ['a', 'b'], accepted: true }))).toEqual({ kind: 'observe' });
  });

  it('given a refused take-down, then it pauses with BudgetExhausted (also after accepted failures)', () => {
    expect(decideAfterWaveSteps(steps({ budgetExhausted: 'edge-3 is out' }))).toEqual({
      kind: 'pause',
      reason: Reasons.BudgetExhausted,
      message: 'edge-3 is out',
      failedTargets: [],
    });
    expect(decideAfterWaveSteps(steps({ failed: ['a'], accepted: true, budgetExhausted: 'x' }))).toMatchObject({
      reason: Reasons.BudgetExhausted,
    });
  });
});

describe('exceedsTolerance', () => {
  it('is above the percent, never at it, never with no failure or no target', () => {
    expect(exceedsTolerance(1, 4, 25)).toBe(false);
    expect(exceedsTolerance(2, 4, 25)).toBe(true);
    expect(exceedsTolerance(1, 3, 0)).toBe(true);
    expect(exceedsTolerance(0, 3, 0)).toBe(false);
    expect(exceedsTolerance(0, 0, 0)).toBe(false);
    expect(exceedsTolerance(3, 3, 100)).toBe(false);
  });
});

describe('decideAfterObservation', () => {
  const wave = 'edge/canary';

  it('given nothing turned and no analysis, then the wave is complete', () => {
    expect(decideAfterObservation({ wave, turned: [] })).toEqual({ kind: 'complete' });
  });

  it('given a passing analysis, then the wave is complete', () => {
    expect(decideAfterObservation({ wave, turned: [], analysis: { verdict: 'pass', message: 'ok' } })).toEqual({
      kind: 'complete',
    });
  });

  it('given a target turned unhealthy, then it pauses with ObservationFailed, whatever the analysis says', () => {
    const t = decideAfterObservation({
      wave,
      turned: ['edge-1'],
      analysis: { verdict: 'fail', severity: 'critical', message: 'bad' },
    });
    expect(t).toMatchObject({ kind: 'pause', reason: Reasons.ObservationFailed, failedTargets: ['edge-1'] });
  });

  it('given a critical metric failed, then it rolls back at once (AnalysisFailed)', () => {
    expect(
      decideAfterObservation({ wave, turned: [], analysis: { verdict: 'fail', severity: 'critical', message: 'bad' } }),
    ).toMatchObject({ kind: 'rollback', reason: Reasons.AnalysisFailed });
  });

  it('given a warning metric failed, then it pauses (AnalysisFailed)', () => {
    expect(
      decideAfterObservation({ wave, turned: [], analysis: { verdict: 'fail', severity: 'warning', message: 'meh' } }),
    ).toMatchObject({ kind: 'pause', reason: Reasons.AnalysisFailed });
  });

  it('given an inconclusive analysis, then it pauses (AnalysisInconclusive): inconclusive is never a pass', () => {
    expect(
      decideAfterObservation({ wave, turned: [], analysis: { verdict: 'inconclusive', message: 'no data' } }),
    ).toMatchObject({ kind: 'pause', reason: Reasons.AnalysisInconclusive });
    // even marked critical
    expect(
      decideAfterObservation({
        wave,
        turned: [],
        analysis: { verdict: 'inconclusive', severity: 'critical', message: 'no data' },
      }),
    ).toMatchObject({ kind: 'pause', reason: Reasons.AnalysisInconclusive });
  });
});

describe('assessTakeDown', () => {
  const inFlight = (id: string): OutOfService => ({ id, cause: 'in-flight' });
  const down = (id: string, cause: OutOfService['cause'] = 'unhealthy'): OutOfService => ({ id, cause });

  it('allows a take-down while the members out plus the candidate stay within the budget', () => {
    expect(assessTakeDown('c', 2, [])).toEqual({
      allowed: true,
      budget: 2,
      out: [],
      candidateOut: false,
      waitable: false,
    });
    expect(assessTakeDown('c', 2, [inFlight('a')])).toMatchObject({ allowed: true, waitable: true });
    expect(assessTakeDown('c', 2, [inFlight('a'), down('b')])).toMatchObject({ allowed: false, waitable: true });
  });

  it('counts every cause: in flight, failed and left drained, unhealthy, unreachable', () => {
    const out = [down('a', 'failed'), down('b', 'unhealthy'), down('d', 'unreachable')];
    expect(assessTakeDown('c', 3, out)).toMatchObject({ allowed: false, waitable: false, out });
    expect(assessTakeDown('c', 4, out)).toMatchObject({ allowed: true });
  });

  it('allows working on a candidate that is out already: it costs no capacity', () => {
    const a = assessTakeDown('b', 1, [down('a'), down('b')]);
    expect(a).toMatchObject({ allowed: true, candidateOut: true, out: [down('a')] });
    expect(assessTakeDown('a', 0, [down('a')])).toMatchObject({ allowed: true, candidateOut: true });
  });

  it('with a budget of 0 (minAvailable ≥ n) allows no member in service to go', () => {
    expect(assessTakeDown('c', 0, [])).toMatchObject({ allowed: false, waitable: false });
  });

  it('waits only when a member in flight will come back', () => {
    expect(assessTakeDown('c', 1, [down('a')]).waitable).toBe(false);
    expect(assessTakeDown('c', 1, [inFlight('a')]).waitable).toBe(true);
  });

  it('describes the members out for a pause message', () => {
    expect(describeOutOfService([inFlight('edge-4'), { id: 'edge-2', cause: 'unhealthy', message: 'HTTP 503' }])).toBe(
      'edge-4 (in flight), edge-2 (unhealthy: HTTP 503)',
    );
  });
});
