/**
 * Approval is the run's own (issue 12, item 6): a gated wave counts its environment as approved
 * only when the run's approvals (GET …/actions/runs/{run_id}/approvals, listed by the fake as
 * GitHub does: every attempt's reviews under the run, no time) show an approval of it. An
 * environment with reviewers that an administrator bypassed gives no approval: the rollout
 * pauses with GatePending and records nothing. A real approval is recorded with who, when, the
 * comment and the run attempt.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { annotations, GitHubScenario, SPEC } from './scenario.js';

const GATES = `gates:
  canary: svc-canary
`;

let s: GitHubScenario;
beforeAll(async () => {
  s = await GitHubScenario.create({
    count: 3,
    version: '1.0.0',
    spec: { version: '1.1.0', canary: 1, waves: 1, maxUnavailable: 1, observe: '0s', extra: GATES },
    github: {
      environments: { 'svc-canary': { reviewers: [{ type: 'User', name: 'carol' }] } },
      collaborators: { carol: 'maintain' },
      reviews: {
        // Run 701: an administrator bypassed the rule (the run lists no approval).
        701: [],
        // Run 702: carol approved in the run's second attempt; the first was rejected.
        702: [
          { environments: ['svc-canary'], state: 'rejected', user: 'dave', comment: 'not on a Friday', attempt: 1 },
          { environments: ['svc-canary'], state: 'approved', user: 'carol', comment: 'dashboards green', attempt: 2 },
        ],
      },
    },
  });
}, 60_000);
afterAll(async () => {
  s.github.assertClean();
  await s?.close();
});

describe('a gated wave', () => {
  it('does not count an environment that has reviewers but no approval in this run: GatePending', async () => {
    const run = await s.job('wave', { spec: SPEC, gate: 'svc-canary' }, { runId: 701 });
    expect(run.outputs).toMatchObject({ approved: '', 'approved-by': '', outcome: 'Paused', reason: 'GatePending' });
    expect(annotations(run).join('\n')).toMatch(
      /environment svc-canary requires reviewers, but this run's approvals show none for it.*GatePending/,
    );
    const state = (await s.state())!;
    expect(state.approvals).toEqual([]);
    expect(state.condition?.reason).toBe('GatePending');
    expect(s.github.calls('actions/get-reviews-for-run').map((c) => c.path)).toContain(
      '/repos/acme/fleet/actions/runs/701/approvals',
    );
  });

  it("counts the run's own approval and records who, when, the comment and the attempt", async () => {
    const before = Date.now();
    const run = await s.job(
      'wave',
      { spec: SPEC, gate: 'svc-canary' },
      { runId: 702, env: { GITHUB_RUN_ATTEMPT: '2' } },
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.outputs).toMatchObject({ approved: 'svc-canary', 'approved-by': 'carol' });
    const state = (await s.state())!;
    expect(state.approvals).toHaveLength(1);
    const a = state.approvals[0] as unknown as Record<string, unknown>;
    expect(a).toMatchObject({
      gate: 'svc-canary',
      by: 'github:carol',
      comment: 'dashboards green',
      via: 'environment svc-canary',
      attempt: 2,
    });
    expect(String(a.run)).toMatch(/\/actions\/runs\/702$/);
    expect(Date.parse(String(a.at))).toBeGreaterThanOrEqual(before - 1000);
  });
});
