/**
 * The pure parts of `replace` and `blueGreen` (src/plan/replace.ts): budgets as a Kubernetes
 * Deployment's maxSurge (percent rounded up) and maxUnavailable (0 allowed), the blue-green pool
 * wave, and the inventory that replacements leave behind.
 */
import { describe, expect, it } from 'vitest';
import { describePlan, planRollout } from '../../src/plan/plan.js';
import { followReplacements, recordReplacement, waveConcurrency } from '../../src/plan/replace.js';
import { createEmptyState, type RolloutState } from '../../src/state/types.js';
import { fleet, size, spec, tier } from './helpers.js';

describe('planning a replace tier', () => {
  it('resolves maxSurge like Kubernetes (a percent rounded up) and keeps maxUnavailable 0', () => {
    const plan = planRollout(
      spec([
        tier(
          'web',
          {},
          { type: 'replace', maxSurge: size('25%'), maxUnavailable: size(0), canary: size(1), waves: size(4) },
        ),
      ]),
      fleet('web', 10),
    );
    expect(plan.tiers[0]).toMatchObject({ strategy: 'replace', maxSurge: 3, budget: 0, maxUnavailable: 0 });
    expect(plan.waves.map((w) => [w.id, w.maxSurge, w.maxUnavailable])).toEqual([
      ['web/canary', 1, 0],
      ['web/1', 3, 0],
      ['web/2', 3, 0],
      ['web/3', 1, 0],
    ]);
    // A wave runs maxSurge + maxUnavailable replacements at once.
    expect(plan.waves.map((w) => waveConcurrency(w))).toEqual([1, 3, 3, 1]);
  });

  it('defaults maxSurge to 25% (1 for 4 targets) and adds the budget to the concurrency', () => {
    const plan = planRollout(
      spec([tier('web', {}, { type: 'replace', maxUnavailable: size(1), canary: size(0), waves: size(4) })]),
      fleet('web', 4),
    );
    expect(plan.tiers[0]).toMatchObject({ maxSurge: 1, budget: 1 });
    expect(waveConcurrency(plan.waves[0]!)).toBe(2);
  });

  it('never plans a replacement that could not move (both 0: one surge slot)', () => {
    const plan = planRollout(
      spec([
        tier(
          'web',
          {},
          { type: 'replace', maxSurge: size(0), maxUnavailable: size(0), canary: size(0), waves: size(2) },
        ),
      ]),
      fleet('web', 2),
    );
    expect(plan.tiers[0]?.maxSurge).toBe(1);
  });

  it('plans a blue-green tier as one pool wave holding every member', () => {
    const plan = planRollout(
      spec([tier('api', {}, { type: 'blueGreen', canary: size(1), waves: size(1) })]),
      fleet('api', 3),
    );
    expect(plan.waves.map((w) => [w.id, w.targets, w.maxSurge, w.maxUnavailable])).toEqual([
      ['api/pool', ['api-1', 'api-2', 'api-3'], 3, 0],
    ]);
  });

  it('leaves in-place tiers as they were', () => {
    const plan = planRollout(spec([tier('web', {}, { canary: size(1), waves: size(2) })]), fleet('web', 3));
    expect(plan.tiers[0]?.strategy).toBeUndefined();
    expect(plan.waves.every((w) => w.maxSurge === undefined)).toBe(true);
  });
});

describe('the inventory replacements leave behind', () => {
  const listed = fleet('web', 3, { role: 'web' });
  const state = (phase: RolloutState['phase']): RolloutState => {
    const s = createEmptyState('web');
    s.phase = phase;
    s.replacements = {};
    recordReplacement(
      s.replacements,
      'web-1',
      { id: 'web-1.g2', address: '127.0.0.1:7001', labels: { role: 'web' } },
      't1',
    );
    s.targets['web-1'] = { phase: 'Succeeded', retired: true, replacedBy: 'web-1.g2', address: 'web-1.test:8080' };
    s.targets['web-1.g2'] = {
      phase: 'Succeeded',
      replaces: 'web-1',
      address: '127.0.0.1:7001',
      labels: { role: 'web' },
    };
    return s;
  };

  it('swaps a listed id for the target in its place once the rollout is over', () => {
    const { targets, swapped } = followReplacements(listed, state('Healthy'));
    expect(targets.map((t) => [t.id, t.address])).toEqual([
      ['web-1.g2', '127.0.0.1:7001'],
      ['web-2', 'web-2.test:8080'],
      ['web-3', 'web-3.test:8080'],
    ]);
    expect(swapped).toEqual({ 'web-1': 'web-1.g2' });
  });

  it('keeps the plan of a rollout in flight: its new targets are left out, its retired slots kept', () => {
    // A discovery that lists the live machines: web-1 is gone, web-1.g2 is there.
    const discovered = [...listed.slice(1), { id: 'web-1.g2', address: '127.0.0.1:7001', labels: { role: 'web' } }];
    const { targets } = followReplacements(discovered, state('Progressing'));
    expect(targets.map((t) => t.id).sort()).toEqual(['web-1', 'web-2', 'web-3']);
  });

  it('collapses chains: one entry per inventory id, always the newest target', () => {
    const r: NonNullable<RolloutState['replacements']> = {};
    recordReplacement(r, 'web-1', { id: 'web-1.g2', address: 'a2', labels: {} }, 't1');
    recordReplacement(r, 'web-1.g2', { id: 'web-1.g3', address: 'a3', labels: {} }, 't2');
    expect(r).toEqual({ 'web-1': { by: 'web-1.g3', address: 'a3', at: 't2' } });
  });

  it('does not list a replacement twice when the inventory lists it too', () => {
    const both = [...listed, { id: 'web-1.g2', address: '127.0.0.1:7001', labels: { role: 'web' } }];
    expect(
      followReplacements(both, state('Healthy'))
        .targets.map((t) => t.id)
        .sort(),
    ).toEqual(['web-1.g2', 'web-2', 'web-3']);
  });
});

describe('the plan text of replace and blue-green tiers', () => {
  it('says how each tier gets the version', () => {
    const text = describePlan(
      planRollout(
        spec([
          tier(
            'web',
            { role: 'web' },
            { type: 'replace', maxSurge: size(1), maxUnavailable: size(0), canary: size(0), waves: size(2) },
          ),
          tier('api', { role: 'api' }, { type: 'blueGreen' }),
        ]),
        [...fleet('web', 2, { role: 'web' }), ...fleet('api', 2, { role: 'api' })],
      ),
    );
    expect(text).toContain(
      'Tier 1/2 web: 2 targets, no canary, waves of 2, maxUnavailable 0; replaced (provision, observe, in service, retire): maxSurge 1',
    );
    expect(text).toContain(
      'Tier 2/2 api: 2 targets, blue-green: a new pool of 2 provisioned and observed, then traffic switched',
    );
    expect(text).toContain('api/pool');
  });
});
