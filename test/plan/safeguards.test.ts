/**
 * The plan's gates, analysis and rollback sections (src/plan/safeguards.ts), from parsed specs
 * and states given as data: which approval holds which wave, the error-budget gate's numbers,
 * each metric's rule, and the version a rollback returns each target to and why.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planRollout } from '../../src/plan/plan.js';
import { describeSafeguards, planSafeguards } from '../../src/plan/safeguards.js';
import { parseSpec } from '../../src/spec/parse.js';
import type { RolloutSpec, Target } from '../../src/spec/types.js';

function load(path: string, edit: (text: string) => string = (t) => t): RolloutSpec {
  const r = parseSpec(edit(readFileSync(path, 'utf8')), path);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}

const targets: Target[] = [1, 2, 3, 4].map((i) => ({ id: `api-${i}`, address: `127.0.0.1:${i}`, labels: {} }));

describe('planSafeguards', () => {
  const spec = load('test/fixtures/specs/valid/slo.yaml', (t) =>
    t
      .replace(
        'inventory: { file: inventory/api.yaml }',
        'inventory: { file: inventory/api.yaml }\ngates: { canary: api-canary, promote: api-prod }',
      )
      .replace(
        "threshold: '< 0.05'",
        "threshold: '< 0.05'\n    - name: latency\n      query: q{{targets}}\n      baseline: { cohort: before }\n      maxIncrease: 20%\n      ignoreIncreaseBelow: 0.005\n      severity: warning\n      count: 3\n      interval: 30s",
      ),
  );
  const plan = planRollout(spec, targets);

  it('places the approvals where the engine asks them, and the error-budget gate with its numbers', () => {
    const s = planSafeguards(spec, plan, undefined);
    expect(plan.waves.map((w) => w.id)).toEqual(['all/canary', 'all/1']);
    expect(s.gates.approvals).toEqual([
      { gate: 'api-canary', kind: 'canary', beforeWave: 'all/canary' },
      { gate: 'api-prod', kind: 'promote', beforeWave: 'all/1' },
    ]);
    expect(s.gates.slo).toEqual({
      objective: '99.9%',
      window: '30d',
      maxBudgetConsumed: '50%',
      burnRates: [
        { long: '1h', short: '5m', rate: 14.4 },
        { long: '6h', short: '30m', rate: 6 },
      ],
    });
    expect(s.analysis?.metrics.map((m) => [m.name, m.severity, m.onFailure, m.rule, m.interval, m.count])).toEqual([
      ['error-rate', 'warning', 'pause', '< 0.05', '1m', 1],
      [
        'latency',
        'warning',
        'pause',
        'at most +20% over the same targets before the wave (an increase below 0.005 never fails)',
        '30s',
        3,
      ],
    ]);
    const text = describeSafeguards(s);
    expect(text).toContain(
      'error budget: objective 99.9% over 30d, checked before each wave and at the end of its window; pauses (ErrorBudgetBurn) when the rollout has consumed more than 50% of the budget, or burns 1h and 5m both above 14.4×, or 6h and 30m both above 6×',
    );
    expect(text).toContain('approval "api-prod" before all/1 (promotion after the canary;');
  });

  it('says a promote gate holds no wave when there is no canary', () => {
    const noCanary = load('test/fixtures/specs/valid/slo.yaml', (t) =>
      t.replace(
        'inventory: { file: inventory/api.yaml }',
        'inventory: { file: inventory/api.yaml }\ngates: { promote: api-prod }\ntiers: [{ name: all, strategy: { canary: 0 } }]',
      ),
    );
    const s = planSafeguards(noCanary, planRollout(noCanary, targets), undefined);
    expect(s.gates.approvals).toEqual([]);
    expect(s.gates.unused).toEqual([
      { gate: 'api-prod', kind: 'promote', why: 'the plan has no canary wave to promote from' },
    ]);
  });

  it('returns each target to what the state recorded before the rollout under way touched it', () => {
    const underWay = {
      phase: 'Paused',
      toVersion: '5.0.0',
      lastKnownGood: '4.1.0',
      targets: {
        'api-1': { phase: 'Succeeded', from: '4.1.0', version: '5.0.0' },
        'api-2': { phase: 'Pending', from: '4.1.0', version: '4.1.0' },
        'api-3': { phase: 'Pending', from: '4.0.9', version: '4.0.9' },
      },
    };
    const s = planSafeguards(spec, plan, underWay);
    expect(s.rollback.tiers).toEqual([
      {
        tier: 'all',
        groups: [
          { version: '4.1.0', source: 'recorded', targets: ['api-1', 'api-2'] },
          { version: '4.0.9', source: 'recorded', targets: ['api-3'] },
          { version: '4.1.0', source: 'lastKnownGood', targets: ['api-4'] },
        ],
      },
    ]);
    expect(s.rollback).toMatchObject({
      command: { to: '4.1.0', eachToPrevious: false },
      waves: 2,
      waveSize: '50%',
      largestWave: 2,
    });
    // A new rollout (the spec moved on): what each target was last recorded running.
    const next = planSafeguards({ ...spec, version: '5.1.0' }, { ...plan, version: '5.1.0' }, underWay);
    expect(next.rollback.tiers[0]!.groups[0]).toEqual({ version: '5.0.0', source: 'observed', targets: ['api-1'] });
    expect(describeSafeguards(s)).toContain(
      'all: 4.1.0 on 2 targets (api-1, api-2) — recorded before this rollout touched them',
    );
    // The configuration restored with it is named once, in the same heading (config rollouts only).
    expect(describeSafeguards(s)).toContain('Rollback would restore (last known good 4.1.0):');
    const withConfig = { ...spec, config: { revision: 'c0ffee123456' } } as unknown as typeof spec;
    const c = planSafeguards(withConfig, plan, { ...underWay, lastKnownGoodConfig: 'a1b2c3d4e5f6' });
    expect(c.rollback.lastKnownGoodConfig).toBe('a1b2c3d4e5f6');
    expect(describeSafeguards(c)).toContain('Rollback would restore (last known good 4.1.0, config a1b2c3d4e5f6):');
    expect(
      planSafeguards(spec, plan, { ...underWay, lastKnownGoodConfig: 'a1b2c3d4e5f6' }).rollback,
    ).not.toHaveProperty('lastKnownGoodConfig');
  });
});
