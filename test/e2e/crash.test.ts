/**
 * A run killed with SIGKILL mid-wave is continued by the next run, every target
 * upgraded exactly once; a second concurrent run refuses to proceed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll.js';
import { RolloutRepo } from '../helpers/rollout-repo.js';

let repo: RolloutRepo | undefined;
afterEach(async () => {
  await repo?.close();
  repo = undefined;
});

describe('crash and concurrency', () => {
  it('continues after kill -9 in the middle of a wave, upgrading every target exactly once', async () => {
    repo = await RolloutRepo.create({
      count: 6,
      version: '1.0.0',
      upgradeMs: 300,
      spec: { version: '1.1.0', canary: 1, waves: 5, maxUnavailable: 1 },
    });
    const r = repo;
    const first = r.start('run', r.specPath);
    await pollUntil(
      'condition (two targets of all/1 done, one in progress) not reached',
      20_000,
      () => {
        if (!r.hasState()) return false;
        const s = r.state(); // a throw (mid-rename) counts as not yet
        const wave = s.waves.find((w) => w.id === 'all/1');
        const done = wave?.targets.filter((id) => s.targets[id]?.phase === 'Succeeded').length ?? 0;
        return done >= 2 && Object.values(s.targets).some((t) => t.phase === 'Progressing');
      },
      { intervalMs: 25 },
    );
    first.kill('SIGKILL');
    await first.result;
    const interrupted = r.state();
    expect(interrupted.phase).toBe('Progressing');
    const inFlight = Object.entries(interrupted.targets).filter(([, t]) => t.phase === 'Progressing');
    expect(inFlight.length).toBeGreaterThanOrEqual(1);
    expect(inFlight[0]![1].step).toMatch(/probe|drain|upgrade|verify|undrain/);

    const second = await r.cli('run', r.specPath);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    const versions = await r.versions();
    expect([...versions.values()].every((v) => v.version === '1.1.0' && v.upgrades === 1)).toBe(true);
    expect(r.state().phase).toBe('Healthy');
  });

  it('lets exactly one of two concurrent runs proceed', async () => {
    repo = await RolloutRepo.create({
      count: 4,
      version: '1.0.0',
      upgradeMs: 300,
      spec: { version: '1.1.0', canary: 1, waves: 3, maxUnavailable: 1 },
    });
    const r = repo;
    const first = r.start('run', r.specPath);
    await pollUntil("condition (the first run's state file) not reached", 10_000, () => r.hasState(), {
      intervalMs: 25,
    });
    const second = await r.cli('run', r.specPath);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/another run of this rollout is in progress/);
    expect((await first.result).code).toBe(0);
    const versions = await r.versions();
    expect([...versions.values()].every((v) => v.version === '1.1.0' && v.upgrades === 1)).toBe(true);
  });
});
