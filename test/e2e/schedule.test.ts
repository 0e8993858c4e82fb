/**
 * Deploy freezes through the bundled CLI against real agents: a run inside a freeze stops
 * before the first wave with exit 6 and touches no agent, `plan` shows the waves held by the
 * schedule, and a rollback is not held. (Windows in real time are tested on the fake clock:
 * test/engine/schedule.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RolloutRepo } from '../helpers/rollout-repo.js';

let repo: RolloutRepo | undefined;
afterEach(async () => {
  await repo?.close();
  repo = undefined;
});

/** A freeze from long ago through the day 30 days from now (UTC), and the instant it ends. */
const until = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
const ends = new Date(Date.parse(`${until}T00:00:00Z`) + 86_400_000);
const FROZEN = `schedule:
  freezes:
    - {from: 2000-01-01, until: ${until}, reason: test freeze}
`;

describe('fleetgate run under a schedule', () => {
  it('stops before the first wave inside a freeze (exit 6), touching no agent; plan says so', async () => {
    repo = await RolloutRepo.create({ count: 3, version: '1.0.0', spec: { version: '1.1.0', extra: FROZEN } });
    const plan = await repo.cli('plan', repo.specPath);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/Schedule \(times in UTC, from .*\):/);
    expect(plan.stdout).toMatch(
      new RegExp(`all/canary\\s+\\w{3} ${ends.toISOString().slice(0, 10)} 00:00 → .*held by the schedule`),
    );

    const r = await repo.cli('run', repo.specPath);
    expect(r.code, r.stderr).toBe(6);
    expect(`${r.stdout}${r.stderr}`).toContain('deploy freeze until');
    expect([...(await repo.versions()).values()].map((v) => v.upgrades)).toEqual([0, 0, 0]);
    const state = repo.state();
    expect(state.phase).toBe('Progressing');
    expect(state.condition).toMatchObject({ reason: 'DeployFreeze', opensAt: ends.toISOString() });
  });
});
