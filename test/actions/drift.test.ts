/**
 * Drift on a schedule (issue 12, item 17): the `drift` action reads the rollout's state
 * from GitHub (never the checkout, which may be older), asks every real agent its version,
 * and keeps one issue per rollout on the fake GitHub in step: opened when a target drifts,
 * left alone while nothing changed, updated when the drift changes, closed with a comment
 * when every target agrees again. A rollout in flight is not checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitHubScenario, SPEC } from './scenario.js';

let s: GitHubScenario;
beforeAll(async () => {
  s = await GitHubScenario.create({
    count: 3,
    version: '1.0.0',
    spec: { version: '1.1.0', canary: 1, waves: 1, maxUnavailable: 1, observe: '0s' },
  });
}, 60_000);
afterAll(async () => {
  s.github.assertClean();
  await s?.close();
});

/** An operator changes a target by hand, outside Fleetgate; waits until it answers on `version`. */
async function setByHand(address: string, version: string): Promise<void> {
  const r = await fetch(`http://${address}/upgrade?version=${encodeURIComponent(version)}`, { method: 'POST' });
  expect(r.status).toBeLessThan(300);
  await expect
    .poll(async () => ((await (await fetch(`http://${address}/version`)).json()) as { version: string }).version, {
      timeout: 10_000,
    })
    .toBe(version);
}

const drift = () => s.job('drift', { spec: SPEC }, { eventName: 'schedule', event: { schedule: '41 */6 * * *' } });

describe('the scheduled drift check', () => {
  it('skips a rollout in flight', async () => {
    const wave = await s.job('wave', { spec: SPEC, 'max-waves': '1' });
    expect(wave.outputs.outcome, wave.stderr).toBe('Progressing');
    const run = await drift();
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.outputs['issue-action']).toBe('skipped');
    expect(s.github.issues).toEqual([]);
  });

  it('opens one issue when a target drifts, leaves it while nothing changes, updates it when the drift changes', async () => {
    const rest = await s.job('wave', { spec: SPEC, 'max-waves': '10', 'defer-observation': 'false' });
    expect(rest.outputs.outcome, rest.stderr).toBe('Healthy');
    expect((await drift()).outputs['issue-action']).toBe('none');

    const [t1, t2] = s.fleet.targets;
    await setByHand(t1!.address, '1.3.0');
    const opened = await drift();
    expect(opened.exitCode, opened.stderr).toBe(0);
    expect(opened.outputs).toMatchObject({ drifted: '1', checked: '3', 'issue-action': 'opened' });
    expect(s.github.issues).toHaveLength(1);
    const issue = s.github.issues[0]!;
    expect(issue.labels).toEqual(['fleetgate-drift']);
    expect(issue.title).toBe('Fleetgate: svc has drifted (1 of 3 targets)');
    expect(issue.body).toContain('| t-1 | 1.1.0 | 1.3.0 |');
    expect(opened.summary).toMatch(/1 of 3 targets drifted\. Issue \[#\d+\]/);

    expect((await drift()).outputs['issue-action']).toBe('unchanged');

    await setByHand(t2!.address, '0.9.0');
    expect((await drift()).outputs['issue-action']).toBe('updated');
    expect(s.github.issues).toHaveLength(1);
    expect(s.github.issues[0]!.title).toBe('Fleetgate: svc has drifted (2 of 3 targets)');
  });

  it('closes the issue with a comment once every target agrees again', async () => {
    for (const t of s.fleet.targets.slice(0, 2)) await setByHand(t.address, '1.1.0');
    const run = await drift();
    expect(run.outputs['issue-action']).toBe('closed');
    const issue = s.github.issues[0]!;
    expect(issue).toMatchObject({ state: 'closed', stateReason: 'completed' });
    expect(s.github.comments.filter((c) => c.issue === issue.number).map((c) => c.body)).toEqual([
      expect.stringMatching(
        /^All 3 targets of `rollouts\/svc\.yaml` report the version the state says they run again\./,
      ),
    ]);
    expect((await drift()).outputs['issue-action']).toBe('none');
  });
});
