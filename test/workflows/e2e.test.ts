/**
 * End to end on the GitHub side: the real composite steps in sequence, against
 * a real local fleet and the fake GitHub API (every request checked against
 * GitHub's OpenAPI description; the state committed to a real git repository).
 *
 * pull request → plan comment (updated, not duplicated, on a second push) →
 * merge → canary behind a reviewed environment → approval recorded → promotion
 * → waves → state commits → a dispatched rollback to the last known good
 * version; and a conflict on a state commit handled without losing either write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLAN_COMMENT_MARKER } from '../../src/github/markdown.js';
import { serializeState } from '../../src/state/format.js';
import { annotations, GitHubScenario, SPEC, STATE } from '../actions/scenario.js';

const GATES = `gates:
  canary: svc-canary
  promote: svc-production
`;

let s: GitHubScenario;
beforeAll(async () => {
  s = await GitHubScenario.create({
    count: 6,
    version: '1.0.0',
    spec: { version: '1.0.0', canary: 1, waves: 2, maxUnavailable: 2, observe: '0s', extra: GATES },
    github: {
      environments: {
        'svc-canary': { reviewers: [{ type: 'User', name: 'carol' }] },
        'svc-production': { reviewers: [{ type: 'Team', name: 'sre' }], preventSelfReview: true },
      },
      collaborators: { alice: 'maintain', bob: 'write', carol: 'maintain' },
      reviews: {
        501: [{ environments: ['svc-canary'], state: 'approved', user: 'carol', comment: 'canary looks fine' }],
        502: [{ environments: ['svc-production'], state: 'approved', user: 'carol', comment: 'ship it' }],
      },
    },
  });
}, 60_000);
afterAll(async () => {
  await s?.close();
});

describe('rollout through GitHub', () => {
  it('pull request: validate with annotations, plan comment created then updated in place', async () => {
    const head = await s.commitSpec(
      { version: '1.1.0', canary: 1, waves: 2, maxUnavailable: 2, observe: '0s', extra: GATES },
      'bump',
    );
    const pr = { pull_request: { number: 12, head: { repo: { full_name: s.github.slug } } } };
    const validate = await s.job(
      'validate',
      { specs: 'rollouts/*.yaml' },
      { sha: head, event: pr, eventName: 'pull_request' },
    );
    expect(validate.exitCode).toBe(0);
    expect(validate.outputs.valid).toBe('true');
    const plan = await s.job(
      'plan',
      { spec: SPEC, comment: 'true', preflight: 'true', audit: 'true' },
      { sha: head, event: pr, eventName: 'pull_request' },
    );
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(plan.outputs).toMatchObject({ rollout: 'svc', version: '1.1.0', 'canary-environment': 'svc-canary' });
    const comments = () => s.github.comments.filter((c) => c.issue === 12 && c.body.includes(PLAN_COMMENT_MARKER));
    expect(comments()).toHaveLength(1);
    expect(comments()[0]!.body).toMatch(/`1\.1\.0`/);
    expect(comments()[0]!.body).toMatch(/Version skew \| no skew \(`1\.0\.0` ×6\); version policy ✅/);
    expect(comments()[0]!.body).toMatch(/canary: environment `svc-canary`; promote: environment `svc-production`/);
    expect(plan.summary).toMatch(/## Fleetgate plan/);

    // A second push to the pull request updates the same comment.
    const head2 = await s.commitSpec(
      { version: '1.1.0', canary: 1, waves: 3, maxUnavailable: 2, observe: '0s', extra: GATES },
      'bump',
      'three waves',
    );
    const again = await s.job(
      'plan',
      { spec: SPEC, comment: 'true' },
      { sha: head2, event: pr, eventName: 'pull_request' },
    );
    expect(again.exitCode, again.stderr).toBe(0);
    expect(comments()).toHaveLength(1);
    expect(comments()[0]!.body).toMatch(/\| Waves \| 3 \|/);
    expect(s.github.calls('issues/create-comment')).toHaveLength(1);
    expect(s.github.calls('issues/update-comment')).toHaveLength(1);

    // An invalid spec fails with an annotation at its line and column.
    const bad = await s.commitSpec({ version: 'not-a-version', extra: GATES }, 'bad');
    const invalid = await s.job('validate', { specs: SPEC }, { sha: bad, event: pr, eventName: 'pull_request' });
    expect(invalid.exitCode).toBe(1);
    expect(invalid.outputs.valid).toBe('false');
    expect(annotations(invalid).join('\n')).toMatch(
      /^::error title=fleetgate%3A version,file=rollouts\/svc\.yaml,line=5,col=10::must be a semantic version/m,
    );
    s.github.assertClean();
  });

  it('merge: canary behind a reviewed environment, approval recorded with who and why, then the waves', async () => {
    await s.commitSpec({ version: '1.1.0', canary: 1, waves: 2, maxUnavailable: 2, observe: '0s', extra: GATES });
    const plan = await s.job('plan', { spec: SPEC });
    expect(plan.outputs).toMatchObject({
      'has-work': 'true',
      'canary-wave': 'all/canary',
      'canary-environment': 'svc-canary',
      'promote-environment': 'svc-production',
    });
    const waves = JSON.parse(plan.outputs.waves!) as { wave: string }[];
    // all/1 is the promote job's wave; each matrix entry is the wave it runs.
    expect(waves.map((w) => w.wave)).toEqual(['all/2', 'all/3']);

    const pre = await s.job('preflight', { spec: SPEC });
    expect(pre.exitCode, pre.stderr).toBe(0);
    expect(pre.outputs['gates-protected']).toBe('true');
    expect(pre.summary).toMatch(/on main \(not protected\)/);

    // The canary job named environment svc-canary; carol approved it (run 501).
    const canary = await s.job('wave', { spec: SPEC, gate: 'svc-canary' }, { runId: 501 });
    expect(canary.exitCode, canary.stderr).toBe(0);
    expect(canary.outputs).toMatchObject({ approved: 'svc-canary', outcome: 'Progressing' });
    let state = (await s.state())!;
    expect(state.waves.find((w) => w.id === 'all/canary')?.phase).toBe('Completed');
    expect(state.approvals[0]).toMatchObject({ gate: 'svc-canary', by: 'github:carol', comment: 'canary looks fine' });
    expect(canary.summary).toMatch(/```mermaid/);

    // Promotion gate, then the matrix of waves, one job each.
    const first = await s.job('wave', { spec: SPEC, gate: 'svc-production' }, { runId: 502 });
    expect(first.exitCode, first.stderr).toBe(0);
    for (const w of ['all/2', 'all/3']) {
      const job = await s.job('wave', { spec: SPEC });
      expect(job.exitCode, `${w}: ${job.stderr}`).toBe(0);
    }
    state = (await s.state())!;
    expect(state.phase).toBe('Healthy');
    expect(state.lastKnownGood).toBe('1.1.0');
    expect(state.approvals.map((a) => `${a.gate} ${a.by}`)).toEqual([
      'svc-canary github:carol',
      'svc-production github:carol',
    ]);
    expect(await s.versions()).toEqual(Array(6).fill('1.1.0'));
    // One commit per wave boundary, all by the bot through the API, all Verified.
    const log = await s.github.remote.log('main');
    expect(log.filter((c) => c.subject.startsWith('fleetgate: svc')).length).toBeGreaterThanOrEqual(5);
    expect(s.github.commits.every((c) => c.verified && c.path === STATE)).toBe(true);
    s.github.assertClean();
  });

  it('a refused state commit merges a concurrent approval without losing either write', async () => {
    await s.commitSpec({ version: '1.2.0', canary: 1, waves: 2, maxUnavailable: 2, observe: '0s', extra: GATES });
    // While the canary job runs, a fallback approval of the promotion lands on GitHub.
    let slipped = false;
    s.github.beforeWrite = async (path) => {
      if (slipped || path !== STATE) return;
      const current = await s.state();
      if (current?.phase !== 'Progressing') return;
      slipped = true;
      current.revision += 1;
      current.approvals.push({ at: '2026-11-23T12:00:00.000Z', gate: 'svc-production', by: 'github:alice' });
      await s.github.remote.writeFile({
        branch: 'main',
        path: STATE,
        content: Buffer.from(serializeState(current)),
        message: 'fleetgate: svc gate svc-production approved by alice (fallback)',
        expectedSha: await s.github.remote.blobAt((await s.github.remote.head('main'))!, STATE),
      });
    };
    const canary = await s.job('wave', { spec: SPEC, gate: 'svc-canary' }, { runId: 501 });
    s.github.beforeWrite = undefined;
    expect(slipped).toBe(true);
    expect(canary.exitCode, canary.stderr).toBe(0);
    const state = (await s.state())!;
    expect(state.approvals.map((a) => a.gate)).toEqual(expect.arrayContaining(['svc-canary', 'svc-production']));
    expect(state.waves.find((w) => w.id === 'all/canary')?.phase).toBe('Completed');
    expect(s.github.calls('repos/create-or-update-file-contents').some((c) => c.status === 409)).toBe(true);
    // The promotion approval merged in: the next job needs no environment for it.
    const plan = await s.job('plan', { spec: SPEC });
    expect(plan.outputs['promote-environment']).toBe('');
    s.github.assertClean();
  });

  it('workflow_dispatch rollback to the last known good version, refused for a user without the permission', async () => {
    const dispatch = { inputs: { rollout: 'svc', version: '', reason: 'error budget' } };
    const refused = await s.job(
      'rollback',
      { spec: SPEC, reason: 'error budget' },
      { actor: 'bob', eventName: 'workflow_dispatch', event: dispatch },
    );
    expect(refused.exitCode).toBe(1);
    expect(annotations(refused).join('\n')).toMatch(/bob has write permission on acme\/fleet; this needs maintain/);
    const before = (await s.state())!;
    expect(before.phase).not.toBe('RollingBack');

    const rb = await s.job(
      'rollback',
      { spec: SPEC, reason: 'error budget' },
      { actor: 'alice', eventName: 'workflow_dispatch', event: dispatch },
    );
    expect(rb.exitCode, rb.stderr).toBe(0);
    expect(rb.outputs.outcome).toBe('RolledBack');
    const state = (await s.state())!;
    expect(state.phase).toBe('RolledBack');
    expect(state.toVersion).toBe('1.1.0');
    expect(state.decisions.at(-1)).toMatchObject({ decision: 'rollback', by: 'github:alice', reason: 'error budget' });
    expect(await s.versions()).toEqual(Array(6).fill('1.1.0'));

    // The rollout workflow continues in a new run dispatched through the API.
    const next = await s.job('dispatch', { inputs: 'spec=rollouts/svc.yaml' });
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.outputs['run-id']).toBe(String(s.github.dispatches.at(-1)!.runId));
    expect(s.github.dispatches.at(-1)).toMatchObject({
      workflow: 'fleetgate-rollout.yml',
      ref: 'main',
      inputs: { spec: SPEC },
    });
    s.github.assertClean();
  });
});
