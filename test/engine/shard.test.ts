/**
 * Big waves across runners (issue 12, item 18): a wave opened for N legs (`run --open-shards N`),
 * each leg (`run --shard i/N`) moving only its slice within its share of the tier's budget,
 * concurrently on one shared state whose commits merge, and the verdict (`run` without --shard)
 * applying the breaker and the failure tolerance over every target's outcome.
 */
import { describe, expect, it } from 'vitest';
import { ConfigurationError, InvalidPhaseError, RolloutLockedError } from '../../src/errors.js';
import { RolloutEngine } from '../../src/engine/rollout.js';
import { parseShardRef, shardBudget, shardSlice, type ShardRef } from '../../src/engine/shard.js';
import type { StepRunner } from '../../src/engine/steps.js';
import type { LeaseOptions } from '../../src/engine/lease.js';
import { engineSpec, fleet, rejection, scenario, size, tier, type Scenario } from './kit/engine.js';
import { SharedStateBackend } from './kit/shared-state.js';

const OPENER: LeaseOptions = { holder: 'github:ci run 7 job open', key: 'github:o/r:7:open' };
const LEGS: LeaseOptions = { holder: 'github:ci run 7 job shards', key: 'github:o/r:7:shards' };
const VERDICT: LeaseOptions = { holder: 'github:ci run 7 job verdict', key: 'github:o/r:7:verdict' };
const ROLLBACK: LeaseOptions = { holder: 'github:bob run 8 job rollback', key: 'github:o/r:8:rollback' };

describe('shard slices and budget shares (pure)', () => {
  it('puts every target in exactly one leg, whatever order the plan lists them in', () => {
    const ids = fleet('edge', 23).map((t) => t.id);
    for (const n of [1, 2, 3, 4, 7, 23, 30]) {
      const legs = Array.from({ length: n }, (_, i) => shardSlice(ids, { index: i + 1, count: n }));
      expect(legs.flat().sort()).toEqual([...ids].sort());
      expect(shardSlice([...ids].reverse(), { index: 1, count: n })).toEqual(legs[0]);
      const sizes = legs.map((l) => l.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('never gives the legs more than the budget in total, and each at least floor(budget/N)', () => {
    for (let limit = 0; limit <= 40; limit++) {
      for (let n = 1; n <= 12; n++) {
        const shares = Array.from({ length: n }, (_, i) => shardBudget(limit, { index: i + 1, count: n }));
        expect(shares.reduce((a, b) => a + b, 0)).toBe(limit);
        for (const share of shares) {
          expect(share).toBeGreaterThanOrEqual(Math.floor(limit / n));
          expect(share).toBeLessThanOrEqual(Math.floor(limit / n) + 1);
        }
      }
    }
  });

  it('parses i/N and says what is wrong otherwise', () => {
    expect(parseShardRef('2/4')).toEqual({ index: 2, count: 4 });
    const problem = (text: string) => {
      const r = parseShardRef(text);
      return 'error' in r ? r.error : undefined;
    };
    expect(problem('0/4')).toContain('1 to 4');
    expect(problem('5/4')).toContain('1 to 4');
    expect(problem('1/0')).toContain('N must be');
    expect(problem('two')).toContain('i/N');
  });
});

/** One tier of 12 in one wave of 8 (then 4), budget 4, no observation window. */
function big(overrides: Parameters<typeof tier>[2] = {}): Scenario {
  return scenario({
    spec: engineSpec([
      tier('edge', {}, { canary: size(0), waves: size(8), maxUnavailable: size(4), observeMs: 0, ...overrides }),
    ]),
    targets: fleet('edge', 12),
  });
}

/** An engine of `s` on its own port of the shared state, with a lease (another runner). */
function runner(
  s: Scenario,
  shared: SharedStateBackend,
  lease: LeaseOptions,
  touched?: Map<string, string>,
  name = '',
): RolloutEngine {
  const deps = s.deps();
  const inner = deps.runner;
  const run: StepRunner['run'] = (step, vars, o) => {
    if (touched && o?.purpose === undefined && /drain|upgrade/.test(JSON.stringify(step))) {
      const before = touched.get(vars.target.id);
      if (before !== undefined && before !== name)
        throw new Error(`${vars.target.id} touched by ${before} and ${name}`);
      touched.set(vars.target.id, name);
    }
    return inner.run(step, vars, o);
  };
  return new RolloutEngine({ ...deps, store: shared.port(), lease, runner: { run } });
}

/** Opens the first wave for `n` legs; returns the wave's targets. */
async function open(s: Scenario, shared: SharedStateBackend, n: number): Promise<string[]> {
  const r = await runner(s, shared, OPENER).run({ maxWaves: 1, openShards: n });
  expect(r).toMatchObject({ outcome: 'Progressing', reason: 'WaveSharded' });
  const ws = shared.current().waves[0]!;
  expect(ws).toMatchObject({ phase: 'Progressing', shards: n });
  expect(shared.current().lease).toBeUndefined();
  return ws.targets;
}

/** Peak of members of the tier out of service at once (drained or unhealthy). */
function watchPeak(s: Scenario): () => number {
  let peak = 0;
  s.fleet.onChange(() => {
    const out = [...s.fleet.targets.keys()].filter((id) => !s.fleet.inService(id)).length;
    peak = Math.max(peak, out);
  });
  return () => peak;
}

describe('a sharded wave', () => {
  it('runs its legs concurrently on one state: each touches only its slice, the commits merge, the budget total holds', async () => {
    const s = big();
    const shared = new SharedStateBackend(s.clock);
    const waveTargets = await open(s, shared, 2);
    const peak = watchPeak(s);
    const touched = new Map<string, string>();
    const legs: ShardRef[] = [
      { index: 1, count: 2 },
      { index: 2, count: 2 },
    ];
    const results = await Promise.all(
      legs.map((ref) => runner(s, shared, LEGS, touched, `${ref.index}`).run({ shard: ref })),
    );
    expect(results.map((r) => r.reason)).toEqual(['ShardCompleted', 'ShardCompleted']);
    for (const ref of legs) for (const id of shardSlice(waveTargets, ref)) expect(touched.get(id)).toBe(`${ref.index}`);
    expect([...touched.keys()].sort()).toEqual([...waveTargets].sort());
    // Both legs' targets landed: the second leg's commits merged with the first's.
    const after = shared.current();
    for (const id of waveTargets) expect(after.targets[id]).toMatchObject({ phase: 'Succeeded', version: '1.1.0' });
    expect(shared.commits.some((c) => c.merged)).toBe(true);
    expect(shared.refused).toEqual([]);
    expect(
      Object.values(after.shardLegs ?? {})
        .map((l) => [l.shard, l.budget, l.succeeded, l.lease])
        .sort(),
    ).toEqual([
      [1, 2, 4, undefined],
      [2, 2, 4, undefined],
    ]);
    // The legs ran side by side up to their shares (2 + 2), never past the tier's budget of 4.
    expect(peak()).toBe(4);
    // The wave is not decided by a leg.
    expect(after.waves[0]!.phase).toBe('Progressing');

    const verdict = await runner(s, shared, VERDICT).run({ maxWaves: 1 });
    expect(verdict.reason).toBe('WaveBoundary');
    const decided = shared.current();
    expect(decided.waves[0]!.phase).toBe('Completed');
    expect(decided.shardLegs).toBeUndefined();
    expect(decided.waves[0]!.shards).toBeUndefined();
  });

  it('counts a member outside the wave that is down against every leg, so the tier total still holds', async () => {
    const s = big();
    const shared = new SharedStateBackend(s.clock);
    const waveTargets = await open(s, shared, 2);
    const outside = s.targets.map((t) => t.id).find((id) => !waveTargets.includes(id))!;
    s.fleet.set(outside, { healthy: false });
    const peak = watchPeak(s);
    await Promise.all([1, 2].map((index) => runner(s, shared, LEGS).run({ shard: { index, count: 2 } })));
    // 1 down + at most (2 − 1) in flight per leg.
    expect(peak()).toBe(3);
    for (const id of waveTargets) expect(shared.current().targets[id]?.phase).toBe('Succeeded');
  });

  it('leaves a leg without a share of the budget idle and its slice to the verdict', async () => {
    const s = big({ maxUnavailable: size(1) });
    const shared = new SharedStateBackend(s.clock);
    const waveTargets = await open(s, shared, 2);
    const peak = watchPeak(s);
    const [one, two] = await Promise.all(
      [1, 2].map((index) => runner(s, shared, LEGS).run({ shard: { index, count: 2 } })),
    );
    expect(one!.message).toContain('4 succeeded');
    expect(two!.message).toContain('no share of the budget');
    expect(peak()).toBe(1);
    const slice2 = shardSlice(waveTargets, { index: 2, count: 2 });
    for (const id of slice2) expect(shared.current().targets[id]?.phase).toBe('Pending');
    await runner(s, shared, VERDICT).run({ maxWaves: 1 });
    for (const id of waveTargets) expect(shared.current().targets[id]?.phase).toBe('Succeeded');
    expect(peak()).toBe(1);
  });

  it('pauses at the verdict when the wave as a whole is above its failure tolerance', async () => {
    const s = big({ failureTolerancePercent: 10, circuitBreaker: { maxConsecutiveFailures: 5 } });
    const shared = new SharedStateBackend(s.clock);
    const waveTargets = await open(s, shared, 2);
    // One failure per leg: 1/4 of a leg's slice each is above 10%, and so is 2/8 of the wave.
    const failing = [
      shardSlice(waveTargets, { index: 1, count: 2 })[0]!,
      shardSlice(waveTargets, { index: 2, count: 2 })[0]!,
    ];
    for (const id of failing) s.fleet.failWhen({ kind: 'upgrade', target: id });
    await Promise.all([1, 2].map((index) => runner(s, shared, LEGS).run({ shard: { index, count: 2 } })));
    const r = await runner(s, shared, VERDICT).run({ maxWaves: 1 });
    expect(r).toMatchObject({ outcome: 'Paused', reason: 'WaveFailureToleranceExceeded' });
    expect(r.message).toContain('2/8');
    expect(shared.current().condition).toMatchObject({ failedTargets: failing.sort() });
  });

  it('trips the breaker at the verdict on failures in a row across legs, though no leg saw two in a row', async () => {
    // The first target of each leg fails at the same moment; each leg's next one succeeds.
    const s = big({ failureTolerancePercent: 100 });
    const shared = new SharedStateBackend(s.clock);
    const waveTargets = await open(s, shared, 2);
    const firsts = [1, 2].map((index) => shardSlice(waveTargets, { index, count: 2 })[0]!);
    for (const id of firsts) s.fleet.failWhen({ kind: 'upgrade', target: id });
    const legs = await Promise.all([1, 2].map((index) => runner(s, shared, LEGS).run({ shard: { index, count: 2 } })));
    expect(legs.map((l) => l.reason)).toEqual(['ShardCompleted', 'ShardCompleted']);
    expect(Object.values(shared.current().shardLegs!).every((l) => l.breakerTripped === undefined)).toBe(true);
    expect(shared.current().breaker.consecutiveFailures).toBe(0);
    const r = await runner(s, shared, VERDICT).run({ maxWaves: 1 });
    expect(r).toMatchObject({ outcome: 'Paused', reason: 'CircuitBreakerTripped' });
    const after = shared.current();
    expect(after.breaker.trips).toHaveLength(1);
    expect(after.breaker.trips[0]!.failedTargets.sort()).toEqual(firsts.sort());
    // Read once: `continue` goes on with the wave as one run (the legs' records are gone).
    expect(after.shardLegs).toBeUndefined();
  });

  it('trips the breaker when a leg tripped its own, and runs none of what that leg left', async () => {
    const s = big({ failureTolerancePercent: 100 });
    const shared = new SharedStateBackend(s.clock);
    const waveTargets = await open(s, shared, 2);
    const slice1 = shardSlice(waveTargets, { index: 1, count: 2 });
    for (const id of slice1.slice(0, 2)) s.fleet.failWhen({ kind: 'upgrade', target: id });
    await Promise.all([1, 2].map((index) => runner(s, shared, LEGS).run({ shard: { index, count: 2 } })));
    const leg1 = Object.values(shared.current().shardLegs!).find((l) => l.shard === 1)!;
    expect(leg1.breakerTripped?.failedTargets).toEqual(slice1.slice(0, 2));
    const upgradesBefore = s.fleet.calls.filter((c) => c.kind === 'upgrade').length;
    const r = await runner(s, shared, VERDICT).run({ maxWaves: 1 });
    expect(r).toMatchObject({ outcome: 'Paused', reason: 'CircuitBreakerTripped' });
    expect(s.fleet.calls.filter((c) => c.kind === 'upgrade')).toHaveLength(upgradesBefore);
    for (const id of slice1.slice(2)) expect(shared.current().targets[id]?.phase).toBe('Pending');
  });
});

describe('leases of a sharded wave', () => {
  it('keeps a dispatched rollback and an early verdict out while a leg runs', async () => {
    const s = big();
    const shared = new SharedStateBackend(s.clock);
    await open(s, shared, 2);
    let attempts: Promise<Error>[] = [];
    s.fleet.on(
      (call) => call.kind === 'upgrade',
      () => {
        attempts = [
          rejection(runner(s, shared, ROLLBACK).rollbackTo(undefined, 'dispatched')),
          rejection(runner(s, shared, VERDICT).run({ maxWaves: 1 })),
        ];
      },
    );
    await runner(s, shared, LEGS).run({ shard: { index: 1, count: 2 } });
    const [rollback, verdict] = await Promise.all(attempts);
    expect(rollback).toBeInstanceOf(RolloutLockedError);
    expect(rollback!.message).toContain('shard 1/2');
    expect(verdict).toBeInstanceOf(RolloutLockedError);
    // The rollback touched nothing and the leg finished its slice.
    expect(s.fleet.calls.some((c) => c.version !== '1.1.0' && c.kind === 'upgrade')).toBe(false);
  });

  it('refuses a leg while another run holds the rollout lease, and a leg whose own lease another holds', async () => {
    const s = big();
    const shared = new SharedStateBackend(s.clock);
    await open(s, shared, 2);
    // A rollback holds the run lease: the leg stops before touching anything.
    const held = new SharedStateBackend(s.clock, {
      ...shared.current(),
      lease: {
        holder: ROLLBACK.holder,
        key: ROLLBACK.key,
        acquiredAt: s.clock.now().toISOString(),
        expiresAt: new Date(s.clock.nowMs() + 60_000).toISOString(),
      },
    });
    const e = await rejection(runner(s, held, LEGS).run({ shard: { index: 1, count: 2 } }));
    expect(e).toBeInstanceOf(RolloutLockedError);
    expect(s.fleet.calls.filter((c) => c.kind === 'drain')).toHaveLength(0);
  });
});

describe('a leg racing a rollback for the state', () => {
  it('stops before touching anything when a rollback took the run lease between its read and its first commit', async () => {
    const s = big();
    const shared = new SharedStateBackend(s.clock);
    await open(s, shared, 2);
    const port = shared.port();
    const read = port.read.bind(port);
    port.read = async () => {
      const seen = await read();
      // Right after the leg read the state, a dispatched rollback commits its lease.
      const other = shared.port();
      const state = (await other.read())!;
      state.lease = {
        holder: ROLLBACK.holder,
        key: ROLLBACK.key,
        acquiredAt: s.clock.now().toISOString(),
        expiresAt: new Date(s.clock.nowMs() + 60_000).toISOString(),
      };
      state.revision = (await other.write(state)).revision;
      await other.commit('rollback lease');
      return seen;
    };
    const e = await rejection(
      new RolloutEngine({ ...s.deps(), store: port, lease: LEGS }).run({ shard: { index: 1, count: 2 } }),
    );
    expect(e).toBeInstanceOf(RolloutLockedError);
    expect(e.message).toContain(ROLLBACK.holder);
    expect(shared.refused.at(-1)).toContain('another writer changed lease');
    expect(s.fleet.calls.filter((c) => c.kind === 'drain' || c.kind === 'upgrade')).toHaveLength(0);
    expect(shared.current().shardLegs).toBeUndefined();
  });
});

describe('what is never sharded', () => {
  it('refuses a quorum tier, and a leg of a wave not opened for it', async () => {
    const q = scenario({
      spec: engineSpec([tier('control', {}, { quorum: true, observeMs: 0 })]),
      targets: fleet('control', 5),
    });
    const e = await rejection(q.engine().run({ maxWaves: 1, openShards: 2 }));
    expect(e).toBeInstanceOf(ConfigurationError);
    expect(e.message).toContain('quorum');
    expect(q.fleet.calls.filter((c) => c.kind === 'drain')).toHaveLength(0);

    const s = big();
    const shared = new SharedStateBackend(s.clock);
    await runner(s, shared, OPENER).run({ maxWaves: 0 });
    const early = await rejection(runner(s, shared, LEGS).run({ shard: { index: 1, count: 2 } }));
    expect(early).toBeInstanceOf(InvalidPhaseError);
    expect(early.message).toContain('--open-shards 2');
    await open(s, shared, 2);
    const wrong = await rejection(runner(s, shared, LEGS).run({ shard: { index: 1, count: 3 } }));
    expect(wrong).toBeInstanceOf(InvalidPhaseError);
    expect(wrong.message).toContain('open for 2 legs');
  });
});
