import { describe, expect, it } from 'vitest';
import { abbreviateIds, formatDurationMs } from '../../src/plan/describe.js';
import { describePlan, planRollout } from '../../src/plan/plan.js';
import { PlanWarnings } from '../../src/plan/warnings.js';
import { fleet, shuffled, size, spec, tier } from './helpers.js';

describe('formatDurationMs', () => {
  it.each([
    [0, '0s'],
    [250, '250ms'],
    [45_000, '45s'],
    [150_000, '2m 30s'],
    [900_000, '15m'],
    [3_600_000, '1h'],
    [3_900_000, '1h 5m'],
    [3_929_000, '1h 5m'],
    [3_599_600, '1h'],
    [90_000_000, '1d 1h'],
    [-5, '0s'],
  ])('%i ms → %s', (ms, text) => expect(formatDurationMs(ms)).toBe(text));
});

describe('abbreviateIds', () => {
  it('lists up to six ids in full', () => {
    expect(abbreviateIds(['a', 'b', 'c', 'd', 'e', 'f'])).toBe('a, b, c, d, e, f');
  });
  it('keeps the first three and last two of longer lists', () => {
    expect(abbreviateIds(fleet('edge', 25).map((t) => t.id))).toBe('edge-1, edge-2, edge-3, …, edge-24, edge-25');
  });
});

describe('describePlan', () => {
  const demoSpec = spec(
    [
      tier('edge', { role: 'edge' }, { maxUnavailable: size(2) }),
      tier('control', { role: 'quorum' }, { quorum: true, maxUnavailable: size('auto'), observeMs: 5 * 60_000 }),
    ],
    { name: 'edge-nginx', component: 'nginx', version: '1.26.0' },
  );
  const targets = [
    ...fleet('edge', 20, { role: 'edge' }),
    ...fleet('ctl', 5, { role: 'quorum' }).map((t) =>
      t.id === 'ctl-3' ? { ...t, labels: { ...t.labels, leader: 'true' } } : t,
    ),
    { id: 'lab-1', address: 'lab-1:80', labels: {} },
  ];

  it('renders tiers, canary, waves, maxUnavailable, windows, estimate and warnings', () => {
    // estimate: edge 60s+15m, 3 × (3 × 60s + 15m), 2 × 60s + 15m = 87m; control 3 × (60s + 5m) = 18m → 1h 45m
    expect(describePlan(planRollout(demoSpec, targets))).toBe(
      [
        'Rollout edge-nginx: nginx → 1.26.0',
        '2 tiers, 8 waves, 25 targets; estimated duration 1h 45m',
        '',
        'Tier 1/2 edge: 20 targets, canary 1, waves of 5, maxUnavailable 2',
        '  #0  edge/canary     canary  1 target   maxUnavailable 1  observe 15m  edge-1',
        '  #1  edge/1          wave    5 targets  maxUnavailable 2  observe 15m  edge-2, edge-3, edge-4, edge-5, edge-6',
        '  #2  edge/2          wave    5 targets  maxUnavailable 2  observe 15m  edge-7, edge-8, edge-9, edge-10, edge-11',
        '  #3  edge/3          wave    5 targets  maxUnavailable 2  observe 15m  edge-12, edge-13, edge-14, edge-15, edge-16',
        '  #4  edge/4          wave    4 targets  maxUnavailable 2  observe 15m  edge-17, edge-18, edge-19, edge-20',
        '',
        'Tier 2/2 control: quorum of 5, canary 2, waves of 2, maxUnavailable 2; leader ctl-3 last',
        '  #5  control/canary  canary  2 targets  maxUnavailable 2  observe 5m   ctl-1, ctl-2',
        '  #6  control/1       wave    2 targets  maxUnavailable 2  observe 5m   ctl-4, ctl-5',
        '  #7  control/leader  leader  1 target   maxUnavailable 1  observe 5m   ctl-3',
        '',
        'Warnings:',
        `  - ${PlanWarnings.TargetInNoTier(['lab-1'])}`,
      ].join('\n'),
    );
  });

  it('abbreviates long target lists and is the same for any input order', () => {
    const big = spec([tier('edge', {}, { waves: size(25) })]);
    const text = describePlan(planRollout(big, fleet('n', 60)));
    expect(text).toContain('n-3, n-4, n-5, …, n-26, n-27');
    expect(describePlan(planRollout(big, shuffled(fleet('n', 60), 3)))).toBe(text);
  });

  it('says when there is nothing to upgrade', () => {
    const text = describePlan(planRollout(spec([tier('edge', { role: 'edge' }, { canary: size(0) })]), []));
    expect(text).toContain('Nothing to upgrade');
    expect(text).toContain('Tier 1/1 edge: no targets');
    expect(text).toContain(PlanWarnings.EmptyTier('edge'));
  });

  it('says "no canary" for a tier planned without one', () => {
    expect(describePlan(planRollout(spec([tier('edge', {}, { canary: size(0) })]), fleet('e', 3)))).toContain(
      '3 targets, no canary, waves of 3',
    );
  });
});
