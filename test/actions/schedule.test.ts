/**
 * The schedule's cost (issue 12, item 8): on a schedule tick the `specs` action with
 * `skip-idle` leaves out specs with nothing to do now, read from their state through the
 * contents API, so the rollout workflow is not called for them; on a push it leaves nothing out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeState } from '../../src/state/format.js';
import { GitHubScenario, SPEC, STATE } from './scenario.js';

let s: GitHubScenario;
beforeAll(async () => {
  s = await GitHubScenario.create({
    count: 3,
    version: '1.0.0',
    spec: { version: '1.1.0', canary: 1, waves: 1, maxUnavailable: 1, observe: '20m' },
  });
}, 60_000);
afterAll(async () => {
  s.github.assertClean();
  await s?.close();
});

const tick = () =>
  s.job('specs', { 'skip-idle': 'true' }, { eventName: 'schedule', event: { schedule: '23 * * * *' } });

describe('a schedule tick', () => {
  it('keeps a spec that has work (never started)', async () => {
    const run = await tick();
    expect(run.exitCode, run.stderr).toBe(0);
    expect(JSON.parse(run.outputs.specs!)).toEqual([SPEC]);
    expect(run.outputs.idle).toBe('[]');
  });

  it('skips it while its observation window is open', async () => {
    const wave = await s.job('wave', { spec: SPEC });
    expect(wave.outputs.outcome).toBe('Progressing');
    expect((await s.state())?.waves.find((w) => w.phase === 'Observing')?.observeUntil).toBeTruthy();
    const run = await tick();
    expect(JSON.parse(run.outputs.specs!)).toEqual([]);
    expect(JSON.parse(run.outputs.idle!)).toEqual([SPEC]);
    expect(run.summary).toMatch(
      /Nothing to do now \(no rollout run started\):\n- `rollouts\/svc\.yaml`: observation window open until/,
    );
  });

  it('skips a finished rollout; without skip-idle (push, dispatch) it is still listed', async () => {
    const state = (await s.state())!;
    state.phase = 'Healthy';
    state.currentWave = undefined;
    for (const w of state.waves) w.phase = 'Completed';
    state.revision += 1;
    await s.github.remote.writeFile({
      branch: 'main',
      path: STATE,
      content: Buffer.from(serializeState(state)),
      message: 'finished',
      expectedSha: await s.github.remote.blobAt((await s.github.remote.head('main'))!, STATE),
    });
    const run = await tick();
    expect(JSON.parse(run.outputs.specs!)).toEqual([]);
    expect(run.summary).toMatch(/`rollouts\/svc\.yaml`: already Healthy at 1\.1\.0/);
    const all = await s.job('specs', { 'skip-idle': 'false' }, { eventName: 'schedule' });
    expect(JSON.parse(all.outputs.specs!)).toEqual([SPEC]);
  });
});
