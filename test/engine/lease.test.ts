/**
 * The run lease in the state (shared backends): judged purely, then through the engine on
 * the in-memory kit — taken and committed before any target is touched, refused while
 * another run holds it, taken over when it expired or its process is gone, renewed during a
 * long window, released however the run ends; and two rollouts starting at once over the
 * same targets (the earlier lease goes on).
 */
import { describe, expect, it } from 'vitest';
import { judgeLease, LEASE_TTL_MS, leaseClaimant, newLease, type LeaseOptions } from '../../src/engine/lease.js';
import { RolloutLockedError, TargetHeldError } from '../../src/errors.js';
import { createEmptyState, type RolloutState, type StateLease } from '../../src/state/types.js';
import { engineSpec, fleet, rejection, scenario, size, tier } from './kit/engine.js';
import { T0 } from './kit/clock.js';

const RUNNER_A: LeaseOptions = { holder: 'github:alice run 1 attempt 1 job wave', key: 'github:o/r:1:wave' };
const RUNNER_B: LeaseOptions = { holder: 'github:bob run 2 attempt 1 job rollback', key: 'github:o/r:2:rollback' };

function lease(holder: LeaseOptions, acquiredAt: number, ttlMs = LEASE_TTL_MS): StateLease {
  return newLease(holder, acquiredAt, ttlMs);
}

const alive = () => true;

describe('judgeLease', () => {
  it('is free without a lease, for the same job (a re-run) and after expiry; held otherwise', () => {
    expect(judgeLease(undefined, RUNNER_B, T0, alive)).toEqual({ free: true });
    expect(judgeLease(lease(RUNNER_B, T0 - 1_000), RUNNER_B, T0, alive)).toEqual({ free: true });
    const held = judgeLease(lease(RUNNER_A, T0 - 1_000), RUNNER_B, T0, alive);
    expect(held.free).toBe(false);
    if (!held.free) {
      expect(held.holder).toBe(RUNNER_A.holder);
      expect(held.message).toContain(RUNNER_A.holder);
      expect(held.message).toContain('Nothing was touched');
    }
    const expired = judgeLease(lease(RUNNER_A, T0 - LEASE_TTL_MS - 1), RUNNER_B, T0, alive);
    expect(expired).toMatchObject({ free: true, takeOver: expect.stringContaining('expired') as string });
  });

  it('frees a lease whose process is gone on this host, not one on another host', () => {
    const local: LeaseOptions = { holder: 'me', key: 'local:h1:42', host: 'h1', pid: 42 };
    const me: LeaseOptions = { holder: 'me too', key: 'local:h1:43', host: 'h1', pid: 43 };
    expect(judgeLease(lease(local, T0), me, T0, () => false, 'h1')).toMatchObject({ free: true });
    expect(judgeLease(lease(local, T0), me, T0, () => false, 'h2').free).toBe(false);
    expect(judgeLease(lease(local, T0), me, T0, () => true, 'h1').free).toBe(false);
  });

  it('names a GitHub job by repository, run and job, so a re-run attempt is the same claimant', () => {
    const env = { GITHUB_RUN_ID: '77', GITHUB_RUN_ATTEMPT: '2', GITHUB_JOB: 'canary', GITHUB_REPOSITORY: 'o/r' };
    expect(leaseClaimant('github:alice', env)).toEqual({
      holder: 'github:alice run 77 attempt 2 job canary',
      key: 'github:o/r:77:canary',
    });
    expect(leaseClaimant('github:alice', { ...env, GITHUB_RUN_ATTEMPT: '3' }).key).toBe('github:o/r:77:canary');
    const local = leaseClaimant('alice', {});
    expect(local.key).toBe(`local:${local.host}:${process.pid}`);
  });
});

function edge(n: number, observeMs = 60_000, initialState?: RolloutState) {
  return scenario({
    spec: engineSpec([tier('edge', {}, { canary: size(1), waves: size(2), observeMs, observeIntervalMs: 30_000 })]),
    targets: fleet('edge', n),
    lease: RUNNER_A,
    initialState,
  });
}

/** A stored state with no rollout yet, holding `held`. */
const leasedBy = (held: StateLease): RolloutState => ({ ...createEmptyState('test'), revision: 4, lease: held });

describe('the engine with a lease in the state', () => {
  it('commits its lease before the first step touches a target, and removes it at the end', async () => {
    const sc = edge(3);
    const leaseAtFirstStep: (StateLease | undefined)[] = [];
    const committed: { revision: number; lease?: StateLease }[] = [];
    sc.store.onWrite = (s) => committed.push({ revision: s.revision, lease: s.lease });
    sc.fleet.on(
      (call) => call.kind === 'drain',
      () => leaseAtFirstStep.push(sc.state().lease),
    );
    const r = await sc.engine().run();
    expect(r.outcome).toBe('Healthy');
    // The first write is the lease alone, made durable (committed) before anything else.
    expect(committed[0]!.lease?.key).toBe(RUNNER_A.key);
    expect(sc.store.commits[0]).toEqual({ message: expect.stringContaining('lease') as string, revision: 1 });
    expect(leaseAtFirstStep[0]?.holder).toBe(RUNNER_A.holder);
    expect(sc.state().lease).toBeUndefined();
    expect(sc.store.commits.at(-1)!.message).toContain('lease released');
    expect(sc.eventNames()).toEqual(expect.arrayContaining(['lease_taken', 'lease_released']));
  });

  it('refuses to touch anything while another run holds the lease, and names it', async () => {
    const sc = edge(3, 60_000, leasedBy(lease(RUNNER_B, T0 - 60_000)));
    const error = await rejection(sc.engine().run());
    expect(error).toBeInstanceOf(RolloutLockedError);
    expect(error.message).toContain(RUNNER_B.holder);
    expect(sc.fleet.touched()).toEqual([]);
    expect(sc.state().lease?.key).toBe(RUNNER_B.key);
    expect(sc.store.commits).toEqual([]);
  });

  it('refuses a rollback and a decision the same way (a dispatched rollback while a wave runs)', async () => {
    const sc = edge(4);
    await sc.engine().run({ maxWaves: 1 });
    sc.store.overwrite((s) => (s.lease = lease(RUNNER_B, sc.clock.nowMs())));
    await expect(sc.engine().rollbackTo(undefined, 'dispatched')).rejects.toBeInstanceOf(RolloutLockedError);
    await expect(sc.engine().resume('rollback')).rejects.toBeInstanceOf(RolloutLockedError);
    expect(sc.fleet.callsOf('upgrade')).toHaveLength(1); // the canary's, nothing since
  });

  it('takes over a lease that expired (a lost runner), saying so', async () => {
    const sc = edge(2, 60_000, leasedBy(lease(RUNNER_B, T0 - LEASE_TTL_MS - 1_000)));
    const r = await sc.engine().run();
    expect(r.outcome).toBe('Healthy');
    const takeOver = sc.events.find((e) => e.event === 'lease_taken_over');
    expect(takeOver?.message).toContain(RUNNER_B.holder);
  });

  it('renews the lease during a long observation window, so it never lapses while the run lives', async () => {
    const sc = edge(2, 60 * 60_000);
    let lapsed = 0;
    sc.store.onWrite = (s) => {
      if (s.lease && Date.parse(s.lease.expiresAt) <= sc.clock.nowMs()) lapsed++;
    };
    const expiries = new Set<string>();
    sc.fleet.onChange(() => {
      const l = sc.state().lease;
      if (l) expiries.add(l.expiresAt);
    });
    const r = await sc.engine().run();
    expect(r.outcome).toBe('Healthy');
    const renewals = sc.store.commits.filter((c) => c.message.includes('lease renewed'));
    // Two one-hour windows, a renewal every 5 minutes.
    expect(renewals.length).toBeGreaterThanOrEqual(20);
    expect(lapsed).toBe(0);
    expect(sc.state().lease).toBeUndefined();
  });

  it('releases the lease when the run pauses, so a decision from another runner can act', async () => {
    const sc = edge(4);
    sc.fleet.failWhen({ kind: 'upgrade', target: 'edge-1' });
    const r = await sc.engine().run();
    expect(r.outcome).toBe('Paused');
    expect(sc.state().lease).toBeUndefined();
    sc.lease = RUNNER_B;
    const decided = await sc.engine().resume('rollback', 'from the decide workflow');
    expect(decided.outcome).toBe('RolledBack');
  });

  it('of two rollouts starting at once over the same targets, the one that leased first goes on', async () => {
    const sc = edge(2);
    const earlier: RolloutState = {
      ...createEmptyState('other'),
      phase: 'Healthy',
      targets: { 'edge-1': { phase: 'Succeeded' }, 'edge-2': { phase: 'Succeeded' } },
      lease: lease(RUNNER_B, T0 - 1_000),
    };
    sc.otherRollouts = () => Promise.resolve([earlier]);
    const error = await rejection(sc.engine().run());
    expect(error).toBeInstanceOf(TargetHeldError);
    expect(sc.fleet.touched()).toEqual([]);
    expect(sc.state().lease).toBeUndefined();
    // A later lease (the other rollout started after this one) does not hold this one back.
    sc.otherRollouts = () => Promise.resolve([{ ...earlier, lease: lease(RUNNER_B, T0 + 60_000) }]);
    expect((await sc.engine().run()).outcome).toBe('Healthy');
  });
});
