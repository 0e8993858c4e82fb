/**
 * Cross-field rules on plain objects (no YAML): given a written spec, when the
 * rules run, then these problems come back at these paths.
 */
import { describe, expect, it } from 'vitest';
import { normalizeSpec } from '../../src/spec/normalize.js';
import { checkSpecRules, MAX_TARGET_WARNINGS } from '../../src/spec/rules.js';
import { matchesSelector } from '../../src/spec/selector.js';
import type { WrittenRolloutSpec } from '../../src/spec/schema.js';
import type { SpecProblem } from '../../src/spec/problem.js';

type Written = WrittenRolloutSpec;

function given(overrides: Partial<Written> = {}): Written {
  return {
    apiVersion: 'fleetgate/v1alpha1',
    kind: 'Rollout',
    name: 'r',
    component: 'agent',
    version: '2.0.0',
    inventory: {
      targets: [
        { id: 'a', address: '10.0.0.1', labels: { role: 'edge' } },
        { id: 'b', address: '10.0.0.2', labels: { role: 'edge' } },
      ],
    },
    steps: {
      version: { run: ['agent', '--version'] },
      upgrade: { run: ['agent-update', '{{version}}'] },
      verify: { run: ['agent', 'check'] },
    },
    ...overrides,
  };
}

function problems(written: Written): SpecProblem[] {
  return checkSpecRules(normalizeSpec(written, 'r.yaml'), written);
}

function at(list: SpecProblem[]): string[] {
  return list.map((p) => `${p.severity} ${p.path.join('.')}: ${p.message}`);
}

describe('checkSpecRules', () => {
  it('finds nothing wrong in a plain spec', () => {
    expect(problems(given())).toEqual([]);
  });

  it('refuses two tiers with one name', () => {
    const list = problems(
      given({
        tiers: [
          { name: 'edge', select: { role: 'edge' } },
          { name: 'edge', select: { role: 'core' } },
        ],
      }),
    );
    expect(at(list)).toContain('error tiers.1.name: tier name "edge" is already used by tiers[0]');
  });

  it('refuses two targets with one id, and warns about one address twice', () => {
    const list = problems(
      given({
        inventory: {
          targets: [
            { id: 'a', address: 'h1' },
            { id: 'a', address: 'h2' },
            { id: 'c', address: 'h1' },
          ],
        },
      }),
    );
    expect(at(list)).toEqual([
      'error inventory.targets.1.id: target id "a" is already used by inventory.targets[0]',
      'warning inventory.targets.2.address: address "h1" is also the address of inventory.targets[0]: the same machine would be upgraded twice',
    ]);
  });

  it('warns about a target in no tier and a tier with no target', () => {
    const list = problems(given({ tiers: [{ name: 'core', select: { role: 'core' } }] }));
    expect(at(list)).toEqual([
      'warning inventory.targets.0.id: target "a" is in no tier, so this rollout never upgrades it',
      'warning inventory.targets.1.id: target "b" is in no tier, so this rollout never upgrades it',
      'warning tiers.0.select: tier "core" selects no target',
    ]);
  });

  it('sums up unmatched targets beyond the first few', () => {
    const targets = Array.from({ length: MAX_TARGET_WARNINGS + 3 }, (_, i) => ({ id: `t${i}`, address: `h${i}` }));
    const list = problems(given({ inventory: { targets }, tiers: [{ name: 'none', select: { role: 'x' } }] }));
    const unmatched = list.filter((p) => p.message.includes('in no tier'));
    expect(unmatched).toHaveLength(MAX_TARGET_WARNINGS + 1);
    expect(unmatched.at(-1)?.message).toBe('3 more targets in no tier: t10, t11, t12');
  });

  it('refuses a target selected by two tiers, once per pair of tiers', () => {
    const list = problems(given({ tiers: [{ name: 'edge', select: { role: 'edge' } }, { name: 'rest' }] }));
    expect(at(list)).toEqual([
      'error tiers.1: selects 2 targets that tier "edge" also selects (a, b): an empty select matches every target',
    ]);
  });

  it('refuses a second quorum leader but counts only "true" as leader', () => {
    const targets = [
      { id: 'q1', address: 'h1', labels: { role: 'q', leader: 'true' } },
      { id: 'q2', address: 'h2', labels: { role: 'q', leader: true } },
      { id: 'q3', address: 'h3', labels: { role: 'q', leader: 'false' } },
    ];
    const list = problems(
      given({ inventory: { targets }, tiers: [{ name: 'q', select: { role: 'q' }, strategy: { quorum: true } }] }),
    );
    expect(at(list)).toEqual([
      'error inventory.targets.1.labels.leader: second leader in quorum tier "q": target "q1" already has leader: "true"',
    ]);
  });

  it('reads the leader label in any letter case, as the planner does', () => {
    const targets = [
      { id: 'q1', address: 'h1', labels: { leader: 'TRUE' } },
      { id: 'q2', address: 'h2', labels: { leader: 'True' } },
    ];
    expect(at(problems(given({ inventory: { targets }, tiers: [{ name: 'q', strategy: { quorum: true } }] })))).toEqual(
      [
        'error inventory.targets.1.labels.leader: second leader in quorum tier "q": target "q1" already has leader: "true"',
      ],
    );
  });

  it('accepts one leader under a custom leaderLabel, and warns when leaderLabel is set without quorum', () => {
    const targets: { id: string; address: string; labels: Record<string, string> }[] = [
      { id: 'q1', address: 'h1', labels: { 'raft-leader': 'true' } },
      { id: 'q2', address: 'h2', labels: { leader: 'true' } },
    ];
    expect(
      problems(
        given({
          inventory: { targets },
          tiers: [{ name: 'q', strategy: { quorum: true, leaderLabel: 'raft-leader' } }],
        }),
      ),
    ).toEqual([]);
    expect(at(problems(given({ tiers: [{ name: 'x', strategy: { leaderLabel: 'raft-leader' } }] })))).toEqual([
      'warning tiers.0.strategy.leaderLabel: has no effect without quorum: true',
    ]);
  });

  it('refuses shards on a quorum tier, and keeps shards above 1 on an ordinary one', () => {
    expect(at(problems(given({ tiers: [{ name: 'q', strategy: { quorum: true, shards: 4 } }] })))).toEqual([
      'error tiers.0.strategy.shards: a quorum tier is never sharded: its members go one at a time, the leader last (remove shards)',
    ]);
    expect(problems(given({ tiers: [{ name: 'edge', strategy: { shards: 4 } }] }))).toEqual([]);
    expect(
      normalizeSpec(given({ tiers: [{ name: 'edge', strategy: { shards: 4 } }] }), 'r.yaml').tiers[0]!.strategy.shards,
    ).toBe(4);
    expect(
      normalizeSpec(given({ tiers: [{ name: 'edge', strategy: { shards: 1 } }] }), 'r.yaml').tiers[0]!.strategy,
    ).not.toHaveProperty('shards');
  });

  it('checks stepThrough: ascending, below version, not version itself', () => {
    const list = problems(given({ versionPolicy: { stepThrough: ['1.5.0', '1.2.0', '2.0.0', '2.1.0'] } }));
    expect(list.map((p) => `${p.path.join('.')}`)).toEqual([
      'versionPolicy.stepThrough.1',
      'versionPolicy.stepThrough.2',
      'versionPolicy.stepThrough.3',
    ]);
    expect(list.every((p) => p.severity === 'error')).toBe(true);
    expect(problems(given({ versionPolicy: { stepThrough: ['1.2.0', '1.5.0'] } }))).toEqual([]);
  });

  it('refuses a label placeholder some target lacks', () => {
    const list = problems(
      given({
        inventory: {
          targets: [
            { id: 'a', address: 'h1', labels: { zone: 'z1' } },
            { id: 'b', address: 'h2' },
          ],
        },
        steps: {
          version: { run: ['v'] },
          upgrade: { run: ['up', '--zone={{target.labels.zone}}'] },
          verify: { http: { url: 'http://{{target.address}}/{{target.labels.zone}}' } },
        },
      }),
    );
    expect(at(list)).toEqual([
      'error steps.upgrade.run.1: uses {{target.labels.zone}}, but 1 target has no label "zone" (b)',
      'error steps.verify.http.url: uses {{target.labels.zone}}, but 1 target has no label "zone" (b)',
    ]);
  });

  it('skips target rules for file and discovered inventories', () => {
    expect(problems(given({ inventory: { file: 'x.yaml' }, tiers: [{ name: 'a' }, { name: 'b' }] }))).toEqual([]);
  });

  it('checks metrics: unique names, marginal ≤ pass, unused baseline', () => {
    const list = problems(
      given({
        analysis: {
          provider: { prometheus: { address: 'http://p' } },
          metrics: [
            { name: 'm', query: 'q', threshold: '< 1', baseline: { cohort: 'stable' } },
            { name: 'm', query: 'q', baseline: { cohort: 'before' }, statistical: { passScore: 70 } },
          ],
        },
      }),
    );
    expect(at(list)).toEqual([
      'warning analysis.metrics.0.baseline: is unused: only maxIncrease and statistical compare against a baseline',
      'error analysis.metrics.1.name: metric name "m" is already used by analysis.metrics[0]',
      'error analysis.metrics.1.statistical.passScore: is below the default marginalScore 75: set marginalScore too',
    ]);
  });

  it('compares marginalScore with the passScore in effect', () => {
    const metric = (statistical: { passScore?: number; marginalScore?: number }) =>
      given({
        analysis: {
          provider: { prometheus: { address: 'http://127.0.0.1:9090' } },
          metrics: [{ name: 'm', query: 'q', baseline: { cohort: 'stable' }, statistical }],
        },
      });
    expect(problems(metric({ passScore: 70, marginalScore: 60 }))).toEqual([]);
    expect(problems(metric({}))).toEqual([]);
    expect(at(problems(metric({ marginalScore: 96 })))).toEqual([
      'error analysis.metrics.0.statistical.marginalScore: must not be above passScore (95, the default)',
    ]);
  });

  it('refuses durations longer than a Node.js timer can wait', () => {
    const list = problems(
      given({
        steps: { version: { run: ['v'] }, upgrade: { run: ['u'], timeout: '30d' }, verify: { run: ['c'] } },
        tiers: [{ name: 'all', strategy: { observe: '24d' } }],
      }),
    );
    expect(at(list)).toEqual(['error steps.upgrade.timeout: is longer than a timer can wait (24d20h31m23s647ms)']);
  });

  it('warns when verify gets a single try or the observe interval exceeds the window', () => {
    const list = problems(
      given({
        steps: {
          version: { run: ['v'] },
          upgrade: { run: ['u'] },
          verify: { run: ['c'], timeout: '5s', interval: '10s' },
        },
        tiers: [{ name: 'all', strategy: { observe: '1m', observeInterval: '2m' } }],
      }),
    );
    expect(list.map((p) => `${p.severity} ${p.path.join('.')}`)).toEqual([
      'warning steps.verify.interval',
      'warning tiers.0.strategy.observeInterval',
    ]);
  });
});

describe('matchesSelector', () => {
  const target = { id: 'a', address: 'h', labels: { role: 'edge', zone: 'z1' } };
  it('needs every pair to match; empty matches all', () => {
    expect(matchesSelector(target, {})).toBe(true);
    expect(matchesSelector(target, { role: 'edge' })).toBe(true);
    expect(matchesSelector(target, { role: 'edge', zone: 'z2' })).toBe(false);
    expect(matchesSelector(target, { rack: '' })).toBe(false);
  });
});
