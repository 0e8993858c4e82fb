/**
 * The quorum steps in a spec: `leader`, `transferLeadership` (with `{{transferee.*}}`) and
 * `caughtUp` parse with their defaults, `{{transferee.*}}` is refused in any other step, and
 * the rules warn about quorum steps that would never run or a transfer nothing confirms.
 */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/spec/parse.js';
import { planRollout } from '../../src/plan/plan.js';
import { describePlan } from '../../src/plan/describe.js';

const spec = (tier: string, steps: string) => `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: etcd
component: etcd
version: 3.4.1
inventory:
  targets:
    - {id: etcd-1, address: "127.0.0.1:2379", labels: {role: etcd}}
    - {id: etcd-2, address: "127.0.0.1:2479", labels: {role: etcd}}
    - {id: etcd-3, address: "127.0.0.1:2579", labels: {role: etcd}}
tiers:
${tier}
steps:
  version: {run: [etcd-member, version, "{{target.address}}"]}
  upgrade: {run: [etcd-member, upgrade, "{{target.id}}", "{{version}}"]}
  verify: {run: [etcd-member, healthy, "{{target.address}}"]}
${steps}
`;
const QUORUM = '  - {name: etcd, select: {role: etcd}, strategy: {quorum: true}}';
const LEADER = '  leader: {run: [etcd-member, leader, "{{target.address}}"]}';
const TRANSFER =
  '  transferLeadership: {run: [etcd-member, transfer, "{{transferee.address}}", "{{transferee.id}}", "{{transferee.labels.role}}"]}';
const CAUGHT_UP = '  caughtUp: {http: {url: "http://{{target.address}}/caught-up"}, timeout: 1m, interval: 500ms}';

function warnings(text: string): string[] {
  const r = parseSpec(text, 'r.yaml');
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return r.warnings.map((w) => `${w.path}: ${w.message}`);
}

describe('quorum steps in a spec', () => {
  it('parses leader, transferLeadership and caughtUp with their defaults', () => {
    const r = parseSpec(spec(QUORUM, [LEADER, TRANSFER, CAUGHT_UP].join('\n')), 'r.yaml');
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.spec.steps.leader).toMatchObject({ kind: 'run', timeoutMs: 10_000, retries: 2, intervalMs: 1_000 });
    expect(r.spec.steps.transferLeadership).toMatchObject({
      kind: 'run',
      timeoutMs: 30_000,
      retries: 0,
      intervalMs: 200,
    });
    expect(r.spec.steps.caughtUp).toMatchObject({ kind: 'http', timeoutMs: 60_000, retries: 0, intervalMs: 500 });
    expect(r.warnings).toEqual([]);
  });

  it('refuses {{transferee.*}} outside transferLeadership, naming the field', () => {
    const r = parseSpec(
      spec(QUORUM, '  caughtUp: {run: [etcd-member, caught-up, "{{transferee.address}}"]}'),
      'r.yaml',
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n')).toMatch(
      /steps\.caughtUp\.run\[2\]: .*unknown template placeholder \{\{transferee\.address\}\}/,
    );
  });

  it('warns about leader and transferLeadership where no quorum tier runs them', () => {
    const plain = '  - {name: etcd, select: {role: etcd}}';
    expect(warnings(spec(plain, [LEADER, TRANSFER].join('\n')))).toEqual([
      'steps.leader: has no effect: no tier is a quorum tier (strategy.quorum: true)',
      'steps.transferLeadership: has no effect: no tier is a quorum tier (strategy.quorum: true)',
    ]);
    const own = `  - {name: etcd, select: {role: etcd}, steps: {leader: {run: [etcd-member, leader, "{{target.address}}"]}}}`;
    expect(warnings(spec(own, ''))).toEqual([
      'tiers[0].steps.leader: has no effect: tier etcd is not a quorum tier (strategy.quorum: true)',
    ]);
  });

  it('warns about a transfer without a leader step (nothing confirms it)', () => {
    expect(warnings(spec(QUORUM, TRANSFER))).toEqual([
      'steps.transferLeadership: tier etcd has no leader step: the leader is the labelled member (strategy.leaderLabel) and the transfer is not confirmed',
    ]);
  });

  it('plans a quorum tier with a leader step without the missing-label warning, and says the leader is found at run time', () => {
    const r = parseSpec(spec(QUORUM, LEADER), 'r.yaml');
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const targets = r.spec.inventory.kind === 'inline' ? r.spec.inventory.targets : [];
    const plan = planRollout(r.spec, targets);
    expect(plan.warnings).toEqual([]);
    expect(plan.tiers[0]!.leaderStep).toBe(true);
    expect(describePlan(plan)).toContain('leader found by the leader step before each wave, last');
    const unlabelled = planRollout({ ...r.spec, steps: { ...r.spec.steps, leader: undefined } }, targets);
    expect(unlabelled.warnings.join('\n')).toMatch(/no member has label "leader"/);
  });
});
