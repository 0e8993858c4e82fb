/**
 * End-to-end rollouts through the bundled CLI, against real agent processes and
 * real git repositories.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RolloutRepo } from '../helpers/rollout-repo.js';

let repo: RolloutRepo | undefined;
afterEach(async () => {
  await repo?.close();
  repo = undefined;
});

function allOn(versions: Map<string, { version: string }>, v: string): boolean {
  return [...versions.values()].every((x) => x.version === v);
}

describe('fleetgate run', () => {
  it('rolls a fleet from 1.0.0 to 1.1.0 wave by wave, committing state after every wave', async () => {
    repo = await RolloutRepo.create({
      count: 8,
      version: '1.0.0',
      spec: { version: '1.1.0', canary: 1, waves: 3, observe: '200ms' },
    });
    const r = await repo.cli('run', repo.specPath);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const versions = await repo.versions();
    expect(allOn(versions, '1.1.0')).toBe(true);
    expect([...versions.values()].map((v) => v.upgrades)).toEqual(Array(8).fill(1));

    const state = repo.state();
    expect(state.phase).toBe('Healthy');
    expect(state.lastKnownGood).toBe('1.1.0');
    expect(state.fromVersion).toBe('1.0.0');
    expect(state.waves.map((w) => [w.id, w.phase])).toEqual([
      ['all/canary', 'Completed'],
      ['all/1', 'Completed'],
      ['all/2', 'Completed'],
      ['all/3', 'Completed'],
    ]);
    expect(
      Object.values(state.targets).every((t) => t.phase === 'Succeeded' && t.from === '1.0.0' && t.version === '1.1.0'),
    ).toBe(true);

    const log = repo.git('log', '--format=%s', '--', 'rollouts/svc.state.yaml');
    expect(log).toMatch(/fleetgate: svc wave 1\/4 \(all\/canary\) healthy \(1\.0\.0 → 1\.1\.0\)/);
    expect(log).toMatch(/fleetgate: svc wave 4\/4 \(all\/3\) healthy/);
    expect(log).toMatch(/fleetgate: svc healthy at 1\.1\.0/);
    expect(repo.git('status', '--porcelain', '--', 'rollouts')).toBe('');

    // Idempotent: a second run upgrades nothing.
    const again = await repo.cli('run', repo.specPath);
    expect(again.code).toBe(0);
    expect([...(await repo.versions()).values()].map((v) => v.upgrades)).toEqual(Array(8).fill(1));
  });

  it('emits JSON-line events named after seed 001', async () => {
    repo = await RolloutRepo.create({ count: 3, version: '1.0.0', spec: { version: '1.1.0', canary: 1, waves: 2 } });
    const r = await repo.cli('run', repo.specPath, '--json');
    expect(r.code).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string });
    const names = new Set(events.map((e) => e.event));
    for (const n of [
      'rollout_started',
      'wave_started',
      'target_started',
      'target_health_check',
      'target_completed',
      'wave_completed',
      'rollout_completed',
    ]) {
      expect(names).toContain(n);
    }
  });

  it('refuses a downgrade before touching any target', async () => {
    repo = await RolloutRepo.create({ count: 3, version: '1.0.0', spec: { version: '1.1.0' } });
    expect((await repo.cli('run', repo.specPath)).code).toBe(0);
    repo.propose({ version: '1.0.5' });
    const r = await repo.cli('run', repo.specPath);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refusing to downgrade 1\.1\.0 → 1\.0\.5/);
    const versions = await repo.versions();
    expect(allOn(versions, '1.1.0')).toBe(true);
    expect([...versions.values()].map((v) => v.upgrades)).toEqual([1, 1, 1]);
    expect(repo.state().phase).toBe('Healthy');
  });

  it('reports every spec mistake with its line and column and touches nothing', async () => {
    repo = await RolloutRepo.create({ count: 2, version: '1.0.0', spec: { version: '1.1.0' } });
    const broken = `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: svc
component: fleet-agent
version: not-semver
inventory:
  file: ../inventory.yaml
tiers:
  - name: all
    strategy:
      canary: twenty
      observe: soon
      bogus: 1
steps:
  version: { http: { url: 'http://{{target.address}}/version' } }
  upgrade: { http: { url: 'http://{{target.address}}/upgrade?v={{versoin}}' } }
  verify: { http: { url: 'http://{{target.address}}/healthz' } }
`;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${repo.dir}/${repo.specPath}`, broken);
    const r = await repo.cli('run', repo.specPath);
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('rollouts/svc.yaml:'));
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(r.stderr).toMatch(/rollouts\/svc\.yaml:5:\d+ version:/);
    expect(r.stderr).toMatch(/rollouts\/svc\.yaml:11:\d+ tiers\[0\]\.strategy\.canary:/);
    expect(r.stderr).toMatch(/rollouts\/svc\.yaml:12:\d+ tiers\[0\]\.strategy\.observe:/);
    expect(r.stderr).toMatch(/rollouts\/svc\.yaml:13:\d+ tiers\[0\]\.strategy/);
    expect(r.stderr).toMatch(/rollouts\/svc\.yaml:16:\d+ steps\.upgrade/);
    expect(r.stderr).toMatch(/no target was touched/);
    expect(repo.hasState()).toBe(false);
    expect([...(await repo.versions()).values()].every((v) => v.upgrades === 0)).toBe(true);
  });
});

describe('circuit breaker and decisions', () => {
  async function tripped(): Promise<RolloutRepo> {
    const r = await RolloutRepo.create({
      count: 8,
      version: '1.0.0',
      spec: { version: '1.1.0', canary: 1, waves: 3, maxUnavailable: 2, verifyTimeout: '600ms' },
    });
    expect((await r.cli('run', r.specPath)).code).toBe(0);
    // A version that never turns healthy; the canary passes only because it is a count-0 canary here.
    // Two at once: both fail before the wave's 0% tolerance stops new targets.
    r.propose({ version: '1.2.0-broken', canary: 0, waves: 3, maxUnavailable: 2, verifyTimeout: '600ms' });
    return r;
  }

  it('trips after 2 consecutive failures, starts no new target, and pauses with the reason (exit 3)', async () => {
    repo = await tripped();
    const r = await repo.cli('run', repo.specPath);
    expect(r.code).toBe(3);
    const s = repo.state();
    expect(s.phase).toBe('Paused');
    expect(s.condition?.reason).toBe('CircuitBreakerTripped');
    expect(s.breaker.trips).toHaveLength(1);
    expect(s.breaker.trips[0]!.failedTargets).toHaveLength(2);
    const failed = Object.entries(s.targets).filter(([, t]) => t.phase === 'Failed');
    expect(failed).toHaveLength(2);
    const versions = await repo.versions();
    expect([...versions.values()].filter((v) => v.version === '1.2.0-broken')).toHaveLength(2);
    // `run` again does not walk past a pause.
    const again = await repo.cli('run', repo.specPath);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/paused: circuit breaker tripped/);
  });

  it('rollback returns the touched targets to the previous version (exit 4)', async () => {
    repo = await tripped();
    expect((await repo.cli('run', repo.specPath)).code).toBe(3);
    const r = await repo.cli('resume', repo.specPath, '--decision', 'rollback', '--reason', 'broken build');
    expect(r.code).toBe(4);
    expect(allOn(await repo.versions(), '1.1.0')).toBe(true);
    const s = repo.state();
    expect(s.phase).toBe('RolledBack');
    expect(s.lastKnownGood).toBe('1.1.0');
    expect(s.decisions.at(-1)).toMatchObject({ decision: 'rollback', reason: 'broken build' });
    expect(Object.values(s.targets).filter((t) => t.phase === 'RolledBack')).toHaveLength(2);
    // The rolled-back version is not rolled out again by accident.
    const again = await repo.cli('run', repo.specPath);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/1\.2\.0-broken was rolled back/);
  });

  it('abort stops where it is (Degraded, exit 1)', async () => {
    repo = await tripped();
    expect((await repo.cli('run', repo.specPath)).code).toBe(3);
    const r = await repo.cli('resume', repo.specPath, '--decision', 'abort');
    expect(r.code).toBe(1);
    const s = repo.state();
    expect(s.phase).toBe('Degraded');
    expect(s.condition?.reason).toBe('Aborted');
    expect([...(await repo.versions()).values()].filter((v) => v.version === '1.2.0-broken')).toHaveLength(2);
  });

  it('continue cannot spend capacity the failed targets still hold: they stay drained and use the budget', async () => {
    repo = await tripped();
    expect((await repo.cli('run', repo.specPath)).code).toBe(3);
    const r = await repo.cli('resume', repo.specPath, '--decision', 'continue');
    expect(r.code).toBe(3);
    const s = repo.state();
    expect(s.condition?.reason).toBe('BudgetExhausted');
    expect(s.condition?.message).toMatch(/may have 2 member\(s\) out at once/);
    expect(s.decisions.map((d) => d.decision)).toEqual(['continue']);
    // No third target was taken down: the two failed ones are still out of service.
    expect(Object.values(s.targets).filter((t) => t.phase === 'Failed')).toHaveLength(2);
    expect([...(await repo.versions()).values()].filter((v) => v.version === '1.2.0-broken')).toHaveLength(2);
  });
});

describe('fleetgate rollback', () => {
  it('returns the whole fleet to the last known good version', async () => {
    repo = await RolloutRepo.create({ count: 4, version: '1.0.0', spec: { version: '1.1.0' } });
    expect((await repo.cli('run', repo.specPath)).code).toBe(0);
    repo.propose({ version: '1.2.0' });
    expect((await repo.cli('run', repo.specPath)).code).toBe(0);
    expect(repo.state().lastKnownGood).toBe('1.2.0');
    const r = await repo.cli('rollback', repo.specPath, '--to', '1.1.0', '--reason', 'regression');
    expect(r.code).toBe(4);
    expect(allOn(await repo.versions(), '1.1.0')).toBe(true);
    const s = repo.state();
    expect(s.phase).toBe('RolledBack');
    expect(s.isRollback).toBe(true);
    expect(s.history[0]).toMatchObject({ from: '1.2.0', to: '1.1.0', phase: 'RolledBack' });
    expect(s.history[1]).toMatchObject({ from: '1.1.0', to: '1.2.0', phase: 'Healthy' });
    expect(s.lastKnownGood).toBe('1.1.0');
    const drift = await repo.cli('drift', repo.specPath);
    expect(drift.code).toBe(0);
  });
});
