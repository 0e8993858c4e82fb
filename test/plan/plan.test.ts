import { describe, expect, it } from 'vitest';
import { excludeFromPlan, planRollout } from '../../src/plan/plan.js';
import { PlanWarnings } from '../../src/plan/warnings.js';
import type { RolloutPlan } from '../../src/plan/types.js';
import { fleet, shuffled, size, spec, tier } from './helpers.js';

const shape = (plan: RolloutPlan) => plan.waves.map((w) => `${w.id}:${w.targets.length}`);

describe('planRollout: ordinary tiers', () => {
  it('20 targets with auto sizes: canary 1, then waves of 5, 5, 5, 4 (seed 000 table, n < 50)', () => {
    const plan = planRollout(spec([tier('edge', {})]), fleet('edge', 20));
    expect(shape(plan)).toEqual(['edge/canary:1', 'edge/1:5', 'edge/2:5', 'edge/3:5', 'edge/4:4']);
    expect(plan.waves.map((w) => w.kind)).toEqual(['canary', 'wave', 'wave', 'wave', 'wave']);
    expect(plan.waves.map((w) => w.index)).toEqual([0, 1, 2, 3, 4]);
    expect(plan.waves[0]!.targets).toEqual(['edge-1']);
    expect(plan.waves[1]!.targets).toEqual(['edge-2', 'edge-3', 'edge-4', 'edge-5', 'edge-6']);
    expect(plan.waves[4]!.targets).toEqual(['edge-17', 'edge-18', 'edge-19', 'edge-20']);
    expect(plan.tiers).toEqual([
      {
        name: 'edge',
        targets: fleet('edge', 20).map((t) => t.id),
        quorum: false,
        canarySize: 1,
        waveSize: 5,
        maxUnavailable: 1,
        budget: 1,
      },
    ]);
    expect(plan.warnings).toEqual([]);
    expect(plan).toMatchObject({ rollout: 'test', component: 'agent', version: '1.2.0' });
  });

  it('percent waves: 20% of 50 targets are waves of 10 (seed 001)', () => {
    const plan = planRollout(spec([tier('edge', {}, { canary: size(0), waves: size('20%') })]), fleet('edge', 50));
    expect(shape(plan)).toEqual(['edge/1:10', 'edge/2:10', 'edge/3:10', 'edge/4:10', 'edge/5:10']);
  });

  it('canary auto for 50 targets is 2 (seed 000, 50 ≤ n ≤ 500), then 20% waves of the tier', () => {
    const plan = planRollout(spec([tier('edge', {}, { waves: size('20%') })]), fleet('edge', 50));
    expect(shape(plan)).toEqual(['edge/canary:2', 'edge/1:10', 'edge/2:10', 'edge/3:10', 'edge/4:10', 'edge/5:8']);
  });

  it('a canary percent never rounds down to no canary', () => {
    const plan = planRollout(spec([tier('edge', {}, { canary: size('1%'), waves: size(10) })]), fleet('edge', 30));
    expect(plan.waves[0]).toMatchObject({ id: 'edge/canary', targets: ['edge-1'] });
  });

  it('a canary count of 0 means no canary wave', () => {
    const plan = planRollout(spec([tier('edge', {}, { canary: size(0), waves: size(4) })]), fleet('edge', 10));
    expect(shape(plan)).toEqual(['edge/1:4', 'edge/2:4', 'edge/3:2']);
    expect(plan.tiers[0]!.canarySize).toBe(0);
  });

  it('maxUnavailable caps each wave at min(tier maxUnavailable, wave size)', () => {
    const plan = planRollout(
      spec([tier('edge', {}, { canary: size(2), waves: size(10), maxUnavailable: size('10%') })]),
      fleet('edge', 47),
    );
    // 10% of 47 → ceil(4.7) = 5
    expect(plan.tiers[0]!.maxUnavailable).toBe(5);
    expect(plan.waves.map((w) => [w.targets.length, w.maxUnavailable])).toEqual([
      [2, 2],
      [10, 5],
      [10, 5],
      [10, 5],
      [10, 5],
      [5, 5],
    ]);
  });

  it('every wave, canary included, carries the tier observation window', () => {
    const plan = planRollout(
      spec([tier('a', { role: 'a' }, { observeMs: 1000 }), tier('b', { role: 'b' }, { observeMs: 2000 })]),
      [...fleet('a', 7, { role: 'a' }), ...fleet('b', 3, { role: 'b' })],
    );
    expect(plan.waves.map((w) => [w.id, w.observeMs])).toEqual([
      ['a/canary', 1000],
      ['a/1', 1000],
      ['a/2', 1000],
      ['b/canary', 2000],
      ['b/1', 2000],
    ]);
  });

  it('orders targets naturally by id (edge-2 before edge-10)', () => {
    const targets = ['edge-10', 'edge-2', 'edge-1', 'edge-9'].map((id) => ({ id, address: id, labels: {} }));
    const plan = planRollout(spec([tier('edge', {}, { canary: size(0), waves: size(10) })]), targets);
    expect(plan.waves[0]!.targets).toEqual(['edge-1', 'edge-2', 'edge-9', 'edge-10']);
  });
});

describe('planRollout: tiers', () => {
  const tiers = [
    tier('agents', { role: 'agent' }),
    tier('schedulers', { role: 'scheduler' }),
    tier('api', { role: 'api' }),
  ];
  const targets = [
    ...fleet('api', 2, { role: 'api' }),
    ...fleet('sched', 2, { role: 'scheduler' }),
    ...fleet('node', 3, { role: 'agent' }),
  ];

  it('keeps the spec order of tiers (leaf to core, seed 000), each tier finishing before the next', () => {
    const plan = planRollout(spec(tiers), shuffled(targets, 7));
    expect(plan.tiers.map((t) => t.name)).toEqual(['agents', 'schedulers', 'api']);
    expect(plan.waves.map((w) => w.tier)).toEqual(['agents', 'agents', 'schedulers', 'schedulers', 'api', 'api']);
  });

  it('is identical whatever order the targets come in', () => {
    const plan = planRollout(spec(tiers), targets);
    for (const seed of [1, 2, 3, 4, 5]) expect(planRollout(spec(tiers), shuffled(targets, seed))).toEqual(plan);
  });

  it('warns about targets no tier selects and leaves them out', () => {
    const plan = planRollout(spec(tiers), [...targets, ...fleet('lab', 2, { role: 'lab' })]);
    expect(plan.warnings).toEqual([PlanWarnings.TargetInNoTier(['lab-1', 'lab-2'])]);
    expect(plan.waves.flatMap((w) => w.targets)).not.toContain('lab-1');
  });

  it('puts a target matched by several tiers in the first and says so', () => {
    const plan = planRollout(spec([tier('zone-a', { zone: 'a' }), tier('edge', { role: 'edge' }), tier('rest', {})]), [
      { id: 'e1', address: 'e1', labels: { role: 'edge', zone: 'a' } },
      { id: 'e2', address: 'e2', labels: { role: 'edge', zone: 'b' } },
      { id: 'x1', address: 'x1', labels: {} },
    ]);
    expect(plan.tiers.map((t) => [t.name, t.targets])).toEqual([
      ['zone-a', ['e1']],
      ['edge', ['e2']],
      ['rest', ['x1']],
    ]);
    expect(plan.warnings).toEqual([
      PlanWarnings.TargetInSeveralTiers(['zone-a', 'edge', 'rest'], ['e1']),
      PlanWarnings.TargetInSeveralTiers(['edge', 'rest'], ['e2']),
    ]);
  });

  it('warns about an empty tier, which gets no waves', () => {
    const plan = planRollout(
      spec([tier('edge', { role: 'edge' }), tier('ghost', { role: 'ghost' })]),
      fleet('e', 2, { role: 'edge' }),
    );
    expect(plan.warnings).toEqual([PlanWarnings.EmptyTier('ghost')]);
    expect(plan.tiers[1]).toMatchObject({ name: 'ghost', targets: [], canarySize: 0, waveSize: 0, maxUnavailable: 1 });
    expect(plan.waves.every((w) => w.tier === 'edge')).toBe(true);
  });

  it('plans a repeated target id once and warns', () => {
    const plan = planRollout(spec([tier('all', {})]), [...fleet('n', 3), { id: 'n-2', address: 'other', labels: {} }]);
    expect(plan.waves.flatMap((w) => w.targets)).toEqual(['n-1', 'n-2', 'n-3']);
    expect(plan.warnings).toEqual([PlanWarnings.DuplicateTargetId(['n-2'])]);
  });

  it('warns when two tiers share a name', () => {
    const plan = planRollout(spec([tier('x', { a: '1' }), tier('x', { a: '2' })]), [
      { id: 't1', address: 't1', labels: { a: '1' } },
      { id: 't2', address: 't2', labels: { a: '2' } },
    ]);
    expect(plan.warnings).toContain(PlanWarnings.DuplicateTierName('x'));
  });

  it('plans nothing, with one warning, when the spec has no tiers', () => {
    const plan = planRollout(spec([]), fleet('n', 2));
    expect(plan.waves).toEqual([]);
    expect(plan.estimatedDurationMs).toBe(0);
    expect(plan.warnings).toEqual([PlanWarnings.TargetInNoTier(['n-1', 'n-2'])]);
  });
});

describe('planRollout: quorum tiers (seed 000 quorum procedure)', () => {
  const quorum = (n: number, leaderIndex: number | undefined, labelValue = 'true') =>
    fleet('q', n, { role: 'quorum' }).map((t, i) =>
      i === leaderIndex ? { ...t, labels: { ...t.labels, leader: labelValue } } : t,
    );
  const quorumTier = (overrides = {}) => tier('control', { role: 'quorum' }, { quorum: true, ...overrides });

  it('3 members: follower A, follower B, then the leader — never more than 1 down', () => {
    const plan = planRollout(spec([quorumTier()]), quorum(3, 0));
    expect(plan.waves.map((w) => [w.id, w.kind, w.targets, w.maxUnavailable])).toEqual([
      ['control/canary', 'canary', ['q-2'], 1],
      ['control/1', 'wave', ['q-3'], 1],
      ['control/leader', 'leader', ['q-1'], 1],
    ]);
    expect(plan.tiers[0]).toMatchObject({ quorum: true, leader: 'q-1', canarySize: 1, waveSize: 1, maxUnavailable: 1 });
    expect(plan.warnings).toEqual([]);
  });

  it('5 members: followers A+B, then C+D, then the leader — never more than 2 down', () => {
    const plan = planRollout(spec([quorumTier({ maxUnavailable: size('auto') })]), quorum(5, 2));
    expect(plan.waves.map((w) => [w.id, w.kind, w.targets, w.maxUnavailable])).toEqual([
      ['control/canary', 'canary', ['q-1', 'q-2'], 2],
      ['control/1', 'wave', ['q-4', 'q-5'], 2],
      ['control/leader', 'leader', ['q-3'], 1],
    ]);
  });

  it('caps written sizes and maxUnavailable at floor((n-1)/2)', () => {
    const plan = planRollout(
      spec([quorumTier({ canary: size(3), waves: size(10), maxUnavailable: size(9) })]),
      quorum(5, 4),
    );
    expect(plan.waves.map((w) => [w.targets.length, w.maxUnavailable])).toEqual([
      [2, 2],
      [2, 2],
      [1, 1],
    ]);
    expect(plan.tiers[0]).toMatchObject({ canarySize: 2, waveSize: 2, maxUnavailable: 2 });
  });

  it('keeps the tier maxUnavailable when it is lower than the quorum limit', () => {
    const plan = planRollout(spec([quorumTier()]), quorum(7, 0));
    expect(plan.waves.map((w) => [w.targets.length, w.maxUnavailable])).toEqual([
      [3, 1],
      [3, 1],
      [1, 1],
    ]);
  });

  it('finds the leader label in any letter case and honours leaderLabel', () => {
    const targets = fleet('q', 3, { role: 'quorum' }).map((t, i) =>
      i === 1 ? { ...t, labels: { ...t.labels, 'raft-leader': 'TRUE' } } : t,
    );
    const plan = planRollout(spec([quorumTier({ leaderLabel: 'raft-leader' })]), targets);
    expect(plan.waves.at(-1)).toMatchObject({ id: 'control/leader', targets: ['q-2'] });
  });

  it('warns when no member is labelled leader and plans followers only', () => {
    const plan = planRollout(spec([quorumTier()]), quorum(3, undefined));
    expect(plan.warnings).toEqual([PlanWarnings.NoQuorumLeader('control', 'leader')]);
    expect(plan.tiers[0]!.leader).toBeUndefined();
    expect(plan.waves.map((w) => w.targets)).toEqual([['q-1'], ['q-2'], ['q-3']]);
  });

  it('treats the first of several labelled leaders as the leader and warns', () => {
    const targets = quorum(5, 1).map((t) => (t.id === 'q-4' ? { ...t, labels: { ...t.labels, leader: 'true' } } : t));
    const plan = planRollout(spec([quorumTier()]), targets);
    expect(plan.tiers[0]!.leader).toBe('q-2');
    expect(plan.warnings).toEqual([PlanWarnings.SeveralQuorumLeaders('control', 'leader', ['q-2', 'q-4'])]);
  });

  it('warns that a quorum of 2 cannot lose a member and still goes one at a time, leader last', () => {
    const plan = planRollout(spec([quorumTier()]), quorum(2, 0));
    expect(plan.warnings).toEqual([PlanWarnings.SmallQuorum('control', 2)]);
    expect(plan.waves.map((w) => [w.id, w.targets])).toEqual([
      ['control/canary', ['q-2']],
      ['control/leader', ['q-1']],
    ]);
  });

  it('a single-member quorum is just its leader wave', () => {
    const plan = planRollout(spec([quorumTier()]), quorum(1, 0));
    expect(plan.waves.map((w) => w.id)).toEqual(['control/leader']);
    expect(plan.warnings).toEqual([PlanWarnings.SmallQuorum('control', 1)]);
  });

  it('with canary 0 the followers start at <tier>/1', () => {
    const plan = planRollout(spec([quorumTier({ canary: size(0) })]), quorum(5, 0));
    expect(plan.waves.map((w) => w.id)).toEqual(['control/1', 'control/2', 'control/leader']);
  });
});

describe('planRollout: estimated duration', () => {
  it('sums ceil(targets / maxUnavailable) × expected target time + observation window over waves', () => {
    const plan = planRollout(spec([tier('edge', {}, { maxUnavailable: size(2) })]), fleet('edge', 20));
    // canary 1: 1 × 60 s + 15 min; three waves of 5: 3 × 60 s + 15 min each; one of 4: 2 × 60 s + 15 min
    const expected = 60_000 + 900_000 + 3 * (180_000 + 900_000) + (120_000 + 900_000);
    expect(plan.estimatedDurationMs).toBe(expected);
  });

  it('uses each tier’s own expected target time', () => {
    const plan = planRollout(
      spec([
        tier('a', { r: 'a' }, { canary: size(0), waves: size(4), expectedTargetMs: 1000, observeMs: 0 }),
        tier('b', { r: 'b' }, { canary: size(0), waves: size(4), expectedTargetMs: 10, observeMs: 5 }),
      ]),
      [...fleet('a', 4, { r: 'a' }), ...fleet('b', 4, { r: 'b' })],
    );
    expect(plan.estimatedDurationMs).toBe(4 * 1000 + 0 + (4 * 10 + 5));
  });
});

describe('planRollout: budgets (most members out of service at once, for any reason)', () => {
  it('is maxUnavailable, or n − minAvailable, and a quorum never more than floor((n-1)/2)', () => {
    const byMax = planRollout(spec([tier('edge', {}, { maxUnavailable: size(3) })]), fleet('edge', 10));
    expect(byMax.tiers[0]!.budget).toBe(3);
    const byMin = planRollout(spec([tier('edge', {}, { minAvailable: size('80%') })]), fleet('edge', 10));
    expect(byMin.tiers[0]!.budget).toBe(2);
    expect(byMin.waves.every((w) => w.maxUnavailable <= 2)).toBe(true);
    const none = planRollout(spec([tier('edge', {}, { minAvailable: size(10) })]), fleet('edge', 10));
    expect(none.tiers[0]!.budget).toBe(0);
    const quorum = planRollout(
      spec([tier('db', {}, { quorum: true, minAvailable: size(1) })]),
      fleet('db', 5, { leader: 'false' }),
    );
    expect(quorum.tiers[0]!.budget).toBe(2);
  });

  it('excluded targets leave the waves but stay members of their tier', () => {
    const plan = excludeFromPlan(
      planRollout(spec([tier('edge', {}, { canary: size(1), waves: size(2) })]), fleet('edge', 5)),
      ['edge-1', 'edge-3'],
    );
    expect(plan.waves.flatMap((w) => w.targets)).toEqual(['edge-2', 'edge-4', 'edge-5']);
    expect(plan.waves.map((w) => w.index)).toEqual(plan.waves.map((_, i) => i));
    expect(plan.tiers[0]!.targets).toHaveLength(5);
    expect(plan.tiers[0]!.excluded).toEqual(['edge-1', 'edge-3']);
  });
});
