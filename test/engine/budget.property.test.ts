/**
 * Property: a rollout never takes more of a tier's members out of service than the
 * tier's budget (`plan.tiers[i].budget`: maxUnavailable, n − minAvailable, and for a quorum
 * floor((n-1)/2)), counting every member that is out for any reason — observe, then act.
 *
 * Random tiers (ordinary and quorum, 1–12 members, maxUnavailable or minAvailable), random
 * members out before the run (unhealthy; unreachable, then left out with `exclude`), random
 * failures during it (upgrade, verify or undrain failing; members turning unhealthy or
 * unreachable while others are in flight). The engine runs on the in-memory kit (fake clock:
 * no real waiting), and `resume --decision continue` answers up to three pauses.
 *
 * Checked at every change of the simulated fleet, per tier:
 *
 * (a) at each take-down (a drain starting) of a member that is in service, the members out
 *     of service apart from it, plus it, stay within the budget — `assessTakeDown` applied to
 *     what is true on the fleet. A member counts as out when it is drained (in flight, or
 *     failed and left drained), or unhealthy/unreachable and either so before the run or
 *     already reported so by one of its probes (a member that fails between two probes cannot
 *     be seen by any engine until it is probed again). A member out already may be worked on:
 *     that costs no capacity.
 * (b) at every moment, the members the engine took out (drained), leaving aside those that
 *     were out before the run or went out by themselves, are at most the budget.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/engine/rollout.js';
import { InvalidPhaseError, VersionPolicyError } from '../../src/errors.js';
import type { Size, Target, TierSpec } from '../../src/spec/types.js';
import { engineSpec, scenario, size, tier, type Scenario } from './kit/engine.js';

type Before = 'ok' | 'unhealthy' | 'unreachable';
interface MemberCase {
  before: Before;
  /** Already on the desired version (not upgraded again). */
  already: boolean;
  fails: 'none' | 'upgrade' | 'verify' | 'undrain';
  /** Turns unhealthy or unreachable at its k-th health probe (by itself, not by the engine). */
  turns?: { at: number; how: 'unhealthy' | 'unreachable' };
}
interface TierCase {
  quorum: boolean;
  leader: number | undefined;
  budget: { kind: 'maxUnavailable'; size: Size } | { kind: 'minAvailable'; size: Size };
  canary: number;
  wave: number;
  tolerance: number;
  breaker: number;
  observe: boolean;
  members: MemberCase[];
}
interface Case {
  tiers: TierCase[];
  /** Leave the members unreachable before the run out explicitly (else preflight refuses). */
  excludeUnreachable: boolean;
  /** `budgetProbeMaxAgeMs`: 0, or the default (1 s). */
  freshProbes: boolean;
  /** Answer the last pause (or a degraded end) with `resume --decision rollback`. */
  rollback: boolean;
}

const sizeArb = (n: number): fc.Arbitrary<Size> =>
  fc.oneof(
    fc.integer({ min: 0, max: n }).map((v) => size(v)),
    fc.integer({ min: 1, max: 100 }).map((v) => size(`${v}%`)),
  );

const memberArb = (failures: readonly MemberCase['fails'][]): fc.Arbitrary<MemberCase> =>
  fc.record(
    {
      before: fc.constantFrom<Before>('ok', 'ok', 'ok', 'ok', 'ok', 'unhealthy', 'unreachable'),
      already: fc.constantFrom(false, false, false, true),
      fails: fc.constantFrom<MemberCase['fails']>('none', 'none', 'none', 'none', ...failures),
      turns: fc.option(
        fc.record({
          at: fc.integer({ min: 1, max: 6 }),
          how: fc.constantFrom('unhealthy' as const, 'unreachable' as const),
        }),
        { freq: 4, nil: undefined },
      ),
    },
    { requiredKeys: ['before', 'already', 'fails'] },
  );

const tierArb = (failures: readonly MemberCase['fails'][]): fc.Arbitrary<TierCase> =>
  fc.integer({ min: 1, max: 12 }).chain((n) =>
    fc.record({
      quorum: fc.boolean(),
      leader: fc.option(fc.integer({ min: 0, max: n - 1 }), { nil: undefined }),
      budget: fc.oneof(
        sizeArb(n).map((s) => ({
          kind: 'maxUnavailable' as const,
          size: s.kind === 'count' && s.value === 0 ? size(1) : s,
        })),
        sizeArb(n).map((s) => ({ kind: 'minAvailable' as const, size: s })),
      ),
      canary: fc.integer({ min: 0, max: 2 }),
      wave: fc.integer({ min: 1, max: n }),
      tolerance: fc.constantFrom(0, 20, 50, 100),
      breaker: fc.integer({ min: 1, max: 6 }),
      observe: fc.boolean(),
      members: fc.array(memberArb(failures), { minLength: n, maxLength: n }),
    }),
  );

const caseArb = (failures: readonly MemberCase['fails'][]): fc.Arbitrary<Case> =>
  fc.record({
    tiers: fc.array(tierArb(failures), { minLength: 1, maxLength: 2 }),
    excludeUnreachable: fc.boolean(),
    freshProbes: fc.boolean(),
    rollback: fc.boolean(),
  });

const DESIRED = '1.1.0';

/** Builds the scenario of a case: spec, inventory, simulated fleet and scripted failures. */
function build(c: Case): { s: Scenario; preOut: Set<string> } {
  const targets: Target[] = [];
  const tiers: TierSpec[] = [];
  const exclude: string[] = [];
  const preOut = new Set<string>();
  const sim: Record<string, { version: string; healthy?: boolean; reachable?: boolean }> = {};
  c.tiers.forEach((t, ti) => {
    const name = `t${ti}`;
    tiers.push(
      tier(
        name,
        { tier: name },
        {
          quorum: t.quorum,
          canary: size(t.canary),
          waves: size(t.wave),
          ...(t.budget.kind === 'maxUnavailable'
            ? { maxUnavailable: t.budget.size }
            : { maxUnavailable: size(t.members.length), minAvailable: t.budget.size }),
          failureTolerancePercent: t.tolerance,
          circuitBreaker: { maxConsecutiveFailures: t.breaker },
          observeMs: t.observe ? 1_000 : 0,
          observeIntervalMs: 500,
        },
      ),
    );
    t.members.forEach((m, i) => {
      const id = `${name}-${i + 1}`;
      const labels: Record<string, string> = { tier: name };
      if (t.quorum && t.leader === i) labels.leader = 'true';
      targets.push({ id, address: `${id}.test:8080`, labels });
      sim[id] = {
        version: m.already ? DESIRED : '1.0.0',
        healthy: m.before !== 'unhealthy',
        reachable: m.before !== 'unreachable',
      };
      if (m.before !== 'ok') preOut.add(id);
      if (m.before === 'unreachable' && c.excludeUnreachable) exclude.push(id);
    });
  });
  const s = scenario({
    spec: engineSpec(tiers, { version: DESIRED, exclude }),
    targets,
    sim,
    ...(c.freshProbes ? { budgetProbeMaxAgeMs: 0 } : {}),
  });
  const f = s.fleet;
  c.tiers.forEach((t, ti) =>
    t.members.forEach((m, i) => {
      const id = `t${ti}-${i + 1}`;
      if (m.fails === 'upgrade') f.failWhen({ kind: 'upgrade', target: id });
      if (m.fails === 'undrain') f.failWhen({ kind: 'undrain', target: id });
      if (m.fails === 'verify')
        f.failWhen({ kind: 'verify', target: id, when: (_, fl) => fl.get(id).version === DESIRED });
      if (m.turns) {
        let probes = 0;
        const turns = m.turns;
        f.on(
          (call) => call.kind === 'verify' && call.target === id && ++probes === turns.at,
          () => f.set(id, turns.how === 'unhealthy' ? { healthy: false } : { reachable: false }),
        );
      }
    }),
  );
  return { s, preOut };
}

interface Violation {
  /** Index of the fleet call during which it happened. */
  call: number;
  tier: string;
  rule: 'a' | 'b';
  detail: string;
}

/** How old a budget probe may be by default (`DEFAULT_BUDGET_PROBE_MAX_AGE_MS`). */
const DEFAULT_PROBE_AGE_MS = 1_000;

/** Watches the fleet and records every breach of (a) and (b) (see the file's comment). */
function watch(s: Scenario, c: Case, preOut: Set<string>, mode: { rollingBack: boolean }): Violation[] {
  const f = s.fleet;
  const violations: Violation[] = [];
  /** Members that went out by themselves, and when (virtual ms). */
  const byItself = new Map<string, number>();
  /** When each member was first reported unhealthy or unreachable by one of its probes. */
  const reportedAt = new Map<string, number>();
  const maxAge = c.freshProbes ? 0 : DEFAULT_PROBE_AGE_MS;
  f.onAnswer((call, r) => {
    if (!r.ok && (call.kind === 'verify' || call.kind === 'version') && !reportedAt.has(call.target))
      reportedAt.set(call.target, call.endAt!);
  });
  const tierOf = new Map<string, { name: string; members: string[]; budget: number; quorum: boolean }>();
  for (const t of s.plan.tiers) for (const id of t.targets) tierOf.set(id, { ...t, members: t.targets });
  /**
   * Down (unhealthy, unreachable) in a way any engine can know now: so before the run, or
   * reported by a probe; and when it went down by itself, longer ago than a reused probe may be old.
   */
  const knownDown = (id: string, now: number) => {
    if (f.healthOk(f.get(id))) return false;
    if (preOut.has(id)) return true;
    const reported = reportedAt.get(id);
    if (reported === undefined) return false;
    const turned = byItself.get(id);
    return turned === undefined || maxAge === 0 || now - turned > maxAge;
  };
  const drained = new Map<string, boolean>();
  f.onChange(({ target, what, call }) => {
    // A rollback goes in larger waves than the rollout (rollback.waves) in an ordinary tier;
    // a quorum tier keeps its budget.
    const t = mode.rollingBack && !tierOf.get(target)?.quorum ? undefined : tierOf.get(target);
    const now = s.clock.nowMs();
    if (!call && !byItself.has(target)) byItself.set(target, now);
    if (t && what === 'drained' && call) {
      // The candidate itself: out by what is true (an engine that missed it counted it, stricter).
      const candidateOut = drained.get(target) === true || !f.healthOk(f.get(target));
      const others = t.members.filter((m) => m !== target && (f.get(m).drained || knownDown(m, now)));
      if (!candidateOut && others.length + 1 > t.budget)
        violations.push({
          call: call.n,
          tier: t.name,
          rule: 'a',
          detail: `took ${target} down with ${others.join(', ')} out (budget ${t.budget})`,
        });
    }
    if (t) {
      const engineOut = t.members.filter((m) => f.get(m).drained && !preOut.has(m) && !byItself.has(m));
      if (engineOut.length > t.budget)
        violations.push({
          call: call?.n ?? -1,
          tier: t.name,
          rule: 'b',
          detail: `${engineOut.join(', ')} drained by the engine (budget ${t.budget})`,
        });
    }
    drained.set(target, f.get(target).drained);
  });
  return violations;
}

/** Runs a case: `run`, then `continue` on up to three pauses. Returns the violations and how it ended. */
async function runCase(c: Case): Promise<{ violations: Violation[]; outcomes: string[]; s: Scenario }> {
  const { s, preOut } = build(c);
  s.deps(); // the plan, for the watcher's tiers
  const mode = { rollingBack: false };
  const violations = watch(s, c, preOut, mode);
  const outcomes: string[] = [];
  const expected = (e: unknown) => e instanceof VersionPolicyError || e instanceof InvalidPhaseError;
  let r: RunResult | undefined;
  try {
    r = await s.engine().run();
  } catch (e) {
    if (!expected(e)) throw e;
    outcomes.push(`refused: ${e.name}`);
  }
  for (let i = 0; i < 3 && r?.outcome === 'Paused'; i++) {
    outcomes.push(`${r.outcome}:${r.reason}`);
    try {
      r = await s.engine().resume('continue');
    } catch (e) {
      if (!expected(e)) throw e;
      outcomes.push(`refused: ${e.name}`);
      r = undefined;
    }
  }
  if (r) outcomes.push(`${r.outcome}:${r.reason}`);
  if (c.rollback && (r?.outcome === 'Paused' || r?.outcome === 'Degraded')) {
    mode.rollingBack = true;
    r = await s.engine().resume('rollback');
    outcomes.push(`rollback: ${r.outcome}:${r.reason}`);
  }
  return { violations, outcomes, s };
}

/** The property over cases with the given failure modes (besides members turning down by themselves). */
function budgetProperty(failures: readonly MemberCase['fails'][]) {
  return fc.asyncProperty(caseArb(failures), async (c) => {
    const { violations, outcomes } = await runCase(c);
    if (violations.length > 0) throw new Error(`${JSON.stringify(violations.slice(0, 3))} (${outcomes.join(' → ')})`);
  });
}

const member = (m: Partial<MemberCase> = {}): MemberCase => ({ before: 'ok', already: false, fails: 'none', ...m });

/**
 * A counterexample fast-check found with every failure mode (`PROP_ALL=1`: seed -69240317, path
 * "322:7:3:2:5:5:5:5:0:0:2:4:4:0:0:0:0:3:0:1:2:2:2:2:2:3:3:3:3:2:2:2:2:2:2:2:3:3:3:2:2:2:2:2:3";
 * any seed finds one within a few hundred cases, e.g. also a quorum tier of 9 losing 5 members):
 * 10 members, maxUnavailable 21% (budget 3), waves of 2, t0-4 and t0-8 unreachable and left out.
 * t0-1 is taken down (with the two unreachable ones: 3 out); t0-2 waits for the budget. t0-1's
 * upgrade fails: it is left drained, still healthy on 1.0.0. Its release from the in-flight set
 * wakes t0-2's admission before t0-1 is marked `Failed`; the probe finds t0-1 healthy, and t0-2 is
 * taken down: 4 out with a budget of 3 (after the breaker, maxConsecutiveFailures 1, had tripped).
 */
const DRAINED_FAILURE_COUNTEREXAMPLE: Case = {
  tiers: [
    {
      quorum: false,
      leader: undefined,
      budget: { kind: 'maxUnavailable', size: size('21%') },
      canary: 0,
      wave: 2,
      tolerance: 0,
      breaker: 1,
      observe: false,
      members: [
        member({ fails: 'upgrade' }),
        member(),
        member(),
        member({ before: 'unreachable' }),
        member(),
        member(),
        member(),
        member({ before: 'unreachable' }),
        member(),
        member(),
      ],
    },
  ],
  excludeUnreachable: true,
  freshProbes: false,
  rollback: false,
};

describe('budget property: never more of a tier out of service than its budget', () => {
  it('holds for random tiers, pre-existing failures, failed upgrades, verifies and undrains and members going down (1,000 cases)', async () => {
    await fc.assert(budgetProperty(['upgrade', 'verify', 'undrain']), { numRuns: 1_000 });
  });

  // Found by this property: a target whose upgrade failed left the in-flight set before it
  // was recorded as failed, so a waiting take-down saw a gap (fixed in moveTarget's markOut).
  it('holds when a failed upgrade leaves a target drained but healthy (counterexample)', async () => {
    const { violations } = await runCase(DRAINED_FAILURE_COUNTEREXAMPLE);
    expect(violations).toEqual([]);
  });
});
