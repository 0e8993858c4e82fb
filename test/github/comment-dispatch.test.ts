/**
 * The sticky plan comment (created once, then updated in place, never
 * duplicated) and dispatching a continuation run with `return_run_details`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { findStickyComment, upsertStickyComment } from '../../src/github/comment.js';
import { PLAN_COMMENT_MARKER } from '../../src/github/markdown.js';
import { FakeGitHub } from './fake-github.js';

let fake: FakeGitHub | undefined;
afterEach(async () => {
  fake?.assertClean();
  await fake?.close();
  fake = undefined;
});

describe('sticky comment', () => {
  it('creates, then updates in place, and leaves an unchanged body alone', async () => {
    fake = await FakeGitHub.start();
    // 120 comments already: the marker must be found past the first page.
    for (let i = 0; i < 120; i++)
      fake.comments.push({
        id: i + 1,
        issue: 7,
        body: `chatter ${i}`,
        user: 'someone',
        created_at: '',
        updated_at: '',
      });
    const scm = fake.scm();
    const first = await upsertStickyComment(scm, 7, PLAN_COMMENT_MARKER, `${PLAN_COMMENT_MARKER}\nplan v1`);
    expect(first.action).toBe('created');
    const second = await upsertStickyComment(scm, 7, PLAN_COMMENT_MARKER, `${PLAN_COMMENT_MARKER}\nplan v2`);
    expect(second).toMatchObject({ action: 'updated', comment: { id: first.comment.id } });
    const third = await upsertStickyComment(scm, 7, PLAN_COMMENT_MARKER, `${PLAN_COMMENT_MARKER}\nplan v2`);
    expect(third.action).toBe('unchanged');
    expect(fake.comments.filter((c) => c.body.includes(PLAN_COMMENT_MARKER))).toHaveLength(1);
    expect(fake.calls('issues/create-comment')).toHaveLength(1);
    expect(fake.calls('issues/update-comment')).toHaveLength(1);
    expect(fake.calls('issues/list-comments').length).toBeGreaterThanOrEqual(6); // 2 pages × 3 calls
  });

  it('prefers its own (bot) comment over a person quoting the marker', () => {
    const c = findStickyComment(
      [
        { id: 1, body: `${PLAN_COMMENT_MARKER} mine`, user: 'github-actions[bot]', htmlUrl: '' },
        { id: 2, body: `quoting ${PLAN_COMMENT_MARKER}`, user: 'mallory', htmlUrl: '' },
      ],
      PLAN_COMMENT_MARKER,
    );
    expect(c?.id).toBe(1);
  });

  it('is refused with a read-only token (a fork pull request)', async () => {
    fake = await FakeGitHub.start({ access: 'read' });
    await expect(
      upsertStickyComment(fake.scm(), 7, PLAN_COMMENT_MARKER, `${PLAN_COMMENT_MARKER} x`),
    ).rejects.toMatchObject({
      status: 403,
    });
  });
});

describe('workflow dispatch', () => {
  it('asks for the run details and returns the new run id', async () => {
    fake = await FakeGitHub.start();
    const run = await fake.scm().dispatchWorkflow({
      workflow: 'fleetgate-rollout.yml',
      ref: 'main',
      inputs: { spec: 'rollouts/edge.yaml' },
    });
    expect(run.runId).toBe(fake.dispatches[0]!.runId);
    expect(run.htmlUrl).toMatch(/\/actions\/runs\/\d+$/);
    expect(fake.calls('actions/create-workflow-dispatch')[0]!.body).toEqual({
      ref: 'main',
      inputs: { spec: 'rollouts/edge.yaml' },
      return_run_details: true,
    });
  });

  it('retries without return_run_details on a server that refuses the field', async () => {
    fake = await FakeGitHub.start({ dispatchRunDetails: false });
    const run = await fake.scm().dispatchWorkflow({ workflow: 'x.yml', ref: 'main', inputs: {} });
    expect(run).toEqual({});
    expect(fake.calls('actions/create-workflow-dispatch').map((r) => r.status)).toEqual([422, 204]);
    expect(fake.dispatches).toHaveLength(1);
  });
});
