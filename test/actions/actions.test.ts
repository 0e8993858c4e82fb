/**
 * Runner-protocol tests of the composite actions the end-to-end scenario does
 * not drive: inputs through env:, outputs, summaries and exit codes, against a
 * real local fleet and the fake GitHub API.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeState } from '../../src/state/format.js';
import { parseState } from '../../src/state/parse.js';
import { annotations, CLI, GitHubScenario, SPEC, STATE } from './scenario.js';

const OPEN_GATES = `gates:
  canary: svc-canary
`;

let s: GitHubScenario;
beforeAll(async () => {
  s = await GitHubScenario.create({
    count: 4,
    version: '1.0.0',
    spec: { version: '1.1.0', canary: 1, waves: 2, maxUnavailable: 2, observe: '10m', extra: OPEN_GATES },
    github: {
      // The canary environment exists but has no reviewers (a private repository on the Free plan).
      environments: { 'svc-canary': {} },
      protectedBranches: ['main'],
      collaborators: { alice: 'maintain', bob: 'triage' },
    },
  });
}, 60_000);
afterAll(async () => {
  s.github.assertClean();
  await s?.close();
});

describe('actions on GitHub (runner protocol)', () => {
  it('preflight warns that the canary gate has no reviewers and that main is protected', async () => {
    const run = await s.job('preflight', { spec: SPEC, 'state-branch': 'fleetgate-state' });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.outputs['gates-protected']).toBe('false');
    const notes = annotations(run).join('\n');
    expect(notes).toMatch(
      /^::warning title=fleetgate%3A gate canary::environment `svc-canary` \(canary gate\) has no required reviewers/m,
    );
    expect(run.outputs['state-location']).toMatch(/dedicated branch fleetgate-state \(will be created from main\)/);
    expect(run.summary).toMatch(/Fleetgate preflight: `svc` — ✅ ready/);
    const onMain = await s.job('preflight', { spec: SPEC, probe: 'false', audit: 'false' });
    expect(onMain.outputs['state-location']).toMatch(/main, which is protected.*Set `state-branch`/);
  });

  it('a pull request from a fork gets the plan in the job summary, no comment and no probe', async () => {
    const pr = { pull_request: { number: 3, head: { repo: { full_name: 'mallory/fleet' } } } };
    const run = await s.job(
      'plan',
      { spec: SPEC, comment: 'true', preflight: 'true' },
      { event: pr, eventName: 'pull_request' },
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(s.github.comments).toHaveLength(0);
    expect(run.summary).toMatch(/## Fleetgate plan/);
    expect(run.summary).toMatch(/not checked: pull request from a fork/);
    // The plan says what guards the rollout, as `fleetgate plan` does.
    expect(run.summary).toMatch(
      /<summary>Gates, analysis and what a rollback would restore<\/summary>[\s\S]*approval "svc-canary" before \S+\/canary/,
    );
    expect(annotations(run).join('\n')).toMatch(/from a fork: its token is read-only/);
  });

  it('an unprotected gate pauses the canary job; only a maintainer’s decide continues it (fallback approval)', async () => {
    const canary = await s.job('wave', {
      spec: SPEC,
      gate: 'svc-canary',
      'state-branch': 'fleetgate-state',
      'fail-on': 'none',
    });
    expect(canary.exitCode, canary.stderr).toBe(0);
    expect(canary.outputs).toMatchObject({ approved: '', outcome: 'Paused', reason: 'GatePending', 'exit-code': '3' });
    expect(s.github.calls('git/create-ref')).toHaveLength(1);
    expect((await s.state('fleetgate-state'))?.phase).toBe('Paused');
    expect(await s.state('main')).toBeUndefined();

    const refused = await s.job(
      'decide',
      { spec: SPEC, decision: 'continue', reason: 'lgtm', 'state-branch': 'fleetgate-state' },
      { actor: 'bob', eventName: 'workflow_dispatch' },
    );
    expect(refused.exitCode).toBe(1);
    expect(annotations(refused).join('\n')).toMatch(/bob has triage permission/);
    expect((await s.state('fleetgate-state'))?.approvals).toEqual([]);

    const ok = await s.job(
      'decide',
      { spec: SPEC, decision: 'continue', reason: 'canary host checked by hand', 'state-branch': 'fleetgate-state' },
      { actor: 'alice', eventName: 'workflow_dispatch' },
    );
    expect(ok.exitCode, ok.stderr).toBe(0);
    // The canary ran and its 10-minute window is open: deferred, not slept through.
    expect(ok.outputs).toMatchObject({
      outcome: 'Progressing',
      reason: 'ObservationWindowOpen',
      'window-open': 'true',
    });
    const state = (await s.state('fleetgate-state'))!;
    expect(state.approvals).toEqual([expect.objectContaining({ gate: 'svc-canary', by: 'github:alice' })]);
    expect(state.decisions.at(-1)).toMatchObject({
      decision: 'continue',
      by: 'github:alice',
      reason: 'canary host checked by hand',
    });
    // The action names its stage (`--stage decide`) in the summary's title.
    expect(ok.summary).toMatch(/^## Fleetgate decide: `svc`$/m);
    expect(ok.summary).toMatch(/### Approvals[\s\S]*svc-canary/);
  });

  it('analyze leaves a long open window to a later run instead of sleeping', async () => {
    // A job that slept through the 10-minute window would pass the test's timeout.
    const run = await s.job('analyze', { spec: SPEC, 'state-branch': 'fleetgate-state' });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.outputs).toMatchObject({ outcome: 'Progressing', 'window-open': 'true', 'current-wave': 'all/canary' });
    expect(run.outputs['observe-until']).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(run.summary).toMatch(/^## Fleetgate analyze: `svc`$/m);
    const plan = await s.job('plan', { spec: SPEC, 'state-branch': 'fleetgate-state' });
    // The canary is still in its window: the next run finishes it (no second approval asked),
    // and with long windows and no wait-timer environment, runs hold one step each.
    expect(plan.outputs).toMatchObject({
      'canary-wave': 'all/canary',
      'canary-environment': '',
      'short-windows': 'false',
      'wave-count': '0',
      'more-waves': 'true',
    });
  });

  it('commit-state commits a local run against the revision the job started from, and reports a conflict', async () => {
    // A job that ran the CLI with the local backend: its checkout holds the newer state.
    const workspace = await s.checkout();
    const statePath = join(workspace, STATE);
    const base = parseState((await s.github.remote.read('fleetgate-state', STATE))!, STATE);
    const local = { ...base, revision: base.revision + 3, currentWave: 'all/1' };
    const { writeFileSync } = await import('node:fs');
    writeFileSync(statePath, serializeState(local));
    // The job started from fleetgate-state's head: make that the checkout's base.
    const { execFileSync } = await import('node:child_process');
    execFileSync('git', ['fetch', '--quiet', 'origin', 'fleetgate-state'], { cwd: workspace });
    const { runAction } = await import('./runner.js');
    const env = { ...s.github.env(), GITHUB_RUN_ID: '9', GITHUB_ACTOR: 'alice' };
    const event = { repository: { default_branch: 'main', full_name: s.github.slug } };
    const ok = await runAction('commit-state', {
      workspace,
      event,
      env,
      token: s.github.opts.token,
      with: { spec: SPEC, 'state-branch': 'fleetgate-state', 'base-ref': 'FETCH_HEAD', 'node-version': '' },
    });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.outputs.revision).toBe(String(local.revision));
    expect(parseState((await s.github.remote.read('fleetgate-state', STATE))!, STATE).currentWave).toBe('all/1');
    // Same base again, but the branch moved on (another run wrote): reported, not overwritten.
    const before = await s.github.remote.read('fleetgate-state', STATE);
    writeFileSync(statePath, serializeState({ ...local, revision: local.revision + 1, phase: 'Degraded' }));
    const refused = await runAction('commit-state', {
      workspace,
      event,
      env,
      token: s.github.opts.token,
      with: { spec: SPEC, 'state-branch': 'fleetgate-state', 'base-ref': 'FETCH_HEAD', 'node-version': '' },
    });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(
      /changed since this job started .*another writer changed currentWave.*Not overwritten/,
    );
    expect(await s.github.remote.read('fleetgate-state', STATE)).toBe(before);
    expect(readFileSync(statePath, 'utf8')).toContain('phase: Degraded');
  });
});

describe('github summary names the workflow stage', () => {
  const summary = (args: string[]) =>
    spawnSync(process.execPath, [CLI, 'github', 'summary', 'rollouts/none.yaml', ...args], { encoding: 'utf8' });

  it('by --stage only: the old --phase is refused, naming --stage', () => {
    const bare = summary(['--phase', 'wave']);
    expect(bare.status).toBe(2);
    expect(bare.stderr).toMatch(/required option '--stage <name>' not specified/);
    const both = summary(['--stage', 'wave', '--phase', 'wave']);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/unknown option '--phase'/);
  });
});
