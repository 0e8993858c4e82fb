/**
 * The fake GitHub API itself: it refuses what GitHub's description does not
 * document, and what a test did not expect, and its compare-and-swap is git's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeGitHub } from './fake-github.js';

let fake: FakeGitHub | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function raw(method: string, path: string, body?: unknown, token = 'ghs_faketoken123') {
  const r = await fetch(`${fake!.url}${path}`, {
    method,
    headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.text()) || undefined };
}

describe('fake GitHub API', () => {
  it('records a route that GitHub does not document as a failure', async () => {
    fake = await FakeGitHub.start();
    const r = await raw('GET', '/repos/acme/fleet/rollouts');
    expect(r.status).toBe(404);
    expect(() => fake!.assertClean()).toThrow(/no such route in GitHub's REST description/);
  });

  it('records a documented route the test did not expect as a failure', async () => {
    fake = await FakeGitHub.start();
    const r = await raw('DELETE', '/repos/acme/fleet');
    expect(r.status).toBe(501);
    expect(() => fake!.assertClean()).toThrow(/repos\/delete is documented but not expected/);
  });

  it('checks bodies and parameters against the description', async () => {
    fake = await FakeGitHub.start();
    // `ref` is required; `return_run_detail` (typo) is not a documented field.
    const r = await raw('POST', '/repos/acme/fleet/actions/workflows/x.yml/dispatches', { return_run_detail: true });
    expect(r.status).toBe(422);
    const q = await raw('GET', '/repos/acme/fleet/issues/7/comments?per_page=many');
    expect(q.status).toBe(422);
    const p = await raw('GET', '/repos/acme/fleet/issues/seven/comments');
    expect(p.status).toBe(422);
    expect(fake.failures.join('\n')).toMatch(/must have required property 'ref'/);
    expect(fake.failures.join('\n')).toMatch(/body field return_run_detail is not documented/);
    expect(fake.failures.join('\n')).toMatch(/query per_page must be an integer/);
    expect(fake.failures.join('\n')).toMatch(/issue_number must be an integer/);
  });

  it('refuses requests without the token', async () => {
    fake = await FakeGitHub.start();
    const r = await raw('GET', '/repos/acme/fleet/environments/prod', undefined, 'wrong');
    expect(r.status).toBe(401);
    expect(() => fake!.assertClean()).toThrow(/token/);
  });

  it('backs the contents API with git: a stale blob sha is a 409, a missing one a 422', async () => {
    fake = await FakeGitHub.start({ files: { 'rollouts/a.state.yaml': 'revision: 1\n' } });
    const scm = fake.scm();
    const first = await scm.readFile('rollouts/a.state.yaml', 'main');
    expect(first?.content).toBe('revision: 1\n');
    const w = await scm.writeFile({
      path: 'rollouts/a.state.yaml',
      content: 'revision: 2\n',
      message: 'm',
      branch: 'main',
      sha: first!.sha,
    });
    expect(w.blobSha).not.toBe(first!.sha);
    await expect(
      scm.writeFile({
        path: 'rollouts/a.state.yaml',
        content: 'revision: 2b\n',
        message: 'm',
        branch: 'main',
        sha: first!.sha,
      }),
    ).rejects.toMatchObject({ name: 'ScmConflictError', status: 409 });
    await expect(
      scm.writeFile({ path: 'rollouts/a.state.yaml', content: 'revision: 2c\n', message: 'm', branch: 'main' }),
    ).rejects.toMatchObject({ name: 'ScmConflictError', status: 422 });
    expect(await fake.remote.read('main', 'rollouts/a.state.yaml')).toBe('revision: 2\n');
    const log = await fake.remote.log('main');
    expect(log[0]).toMatchObject({ author: 'github-actions[bot]', committer: 'github-actions[bot]' });
    expect(fake.commits.every((c) => c.verified)).toBe(true);
    fake.assertClean();
  });

  it('reads files over 1 MB through the blobs API, as GitHub requires', async () => {
    const big = `${'x'.repeat(100)}\n`.repeat(12_000);
    fake = await FakeGitHub.start({ files: { 'big.txt': big } });
    const scm = fake.scm();
    expect((await scm.readFile('big.txt', 'main'))?.content).toBe(big);
    expect(fake.calls('git/get-blob')).toHaveLength(1);
    fake.assertClean();
  });

  it('answers in documented shapes for every endpoint the adapter uses', async () => {
    fake = await FakeGitHub.start({
      environments: {
        prod: {
          reviewers: [
            { type: 'User', name: 'alice' },
            { type: 'Team', name: 'sre' },
          ],
          waitTimer: 5,
        },
      },
      collaborators: { alice: 'maintain' },
      teams: { 'acme/sre': ['bob'] },
      reviews: { 42: [{ environments: ['prod'], state: 'approved', user: 'alice', comment: 'go' }] },
    });
    const scm = fake.scm();
    expect(await scm.getEnvironment('prod')).toEqual({
      name: 'prod',
      reviewers: [
        { type: 'User', name: 'alice' },
        { type: 'Team', name: 'sre' },
      ],
      waitTimerMinutes: 5,
      preventSelfReview: false,
      branchPolicy: false,
    });
    expect(await scm.getEnvironment('nope')).toBeUndefined();
    expect(await scm.getPermission('alice')).toBe('maintain');
    expect(await scm.getPermission('mallory')).toBe('none');
    expect(await scm.isTeamMember('acme', 'sre', 'bob')).toBe(true);
    expect(await scm.isTeamMember('acme', 'sre', 'mallory')).toBe(false);
    expect(await scm.listRunApprovals(42)).toEqual([
      { state: 'approved', environments: ['prod'], user: 'alice', comment: 'go' },
    ]);
    const main = await scm.getBranch('main');
    expect(main).toMatchObject({ name: 'main', protected: false });
    await scm.createBranch('fleetgate-state', main!.sha);
    await expect(scm.createBranch('fleetgate-state', main!.sha)).rejects.toMatchObject({ name: 'ScmConflictError' });
    const dep = await scm.createDeployment({
      ref: main!.sha,
      environment: 'prod',
      description: 'd',
      payload: { wave: 'w' },
    });
    await scm.createDeploymentStatus(dep.id, { state: 'success', description: 'ok', logUrl: 'https://github.com/x' });
    expect(fake.deployments[0]!.statuses).toEqual([{ state: 'success', description: 'ok' }]);
    fake.assertClean();
  });
});
