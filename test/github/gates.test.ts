/**
 * Gates and audit: the environment audit says what an unprotected gate means,
 * fallback approvals are accepted only from users with the permission (or a
 * listed team), and environment approvals are found in the run's reviews.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  authorizeActor,
  countRecordedRunApprovals,
  findEnvironmentApproval,
  permissionAtLeast,
} from '../../src/github/approvals.js';
import { assessEnvironment, auditEnvironments } from '../../src/github/environments.js';
import { FakeGitHub } from './fake-github.js';

let fake: FakeGitHub | undefined;
afterEach(async () => {
  fake?.assertClean();
  await fake?.close();
  fake = undefined;
});

describe('environment audit', () => {
  it('reads each gate and warns, naming the consequence, when nobody would approve', async () => {
    fake = await FakeGitHub.start({
      environments: {
        'edge-canary': {},
        'edge-production': { reviewers: [{ type: 'Team', name: 'sre' }], preventSelfReview: true },
        'fleetgate-observe': { waitTimer: 10 },
      },
    });
    const audit = await auditEnvironments(
      fake.scm(),
      { canary: 'edge-canary', promote: 'edge-production' },
      { observeEnvironment: 'fleetgate-observe', maxObserveMs: 15 * 60_000 },
    );
    expect(audit.map((a) => [a.gate, a.verdict, a.severity])).toEqual([
      ['canary', 'open', 'warning'],
      ['promote', 'protected', 'notice'],
      ['observe', 'timer', 'warning'],
    ]);
    expect(audit[0]!.message).toMatch(
      /no required reviewers or wait timer .*would run without waiting.*fallback approval/,
    );
    expect(audit[1]!.message).toMatch(/requires approval by team sre \(not by whoever started the run\)/);
    expect(audit[2]!.message).toMatch(/shorter than the longest observation window \(15m\).*at least 15 min/);
    expect(fake.calls('repos/get-environment')).toHaveLength(3);
  });

  it('says a missing environment would be created without protection', () => {
    const a = assessEnvironment('promote', 'prod', undefined);
    expect(a.verdict).toBe('missing');
    expect(a.message).toMatch(/creates it WITHOUT protection rules/);
    const t = assessEnvironment('canary', 'c', {
      name: 'c',
      reviewers: [],
      waitTimerMinutes: 30,
      preventSelfReview: false,
      branchPolicy: false,
    });
    expect(t.verdict).toBe('timer');
    expect(t.message).toMatch(/delays, but nobody approves/);
    const u = assessEnvironment('canary', 'c', new Error('403 Resource not accessible by integration'));
    expect(u.verdict).toBe('unknown');
    expect(u.message).toMatch(/actions: read/);
  });
});

describe('fallback approval permission', () => {
  it('accepts maintainers and listed team members, refuses others and bots', async () => {
    fake = await FakeGitHub.start({
      collaborators: { alice: 'maintain', carol: 'write', dave: 'admin' },
      teams: { 'acme/sre': ['carol'] },
    });
    const scm = fake.scm();
    await expect(authorizeActor(scm, 'alice', { permission: 'maintain' })).resolves.toMatchObject({
      permission: 'maintain',
    });
    await expect(authorizeActor(scm, 'dave', { permission: 'maintain' })).resolves.toMatchObject({
      permission: 'admin',
    });
    await expect(authorizeActor(scm, 'carol', { permission: 'maintain' })).rejects.toThrow(
      /carol has write permission on acme\/fleet; this needs maintain\. Nothing was recorded/,
    );
    await expect(authorizeActor(scm, 'carol', { permission: 'maintain', teams: ['acme/sre'] })).resolves.toMatchObject({
      team: 'acme/sre',
    });
    await expect(authorizeActor(scm, 'mallory', { permission: 'read' })).rejects.toThrow(/mallory has none permission/);
    await expect(authorizeActor(scm, 'github-actions[bot]', { permission: 'read' })).rejects.toThrow(
      /must come from a person/,
    );
    expect(fake.calls('repos/get-collaborator-permission-level').map((r) => r.path)).toContain(
      '/repos/acme/fleet/collaborators/alice/permission',
    );
  });

  it('orders permissions', () => {
    expect(permissionAtLeast('admin', 'maintain')).toBe(true);
    expect(permissionAtLeast('write', 'maintain')).toBe(false);
    expect(permissionAtLeast('triage', 'read')).toBe(true);
  });

  it('finds who approved an environment in the run', async () => {
    fake = await FakeGitHub.start({
      reviews: {
        7: [
          { environments: ['edge-canary'], state: 'rejected', user: 'bob', comment: 'not yet' },
          { environments: ['edge-canary'], state: 'approved', user: 'alice', comment: 'dashboards green' },
        ],
      },
    });
    expect(await findEnvironmentApproval(fake.scm(), 7, 'edge-canary')).toMatchObject({
      user: 'alice',
      comment: 'dashboards green',
    });
    expect(await findEnvironmentApproval(fake.scm(), 7, 'edge-production')).toBeUndefined();
  });

  it("does not count an earlier attempt's approval again (the list is per run, every attempt in it)", async () => {
    const runUrl = 'https://github.com/acme/fleet/actions/runs/8';
    fake = await FakeGitHub.start({
      reviews: {
        8: [{ environments: ['edge-canary'], state: 'approved', user: 'alice', comment: 'first try', attempt: 1 }],
        9: [
          { environments: ['edge-canary'], state: 'approved', user: 'bob', comment: 'again', attempt: 2 },
          { environments: ['edge-canary'], state: 'approved', user: 'alice', comment: 'first try', attempt: 1 },
        ],
      },
    });
    // Attempt 1 recorded alice's approval; attempt 2 waited again and an administrator bypassed it.
    const recorded = [
      {
        at: '2026-12-01T10:00:00Z',
        gate: 'edge-canary',
        by: 'github:alice',
        via: 'environment edge-canary',
        run: runUrl,
      },
      {
        at: '2026-12-01T10:00:00Z',
        gate: 'edge-canary',
        by: 'github:x',
        via: 'environment edge-canary',
        run: `${runUrl}9`,
      },
      { at: '2026-12-01T10:00:00Z', gate: 'edge-canary', by: 'alice (--approve edge-canary)' },
    ];
    const earlier = countRecordedRunApprovals(recorded, 'edge-canary', runUrl);
    expect(earlier).toBe(1);
    expect(countRecordedRunApprovals(recorded, 'edge-canary', undefined)).toBe(0);
    expect(await findEnvironmentApproval(fake.scm(), 8, 'edge-canary', earlier)).toBeUndefined();
    expect(await findEnvironmentApproval(fake.scm(), 8, 'edge-canary')).toMatchObject({ user: 'alice' });
    // A second attempt that was approved again: the newest approval counts (the fake lists attempts in order).
    expect(await findEnvironmentApproval(fake.scm(), 9, 'edge-canary', 1)).toMatchObject({ user: 'bob' });
  });
});
