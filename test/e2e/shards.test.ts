/**
 * A big wave through the bundled CLI on the local backend (issue 12, item 18): `run
 * --open-shards 2` opens the wave, `run --shard 1/2` and `--shard 2/2` each upgrade only their
 * half of a real fleet of agents, and `run` takes the verdict and completes the rollout.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RolloutRepo } from '../helpers/rollout-repo.js';
import { shardSlice } from '../../src/engine/shard.js';

let repo: RolloutRepo | undefined;
afterEach(async () => {
  await repo?.close();
  repo = undefined;
});

describe('fleetgate run --open-shards / --shard', () => {
  it('opens a wave, moves each leg’s slice only, and completes it at the verdict', async () => {
    repo = await RolloutRepo.create({
      count: 6,
      version: '1.0.0',
      spec: { version: '1.1.0', canary: 0, waves: 6, maxUnavailable: 2, observe: '100ms' },
    });
    const opened = await repo.cli('run', repo.specPath, '--open-shards', '2');
    expect(opened.code, opened.stderr).toBe(6);
    const wave = repo.state().waves[0]!;
    expect(wave).toMatchObject({ phase: 'Progressing', shards: 2 });
    expect([...(await repo.versions()).values()].every((v) => v.upgrades === 0)).toBe(true);

    const first = await repo.cli('run', repo.specPath, '--shard', '1/2');
    expect(first.code, first.stderr).toBe(6);
    const slice = new Set(shardSlice(wave.targets, { index: 1, count: 2 }));
    for (const [id, v] of await repo.versions())
      expect([id, v.version]).toEqual([id, slice.has(id) ? '1.1.0' : '1.0.0']);

    const second = await repo.cli('run', repo.specPath, '--shard', '2/2');
    expect(second.code, second.stderr).toBe(6);
    expect([...(await repo.versions()).values()].map((v) => v.upgrades)).toEqual(Array(6).fill(1));

    const verdict = await repo.cli('run', repo.specPath);
    expect(verdict.code, verdict.stderr).toBe(0);
    const state = repo.state();
    expect(state.phase).toBe('Healthy');
    expect(state.shardLegs).toBeUndefined();
    expect([...(await repo.versions()).values()].map((v) => v.upgrades)).toEqual(Array(6).fill(1));
  });

  it('refuses a malformed --shard as a usage error', async () => {
    repo = await RolloutRepo.create({ count: 2, version: '1.0.0', spec: { version: '1.1.0', canary: 0 } });
    const r = await repo.cli('run', repo.specPath, '--shard', '3/2');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--shard i must be 1 to 2');
  });
});
