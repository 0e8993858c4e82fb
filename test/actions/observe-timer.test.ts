/**
 * Preflight reads the observe-environment's real wait timer (issue 12, item 3), against the
 * fake GitHub answering as GitHub does: an environment with a wait_timer rule, one without any
 * rule (what a private repository on Free, Pro or Team has), one with a timer shorter than the
 * window, and one that does not exist (404). Only the first lets runs dispatch themselves; the
 * others say exactly what to configure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { annotations, GitHubScenario, SPEC } from './scenario.js';

let s: GitHubScenario;
beforeAll(async () => {
  s = await GitHubScenario.create({
    count: 2,
    version: '1.0.0',
    spec: { version: '1.1.0', canary: 1, waves: 2, maxUnavailable: 1, observe: '20m' },
    github: {
      environments: {
        'observe-timer': { waitTimer: 20 },
        'observe-none': {},
        'observe-short': { waitTimer: 5 },
      },
    },
  });
}, 60_000);
afterAll(async () => {
  s.github.assertClean();
  await s?.close();
});

async function preflight(environment: string) {
  const run = await s.job('preflight', { spec: SPEC, probe: 'false', 'observe-environment': environment });
  expect(run.exitCode, run.stderr).toBe(0);
  return { covers: run.outputs['observe-covers'], notes: annotations(run).join('\n') };
}

describe('preflight reads the wait timer of observe-environment', () => {
  it('a timer covering the window: runs may dispatch the next one to wait on it', async () => {
    const r = await preflight('observe-timer');
    expect(r.covers).toBe('true');
    expect(r.notes).toMatch(/observe-timer` waits 20 min before each analysis job/);
  });

  it.each([
    [
      'observe-none',
      /has no wait timer \(none configured, or none available: private repositories on Free, Pro and Team/,
    ],
    ['observe-short', /has a wait timer of 5 min, shorter than the longest observation window \(20m\)/],
    ['observe-missing', /does not exist \(GitHub answers 404\)/],
  ])('%s: no dispatch loop, and the exact setting to change', async (environment, why) => {
    const r = await preflight(environment);
    expect(r.covers).toBe('false');
    expect(r.notes).toMatch(why);
    expect(r.notes).toMatch(/no run dispatches the next one to wait on it/);
    expect(r.notes).toContain(`Settings → Environments → \`${environment}\` → Wait timer, at least 20 minutes`);
    expect(r.notes).toMatch(/schedule/);
  });

  it('the plan job reads it too, and plans as without it when it does not cover the windows', async () => {
    const plan = (environment: string) =>
      s.job('plan', { spec: SPEC, 'observe-environment': environment, 'read-observe-timer': 'true' });
    const covered = await plan('observe-timer');
    expect(covered.outputs['observe-environment']).toBe('observe-timer');
    expect(Number(covered.outputs['wave-count'])).toBeGreaterThan(0);
    const none = await plan('observe-none');
    expect(none.exitCode, none.stderr).toBe(0);
    // One step per run, no job waiting on an environment that holds nothing: the schedule continues.
    expect(none.outputs).toMatchObject({ 'observe-environment': '', 'wave-count': '0', 'canary-wait': 'false' });
    expect(annotations(none).join('\n')).toMatch(
      /planned as without observe-environment observe-none: .*has no wait timer/,
    );
  });

  it('read the environments from GitHub each time (GET …/environments/{name})', () => {
    const paths = s.github.calls('repos/get-environment').map((c) => [c.path, c.status]);
    expect(paths).toEqual(
      expect.arrayContaining([
        ['/repos/acme/fleet/environments/observe-none', 200],
        ['/repos/acme/fleet/environments/observe-missing', 404],
      ]),
    );
  });
});
