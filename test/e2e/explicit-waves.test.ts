/**
 * Listed canaries and waves, set-based selectors and the plan's gates, analysis and rollback
 * sections, through the bundled CLI (dist/cli.js spawned) on real local agents: the listed
 * canary is the one upgraded first; a canary id the inventory file does not hold is refused at
 * the spec's canary line before any agent is touched.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RolloutRepo } from '../helpers/rollout-repo.js';

let repo: RolloutRepo | undefined;
afterEach(async () => {
  await repo?.close();
  repo = undefined;
});

interface PlanJson {
  waves: { id: string; kind: string; targets: string[] }[];
  tiers: { name: string; canaryChoice?: { kind: string }; wavesListed?: boolean }[];
  gates: { approvals: { gate: string; kind: string; beforeWave: string }[]; breakers: unknown[] };
  analysis?: { metrics: { name: string; rule: string; onFailure: string; baseline?: string }[] };
  rollback: {
    lastKnownGood?: string;
    tiers: { tier: string; groups: { version?: string; source: string; targets: string[] }[] }[];
    command: { to?: string; eachToPrevious: boolean };
  };
}

describe('fleetgate run with a listed canary and listed waves', () => {
  it('upgrades the listed canary first and alone, then the listed waves in order; plan says what a rollback restores', async () => {
    repo = await RolloutRepo.create({
      count: 6,
      version: '1.0.0',
      spec: {
        version: '2.0.0',
        canary: ['t-5'],
        waves: [
          ['t-2', 't-6'],
          ['t-1', 't-3', 't-4'],
        ],
        extra: 'gates: {canary: fleet-canary}\n',
      },
    });
    const plan = await repo.cli('plan', repo.specPath, '--json');
    expect(plan.code, plan.stderr).toBe(0);
    const planned = JSON.parse(plan.stdout) as PlanJson;
    expect(planned.waves.map((w) => [w.id, w.targets])).toEqual([
      ['all/canary', ['t-5']],
      ['all/1', ['t-2', 't-6']],
      ['all/2', ['t-1', 't-3', 't-4']],
    ]);
    expect(planned.tiers[0]).toMatchObject({ canaryChoice: { kind: 'listed' }, wavesListed: true });
    expect(planned.gates.approvals).toEqual([{ gate: 'fleet-canary', kind: 'canary', beforeWave: 'all/canary' }]);
    expect(planned.rollback.command).toEqual({ eachToPrevious: true });

    // Given the canary gate approved, when one wave runs: only the listed canary moved.
    const first = await repo.cli('run', repo.specPath, '--approve', 'fleet-canary', '--max-waves', '1');
    expect(first.code, first.stderr).toBe(6);
    const after = await repo.versions();
    expect([...after].map(([id, v]) => [id, v.version])).toEqual([
      ['t-1', '1.0.0'],
      ['t-2', '1.0.0'],
      ['t-3', '1.0.0'],
      ['t-4', '1.0.0'],
      ['t-5', '2.0.0'],
      ['t-6', '1.0.0'],
    ]);
    expect(after.get('t-5')!.upgrades).toBe(1);
    const mid = repo.state();
    expect(mid.waves.map((w) => [w.id, w.phase])).toEqual([
      ['all/canary', 'Completed'],
      ['all/1', 'Pending'],
      ['all/2', 'Pending'],
    ]);

    // Mid-rollout, a rollback would return every target to what the preflight recorded.
    const midPlan = await repo.cli('plan', repo.specPath);
    expect(midPlan.code, midPlan.stderr).toBe(0);
    expect(midPlan.stdout).toContain(
      'all: 1.0.0 on 6 targets (t-1, t-2, t-3 and 3 more) — recorded before this rollout touched them',
    );

    // Then the rest, in the listed order.
    const rest = await repo.cli('run', repo.specPath, '--yes');
    expect(rest.code, rest.stderr).toBe(0);
    const done = repo.state();
    expect(done.phase).toBe('Healthy');
    const started = (id: string) => Date.parse(done.targets[id]!.startedAt!);
    expect(started('t-5')).toBeLessThan(started('t-2'));
    expect(Math.max(started('t-2'), started('t-6'))).toBeLessThanOrEqual(
      Math.min(started('t-1'), started('t-3'), started('t-4')),
    );
    expect([...(await repo.versions()).values()].every((v) => v.version === '2.0.0' && v.upgrades === 1)).toBe(true);

    const finalPlan = JSON.parse((await repo.cli('plan', repo.specPath, '--json')).stdout) as PlanJson;
    expect(finalPlan.rollback.lastKnownGood).toBe('2.0.0');
    expect(finalPlan.rollback.command).toEqual({ to: '2.0.0', eachToPrevious: false });
    expect(finalPlan.rollback.tiers).toEqual([
      {
        tier: 'all',
        groups: [{ version: '2.0.0', source: 'observed', targets: ['t-1', 't-2', 't-3', 't-4', 't-5', 't-6'] }],
      },
    ]);
  });

  it('refuses a canary id the inventory file does not hold, at the spec line, touching no agent', async () => {
    repo = await RolloutRepo.create({ count: 3, version: '1.0.0', spec: { version: '2.0.0', canary: ['t-2', 't-9'] } });
    const expected = `${repo.specPath}:11:22 tiers[0].strategy.canary[1]: target "t-9" is not in the inventory (expected a member of tier "all")`;
    // The inventory is a file: validate reads it to judge the ids the spec names; plan and run do too.
    const validate = await repo.cli('validate', repo.specPath);
    expect(validate.code, validate.stdout).toBe(1);
    expect(validate.stdout.split('\n')[0]).toBe(expected);
    const plan = await repo.cli('plan', repo.specPath);
    expect(plan.code).toBe(1);
    expect(plan.stderr).toContain(expected);
    const run = await repo.cli('run', repo.specPath, '--yes');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(expected);
    expect([...(await repo.versions()).values()].map((v) => v.upgrades)).toEqual([0, 0, 0]);
    expect(repo.hasState()).toBe(false);
    // Reading commands are not blocked by it: status still says where the rollout stands.
    const status = await repo.cli('status', repo.specPath);
    expect(status.code, status.stderr).toBe(0);
  });
});

describe('fleetgate validate and plan on explicit waves and set-based selectors', () => {
  it('reports a target in two waves, waves that leave targets out, an unknown operator and exists with values, each at its line', async () => {
    repo = await RolloutRepo.create({ count: 2, version: '1.0.0', spec: { version: '2.0.0' } });
    const bad = `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: bad
component: c
version: 2.0.0
inventory:
  targets:
    - {id: a-1, address: "127.0.0.1:1", labels: {zone: eu}}
    - {id: a-2, address: "127.0.0.1:2", labels: {zone: us}}
    - {id: a-3, address: "127.0.0.1:3", labels: {zone: us}}
tiers:
  - name: one
    select: {zone: {within: [eu, us]}}
  - name: two
    select: {gpu: {exists: [a100]}}
  - name: three
    strategy: {canary: [a-1], waves: [[a-2], [a-2]]}
steps:
  version: {run: [echo, "1.0.0"]}
  upgrade: {run: ["true"]}
  verify: {run: ["true"]}
`;
    writeFileSync(join(repo.dir, 'bad.yaml'), bad);
    const r = await repo.cli('validate', 'bad.yaml', '--json');
    expect(r.code).toBe(1);
    const issues = (JSON.parse(r.stdout) as { issues: { line: number; col: number; path: string; message: string }[] })
      .issues;
    expect(issues.map((i) => `${i.line}:${i.col} ${i.path}: ${i.message}`)).toEqual([
      '13:21 tiers[0].select.zone.within: unknown selector operator',
      '15:19 tiers[1].select.gpu: exists takes true or false, not values',
    ]);
    // Once the selectors are right, the listed waves' mistakes (after the shape is right).
    writeFileSync(
      join(repo.dir, 'bad.yaml'),
      bad
        .replace('{zone: {within: [eu, us]}}', '{zone: {in: [none]}}')
        .replace('{gpu: {exists: [a100]}}', '{gpu: {exists: true}}'),
    );
    const again = await repo.cli('validate', 'bad.yaml');
    expect(again.code).toBe(1);
    expect(again.stdout.split('\n').filter((l) => l.startsWith('bad.yaml'))).toEqual([
      'bad.yaml:17:38 tiers[2].strategy.waves: leaves out 1 target of tier "three": a-3 (expected every member of the tier in the canary or in one wave (or in exclude))',
      'bad.yaml:17:47 tiers[2].strategy.waves[1][0]: target "a-2" is already in waves[0] (expected each target in one wave)',
      'bad.yaml:13:13 tiers[0].select: warning: tier "one" selects no target (expected a selector matching some target labels)',
      'bad.yaml:15:13 tiers[1].select: warning: tier "two" selects no target (expected a selector matching some target labels)',
    ]);
  });

  it('the example validates, and its plan shows the spread canary, the gates, the metrics and the rollback', async () => {
    repo = await RolloutRepo.create({ count: 1, version: '1.0.0', spec: { version: '2.0.0' } });
    const example = join(import.meta.dirname, '../../rollouts/examples/canary-and-waves.yaml');
    const v = await repo.cli('validate', example);
    expect(v.code, v.stdout).toBe(0);
    const text = await repo.cli('plan', example);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('Tier 1/4 edge: 5 targets, canary 3 (one per zone: ams, fra, lon), waves of 3');
    expect(text.stdout).toContain('Tier 2/4 pinned: 4 targets, canary 1 (listed), waves as listed (largest 2)');
    expect(text.stdout).toMatch(/edge\/canary\s+canary\s+3 targets.*ams-1, fra-1, lon-1/);
    expect(text.stdout).toContain('approval "edge-production" before edge/1 (promotion after the canary');
    expect(text.stdout).toContain('error-rate   critical, fails → roll back  < 0.01');
    expect(text.stdout).toContain('p99-latency  warning, fails → pause  at most +10% over the stable baseline');
    expect(text.stdout).toContain('Rollback would restore:');
    const json = JSON.parse((await repo.cli('plan', example, '--json')).stdout) as PlanJson;
    expect(json.tiers.map((t) => t.name)).toEqual(['edge', 'pinned', 'lab', 'beta']);
    expect(json.waves.find((w) => w.id === 'lab/1')?.targets).toEqual(['lab-1']);
    expect(json.analysis?.metrics.map((m) => [m.name, m.onFailure, m.baseline])).toEqual([
      ['error-rate', 'rollback', undefined],
      ['p99-latency', 'pause', 'stable'],
    ]);
  });
});
