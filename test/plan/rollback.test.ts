import { describe, expect, it } from 'vitest';
import { planRollback, planRollout } from '../../src/plan/plan.js';
import { fleet, size, spec, tier } from './helpers.js';

const ids = (prefix: string, n: number) => fleet(prefix, n).map((t) => t.id);

describe('planRollback', () => {
  const edgeSpec = spec([tier('edge', {})]);
  const edgePlan = planRollout(edgeSpec, fleet('e', 10));

  it('rolls back half the targets per wave by default (seed 001), keeping the given order', () => {
    const order = ids('e', 10).reverse();
    const waves = planRollback(edgeSpec, edgePlan, order);
    expect(waves).toEqual([
      { id: 'rollback/1', targets: ['e-10', 'e-9', 'e-8', 'e-7', 'e-6'], maxUnavailable: 5 },
      { id: 'rollback/2', targets: ['e-5', 'e-4', 'e-3', 'e-2', 'e-1'], maxUnavailable: 5 },
    ]);
  });

  it('sizes waves against the targets being rolled back, not the fleet', () => {
    const waves = planRollback(edgeSpec, edgePlan, ['e-3', 'e-2', 'e-1']);
    expect(waves.map((w) => w.targets)).toEqual([['e-3', 'e-2'], ['e-1']]);
  });

  it("takes maxUnavailable from rollback.maxUnavailable, never above the wave's size", () => {
    const s = spec([tier('edge', {})], { rollback: { waves: size(4), maxUnavailable: size(3) } });
    const waves = planRollback(s, edgePlan, ids('e', 10));
    expect(waves.map((w) => [w.targets.length, w.maxUnavailable])).toEqual([
      [4, 3],
      [4, 3],
      [2, 2],
    ]);
  });

  it('rolls a quorum back at most floor((n-1)/2) members at a time, the leader alone', () => {
    const s = spec([tier('edge', { role: 'edge' }), tier('control', { role: 'q' }, { quorum: true })], {
      rollback: { waves: size('100%') },
    });
    const quorum = fleet('q', 5, { role: 'q' }).map((t) =>
      t.id === 'q-3' ? { ...t, labels: { ...t.labels, leader: 'true' } } : t,
    );
    const plan = planRollout(s, [...fleet('e', 4, { role: 'edge' }), ...quorum]);
    // newest wave first: leader, followers, then the edge tier
    const order = [...plan.waves].reverse().flatMap((w) => w.targets);
    expect(planRollback(s, plan, order)).toEqual([
      { id: 'rollback/1', targets: ['q-3'], maxUnavailable: 1 },
      { id: 'rollback/2', targets: ['q-4', 'q-5'], maxUnavailable: 2 },
      { id: 'rollback/3', targets: ['q-1', 'q-2'], maxUnavailable: 2 },
      { id: 'rollback/4', targets: ['e-2', 'e-3', 'e-4', 'e-1'], maxUnavailable: 4 },
    ]);
  });

  it('never mixes tiers in a wave', () => {
    const s = spec([tier('a', { r: 'a' }), tier('b', { r: 'b' })], { rollback: { waves: size(10) } });
    const plan = planRollout(s, [...fleet('a', 3, { r: 'a' }), ...fleet('b', 3, { r: 'b' })]);
    const waves = planRollback(s, plan, ['b-3', 'b-2', 'a-3', 'a-2', 'a-1']);
    expect(waves.map((w) => w.targets)).toEqual([
      ['b-3', 'b-2'],
      ['a-3', 'a-2', 'a-1'],
    ]);
  });

  it('still rolls back ids the plan no longer knows, and drops repeats', () => {
    const waves = planRollback(edgeSpec, edgePlan, ['gone-1', 'gone-1', 'gone-2', 'e-1']);
    // 3 distinct targets → 50% = waves of 2; the unknown ones form their own group
    expect(waves).toEqual([
      { id: 'rollback/1', targets: ['gone-1', 'gone-2'], maxUnavailable: 2 },
      { id: 'rollback/2', targets: ['e-1'], maxUnavailable: 1 },
    ]);
  });

  it('returns no wave for no target', () => {
    expect(planRollback(edgeSpec, edgePlan, [])).toEqual([]);
  });
});
