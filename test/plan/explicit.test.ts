/**
 * Canaries and waves the spec chooses: a listed canary, a canary spread one per zone, listed
 * waves; the spec's rules about them (located), and the planner's waves from them.
 */
import { describe, expect, it } from 'vitest';
import { checkExplicitTargets } from '../../src/spec/explicit-targets.js';
import { formatIssue } from '../../src/spec/issue.js';
import { parseSpec } from '../../src/spec/parse.js';
import type { RolloutSpec, Target } from '../../src/spec/types.js';
import { planRollout } from '../../src/plan/plan.js';
import { PlanWarnings } from '../../src/plan/warnings.js';

/** Ten edge targets over three zones, two core ones. */
const FLEET: Target[] = [
  ...Array.from({ length: 10 }, (_, i) => ({
    id: `edge-${i + 1}`,
    address: `127.0.0.1:${9000 + i}`,
    labels: { role: 'edge', zone: ['eu-1', 'eu-2', 'us-1'][i % 3]! },
  })),
  { id: 'core-1', address: '127.0.0.1:9100', labels: { role: 'core' } },
  { id: 'core-2', address: '127.0.0.1:9101', labels: { role: 'core' } },
];

const inline = FLEET.map(
  (t) =>
    `    - {id: ${t.id}, address: "${t.address}", labels: {${Object.entries(t.labels)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}}}`,
).join('\n');

function text(edgeStrategy: string, extra = ''): string {
  return `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: explicit
component: agent
version: 1.1.0
inventory:
  targets:
${inline}
tiers:
  - name: edge
    select: {role: edge}
    strategy:
${edgeStrategy}
  - name: core
    select: {role: {in: [core]}}
steps:
  version: {run: [echo, "1.0.0"]}
  upgrade: {run: ["true"]}
  verify: {run: ["true"]}
${extra}`;
}

function parsed(edgeStrategy: string, extra = ''): RolloutSpec {
  const r = parseSpec(text(edgeStrategy, extra), 'e.yaml');
  if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
  return r.spec;
}

function issues(edgeStrategy: string): string[] {
  const r = parseSpec(text(edgeStrategy), 'e.yaml');
  return [...(r.ok ? [] : r.errors), ...r.warnings].map(formatIssue);
}

const waveTargets = (spec: RolloutSpec) =>
  planRollout(spec, FLEET)
    .waves.filter((w) => w.tier === 'edge')
    .map((w) => [w.id, w.targets]);

describe('a listed canary', () => {
  it('is the canary wave, in the listed order; the others follow in sized waves', () => {
    const spec = parsed('      canary: [edge-7, edge-2]\n      waves: 4');
    expect(spec.tiers[0]!.strategy.canaryTargets).toEqual(['edge-7', 'edge-2']);
    expect(waveTargets(spec)).toEqual([
      ['edge/canary', ['edge-7', 'edge-2']],
      ['edge/1', ['edge-1', 'edge-3', 'edge-4', 'edge-5']],
      ['edge/2', ['edge-6', 'edge-8', 'edge-9', 'edge-10']],
    ]);
    const plan = planRollout(spec, FLEET);
    expect(plan.tiers[0]).toMatchObject({ canarySize: 2, canaryChoice: { kind: 'listed' } });
    expect(plan.warnings).toEqual([]);
  });

  it('reports an id outside the tier at its line, once the inventory is known', () => {
    expect(issues('      canary: [edge-7, core-1, edge-99]')).toEqual([
      'e.yaml:24:24 tiers[0].strategy.canary[1]: target "core-1" is in tier "core", not in "edge" (expected a member of tier "edge")',
      'e.yaml:24:32 tiers[0].strategy.canary[2]: target "edge-99" is not in the inventory (expected a member of tier "edge")',
    ]);
    expect(issues('      canary: [edge-7, edge-7]')).toEqual([
      'e.yaml:24:24 tiers[0].strategy.canary[1]: target "edge-7" is listed twice (also canary[0]) (expected each target once)',
    ]);
  });
});

describe('a canary spread by a label', () => {
  it('takes the first member (by id) of each value, values in natural order', () => {
    const spec = parsed('      canary: {spreadBy: zone}');
    const plan = planRollout(spec, FLEET);
    expect(plan.waves[0]).toMatchObject({ id: 'edge/canary', targets: ['edge-1', 'edge-2', 'edge-3'] });
    expect(plan.tiers[0]!.canaryChoice).toEqual({ kind: 'spread', label: 'zone', values: ['eu-1', 'eu-2', 'us-1'] });
    expect(
      plan.waves
        .filter((w) => w.tier === 'edge')
        .flatMap((w) => w.targets)
        .sort(),
    ).toEqual(
      FLEET.filter((t) => t.labels.role === 'edge')
        .map((t) => t.id)
        .sort(),
    );
  });

  it('skips the targets the spec excludes, so every zone still has a canary that is touched', () => {
    const plan = planRollout(parsed('      canary: {spreadBy: zone}', 'exclude: [edge-1]'), FLEET);
    expect(plan.waves[0]).toMatchObject({ id: 'edge/canary', targets: ['edge-4', 'edge-2', 'edge-3'] });
  });

  it('warns about members without the label; refuses a label no member has', () => {
    const fleet = [...FLEET, { id: 'edge-11', address: '127.0.0.1:9011', labels: { role: 'edge' } }];
    expect(planRollout(parsed('      canary: {spreadBy: zone}'), fleet).warnings).toEqual([
      PlanWarnings.SpreadUnlabelled('edge', 'zone', ['edge-11']),
    ]);
    expect(issues('      canary: {spreadBy: rack}')).toEqual([
      'e.yaml:24:26 tiers[0].strategy.canary.spreadBy: no target of tier "edge" has label "rack", so the canary would be empty (expected a label the tier\'s targets carry)',
    ]);
    expect(issues('      canary: {spreadby: zone}')[0]).toMatch(
      /tiers\[0\]\.strategy\.canary: unknown field "spreadby"; did you mean "spreadBy"\?/,
    );
  });
});

describe('listed waves', () => {
  const lists =
    '      canary: [edge-10]\n      waves: [[edge-1, edge-2, edge-3], [edge-4, edge-5, edge-6, edge-7], [edge-8, edge-9]]';

  it('are the waves, in order, after the listed canary', () => {
    const spec = parsed(lists);
    expect(waveTargets(spec)).toEqual([
      ['edge/canary', ['edge-10']],
      ['edge/1', ['edge-1', 'edge-2', 'edge-3']],
      ['edge/2', ['edge-4', 'edge-5', 'edge-6', 'edge-7']],
      ['edge/3', ['edge-8', 'edge-9']],
    ]);
    expect(planRollout(spec, FLEET).tiers[0]).toMatchObject({ wavesListed: true, waveSize: 4, canarySize: 1 });
  });

  it('without a canary: no canary wave, and a warning saying so (canary: 0 silences it)', () => {
    const waves = '      waves: [[edge-1, edge-2, edge-3, edge-4, edge-5], [edge-6, edge-7, edge-8, edge-9, edge-10]]';
    expect(issues(waves)).toEqual([
      'e.yaml:24:14 tiers[0].strategy.waves: warning: waves are listed but no canary is, so this tier has no canary wave: list its ids in canary, or write canary: 0 to say so',
    ]);
    expect(issues(`      canary: 0\n${waves}`)).toEqual([]);
    expect(waveTargets(parsed(waves)).map(([id]) => id)).toEqual(['edge/1', 'edge/2']);
  });

  it('refuses a target in two waves, the canary in a wave, and waves that leave targets out (naming them)', () => {
    expect(issues('      canary: [edge-10]\n      waves: [[edge-1, edge-2], [edge-2, edge-10, edge-3]]')).toEqual([
      'e.yaml:25:14 tiers[0].strategy.waves: leave out 6 targets of tier "edge": edge-4, edge-5, edge-6, edge-7, edge-8 and 1 more (expected every member of the tier in the canary or in one wave (or in exclude))',
      'e.yaml:25:34 tiers[0].strategy.waves[1][0]: target "edge-2" is already in waves[0] (expected each target in one wave)',
      'e.yaml:25:42 tiers[0].strategy.waves[1][1]: target "edge-10" is the canary (canary[0]): it is upgraded there, not again in a wave (expected each target in one wave)',
    ]);
  });

  it('refuses a sized canary with listed waves, and lists in a quorum tier', () => {
    expect(issues(`      canary: 2\n${lists.split('\n')[1]}`)[0]).toBe(
      'e.yaml:24:15 tiers[0].strategy.canary: with waves listed, the canary is listed too (a size or spreadBy would take its targets out of your waves) (expected a list of target ids, or 0 for no canary, got 2)',
    );
    expect(issues(`      quorum: true\n${lists}`)).toEqual([
      expect.stringMatching(/tiers\[0\]\.strategy\.canary: a quorum tier's canary is its first follower/),
      expect.stringMatching(/tiers\[0\]\.strategy\.waves: a quorum tier's waves follow the quorum procedure/),
    ]);
  });

  it('accept an excluded target left out of every wave', () => {
    const spec = parsed(
      '      canary: [edge-10]\n      waves: [[edge-1, edge-2, edge-3, edge-4], [edge-5, edge-6, edge-7, edge-8]]',
      'exclude: [edge-9]',
    );
    expect(checkExplicitTargets(spec.tiers, FLEET, spec.exclude)).toEqual([]);
    expect(checkExplicitTargets(spec.tiers, FLEET, []).map((p) => p.message)).toEqual([
      'leaves out 1 target of tier "edge": edge-9',
    ]);
  });

  it('the planner stays total: members no list holds follow in waves of their own, with a warning', () => {
    const spec = parsed(
      '      canary: [edge-10]\n      waves: [[edge-1, edge-2, edge-3, edge-4], [edge-5, edge-6, edge-7, edge-8]]',
      'exclude: [edge-9]',
    );
    const plan = planRollout(spec, FLEET);
    expect(plan.waves.find((w) => w.id === 'edge/3')?.targets).toEqual(['edge-9']);
    expect(plan.warnings).toEqual([PlanWarnings.LeftOutOfListedWaves('edge', ['edge-9'])]);
  });
});

describe('the wrong forms', () => {
  it('keeps the size message for a bad scalar and explains a bad list', () => {
    expect(issues('      canary: lots')[0]).toMatch(
      /tiers\[0\]\.strategy\.canary: must be a count or a percent like "20%"/,
    );
    expect(issues('      waves: [edge-1, edge-2]')[0]).toMatch(
      /tiers\[0\]\.strategy\.waves: must be a list of target ids/,
    );
    expect(issues('      canary: []')[0]).toMatch(/tiers\[0\]\.strategy\.canary: must list at least one target/);
  });
});
