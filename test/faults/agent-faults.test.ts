/**
 * Agents that hang, reset connections, answer 500, answer slowly, or come back
 * on the old version after an upgrade. Each step has a timeout per attempt and
 * a number of retries (docs/spec.md#steps); a target whose step still fails is
 * Failed with what happened; `maxConsecutiveFailures` failed targets in a row
 * trip the circuit breaker, which starts no further target and pauses the
 * rollout (exit 3). Request counts come from the agents themselves.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { setAgentFault } from '../../src/fleet/client.js';
import type { FaultMode } from '../../src/fleet/agent.js';
import { RolloutRepo } from '../helpers/rollout-repo.js';
import { pollUntil } from '../helpers/poll.js';
import { agentReports, agentStats, delta, deltaAll, faultSpecText, proposeText } from './helpers.js';

let repo: RolloutRepo | undefined;
afterEach(async () => {
  await repo?.close();
  repo = undefined;
});

/**
 * Given: 6 agents on 1.0.0, a rollout to 1.1.0 in waves of 3, one target at a
 * time, version/drain/undrain with 500 ms per attempt and 1 retry; the first
 * wave already done (so the faults below meet the second wave, not preflight).
 */
async function givenFirstWaveDone(spec: Partial<Parameters<typeof faultSpecText>[1]> = {}): Promise<RolloutRepo> {
  const r = await RolloutRepo.create({ count: 6, version: '1.0.0', upgradeMs: 30, spec: { version: '1.0.0' } });
  proposeText(r, faultSpecText('svc', { version: '1.1.0', canary: 0, waves: 3, maxUnavailable: 1, ...spec }));
  const first = await r.cli('run', r.specPath, '--max-waves', '1');
  expect(first.code, first.stderr).toBe(6);
  expect(r.state().waves.map((w) => w.phase)).toEqual(['Completed', 'Pending']);
  return r;
}

const address = (r: RolloutRepo, id: string) => r.fleet.targets.find((t) => t.id === id)!.address;

/** What each fault does to the version step (the first step of a target), as the state must say it. */
const PROBE_FAULTS: { mode: FaultMode; message: RegExp }[] = [
  { mode: 'hang', message: /^version step failed: timed out after 500 ms$/ },
  { mode: 'reset', message: /^version step failed: .*(other side closed|socket hang up|ECONNRESET|closed)/i },
  {
    mode: '500',
    message:
      /^version step failed: GET http:\/\/127\.0\.0\.1:\d+\/version → 500 \(expected [^)]*\): .*fault injected: 500/,
  },
  { mode: 'slow', message: /^version step failed: timed out after 500 ms$/ },
];

describe('agent faults meet timeouts, retries and the circuit breaker', () => {
  for (const { mode, message } of PROBE_FAULTS) {
    it(`${mode}: each attempt fails, is retried once, the target is Failed with why; two in a row trip the breaker`, async () => {
      // A tolerance that lets the breaker, not the first failure, stop the wave.
      repo = await givenFirstWaveDone({ failureTolerance: '100%' });
      const r = repo;
      await setAgentFault(address(r, 't-4'), mode);
      await setAgentFault(address(r, 't-5'), mode);
      const before = await agentStats(r);

      const run = await r.cli('run', r.specPath);

      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(
        /circuit breaker tripped: 2 consecutive target failures \(maxConsecutiveFailures 2\): t-4, t-5/,
      );
      const s = r.state();
      expect(s.phase).toBe('Paused');
      expect(s.condition?.reason).toBe('CircuitBreakerTripped');
      expect(s.breaker.trips).toHaveLength(1);
      expect(s.breaker.trips[0]).toMatchObject({ wave: 'all/2', failedTargets: ['t-4', 't-5'] });
      expect(s.waves[1]).toMatchObject({ id: 'all/2', phase: 'Failed', failed: 2 });
      for (const id of ['t-4', 't-5']) {
        expect(s.targets[id]).toMatchObject({ phase: 'Failed', step: 'version', from: '1.0.0', attempts: 1 });
        expect(s.targets[id]!.message).toMatch(message);
      }
      // The breaker started no further target: t-6 was not even probed.
      expect(s.targets['t-6']).toMatchObject({ phase: 'Pending' });
      const after = await agentStats(r);
      for (const id of ['t-4', 't-5']) {
        expect(delta(after, before, id, '/version')).toBe(2); // 1 attempt + 1 retry
        expect(delta(after, before, id, '/drain')).toBe(0);
        expect(delta(after, before, id, '/upgrade')).toBe(0);
      }
      expect(deltaAll(after, before, 't-6')).toBe(0);
      await setAgentFault(address(r, 't-4'), 'none');
      await setAgentFault(address(r, 't-5'), 'none');
      const reports = await agentReports(r);
      expect(['t-4', 't-5', 't-6'].map((id) => reports.get(id)!.version)).toEqual(['1.0.0', '1.0.0', '1.0.0']);
    });
  }

  it('revert: the agent takes the upgrade, restarts healthy on the old version; Failed with both versions, breaker trips', async () => {
    // Two at once: a failed target stays drained and uses the budget, so one at a time the
    // second would wait for the budget instead of failing.
    repo = await givenFirstWaveDone({ failureTolerance: '100%', maxUnavailable: 2 });
    const r = repo;
    await setAgentFault(address(r, 't-4'), 'revert');
    await setAgentFault(address(r, 't-5'), 'revert');
    const before = await agentStats(r);

    const run = await r.cli('run', r.specPath);

    expect(run.code).toBe(3);
    const s = r.state();
    expect(s.condition?.reason).toBe('CircuitBreakerTripped');
    for (const id of ['t-4', 't-5']) {
      expect(s.targets[id]).toMatchObject({ phase: 'Failed', step: 'verify', from: '1.0.0', version: '1.0.0' });
      expect(s.targets[id]!.message).toMatch(/^reports 1\.0\.0 after .*expected 1\.1\.0$/);
    }
    const after = await agentStats(r);
    const reports = await agentReports(r);
    for (const id of ['t-4', 't-5']) {
      expect(delta(after, before, id, '/upgrade')).toBe(1);
      expect(reports.get(id)).toMatchObject({ version: '1.0.0', upgrades: 1 });
    }
  });

  it('a fault on one target only: it is out of service, so with maxUnavailable 1 no other member is taken down', async () => {
    repo = await givenFirstWaveDone();
    const r = repo;
    await setAgentFault(address(r, 't-5'), '500');
    const before = await agentStats(r);

    const run = await r.cli('run', r.specPath);

    expect(run.code).toBe(3);
    const s = r.state();
    expect(s.breaker.trips).toHaveLength(0);
    // t-5 answers its health check 500: it uses the tier's whole budget of 1.
    expect(s.condition?.reason).toBe('BudgetExhausted');
    expect(s.condition?.message).toMatch(
      /t-4 was not taken out of service: tier all may have 1 member\(s\) out at once and t-5 \(unhealthy/,
    );
    const after = await agentStats(r);
    for (const id of ['t-4', 't-5', 't-6']) {
      expect(delta(after, before, id, '/drain')).toBe(0);
      expect(delta(after, before, id, '/upgrade')).toBe(0);
    }
  });

  it('a fault on one target only, with room in the budget: it is Failed, the breaker does not trip, the wave fails over its tolerance and starts no other target', async () => {
    repo = await givenFirstWaveDone({ maxUnavailable: 2 });
    const r = repo;
    await setAgentFault(address(r, 't-4'), '500');

    const run = await r.cli('run', r.specPath);

    expect(run.code).toBe(3);
    const s = r.state();
    expect(s.breaker.trips).toHaveLength(0);
    expect(s.condition?.reason).toBe('WaveFailureToleranceExceeded');
    expect(s.targets['t-4']).toMatchObject({ phase: 'Failed', step: 'version' });
  });

  it('a step that fails once is retried, and the target succeeds', async () => {
    repo = await givenFirstWaveDone();
    const r = repo;
    const t4 = address(r, 't-4');
    await setAgentFault(t4, '500');
    const before = await agentStats(r);
    const run = r.cli('run', r.specPath);
    // Clear the fault as soon as the first attempt has been answered 500.
    let cleared = false;
    await pollUntil(
      'first attempt not reached',
      20_000,
      () => {
        if (!cleared) {
          void agentStats(r).then(async (now) => {
            if (!cleared && delta(now, before, 't-4', '/version') >= 1) {
              cleared = true;
              await setAgentFault(t4, 'none');
            }
          });
        }
        return cleared;
      },
      { intervalMs: 2 },
    );
    const res = await run;
    expect(res.code, res.stderr).toBe(0);
    const after = await agentStats(r);
    expect(delta(after, before, 't-4', '/version')).toBeGreaterThanOrEqual(3); // 500, retry, version after upgrade
    expect(r.state().targets['t-4']).toMatchObject({ phase: 'Succeeded', version: '1.1.0' });
  });

  it('slow but within the timeout of each attempt: the target succeeds, slowly', async () => {
    repo = await givenFirstWaveDone({ stepTimeout: '3s', verifyTimeout: '10s' });
    const r = repo;
    await setAgentFault(address(r, 't-4'), 'slow');
    const run = await r.cli('run', r.specPath);
    expect(run.code, run.stderr).toBe(0);
    const s = r.state();
    expect(s.phase).toBe('Healthy');
    expect(s.targets['t-4']).toMatchObject({ phase: 'Succeeded', version: '1.1.0' });
    expect((await agentReports(r)).get('t-4')).toMatchObject({ version: '1.1.0', upgrades: 1, drained: false });
  });
});
