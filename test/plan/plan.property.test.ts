/**
 * Properties of the planner over arbitrary fleets (0..1500 targets) and tiers
 * (random selectors, sizes, quorum flags, leaders).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchesSelector } from '../../src/spec/selector.js';
import { planRollback, planRollout } from '../../src/plan/plan.js';
import { autoSizes, quorumSafeSize } from '../../src/plan/size.js';
import type { RolloutPlan } from '../../src/plan/types.js';
import type { RolloutSpec, Size, Target } from '../../src/spec/types.js';
import { shuffled, spec, tier } from './helpers.js';

const ROLES = ['agent', 'scheduler', 'api', 'quorum', 'lab'] as const;

const sizeArb = (minCount: number, maxCount: number): fc.Arbitrary<Size> =>
  fc.oneof(
    fc.constant<Size>({ kind: 'auto' }),
    fc.integer({ min: minCount, max: maxCount }).map<Size>((value) => ({ kind: 'count', value })),
    fc.integer({ min: 1, max: 1000 }).map<Size>((tenths) => ({ kind: 'percent', value: tenths / 10 })),
  );

const tierArb = fc.record({
  select: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ROLES).map((role) => ({ role })) },
    { weight: 1, arbitrary: fc.constant({}) },
    { weight: 1, arbitrary: fc.record({ role: fc.constantFrom(...ROLES), zone: fc.constantFrom('a', 'b') }) },
  ),
  canary: sizeArb(0, 10),
  waves: sizeArb(1, 120),
  maxUnavailable: sizeArb(1, 60),
  quorum: fc.boolean(),
  observeMs: fc.integer({ min: 0, max: 3_600_000 }),
  expectedTargetMs: fc.integer({ min: 0, max: 600_000 }),
});

const specArb: fc.Arbitrary<RolloutSpec> = fc
  .array(tierArb, { minLength: 1, maxLength: 5 })
  .map((tiers) => spec(tiers.map(({ select, ...s }, i) => tier(`tier-${i}`, select, s))));

const targetLabelsArb = fc.record(
  {
    role: fc.constantFrom(...ROLES),
    zone: fc.constantFrom('a', 'b'),
    leader: fc.oneof(
      { weight: 20, arbitrary: fc.constant('false') },
      { weight: 1, arbitrary: fc.constantFrom('true', 'TRUE', 'True') },
    ),
  },
  { requiredKeys: ['role', 'zone'] },
);

/** Fleets of 0..1500 targets; small fleets (where quorum edge cases live) are as likely as large ones. */
const fleetArb: fc.Arbitrary<Target[]> = fc
  .oneof(fc.array(targetLabelsArb, { maxLength: 12 }), fc.array(targetLabelsArb, { maxLength: 1500, size: 'max' }))
  .map((labels) =>
    labels.map((l, i) => ({ id: `t-${i + 1}`, address: `10.0.${Math.floor(i / 250)}.${i % 250}:80`, labels: l })),
  );

const RUNS = { numRuns: 150 };

/** The tier each target should be planned in: the first whose selector it matches. */
function expectedTier(s: RolloutSpec, target: Target): number {
  return s.tiers.findIndex((t) => matchesSelector(target, t.select));
}

function wavesOfTier(plan: RolloutPlan, name: string) {
  return plan.waves.filter((w) => w.tier === name);
}

describe('planRollout properties', () => {
  it('plans every selected target exactly once, in the first tier that selects it, and no other target', () => {
    fc.assert(
      fc.property(specArb, fleetArb, (s, targets) => {
        const plan = planRollout(s, targets);
        const planned = plan.waves.flatMap((w) => w.targets);
        expect(new Set(planned).size).toBe(planned.length);
        const waveTier = new Map(plan.waves.flatMap((w) => w.targets.map((id) => [id, w.tier] as const)));
        for (const t of targets) {
          const i = expectedTier(s, t);
          if (i < 0) expect(waveTier.has(t.id)).toBe(false);
          else expect(waveTier.get(t.id)).toBe(s.tiers[i]!.name);
        }
        expect(planned.length).toBe(targets.filter((t) => expectedTier(s, t) >= 0).length);
        plan.tiers.forEach((pt, i) =>
          expect(pt.targets.length).toBe(targets.filter((t) => expectedTier(s, t) === i).length),
        );
      }),
      RUNS,
    );
  });

  it('keeps tiers in spec order, each tier’s waves contiguous, indexes and ids consistent', () => {
    fc.assert(
      fc.property(specArb, fleetArb, (s, targets) => {
        const plan = planRollout(s, targets);
        const order = s.tiers.map((t) => t.name);
        const positions = plan.waves.map((w) => order.indexOf(w.tier));
        for (let i = 1; i < positions.length; i++) expect(positions[i]!).toBeGreaterThanOrEqual(positions[i - 1]!);
        plan.waves.forEach((w, i) => expect(w.index).toBe(i));
        expect(new Set(plan.waves.map((w) => w.id)).size).toBe(plan.waves.length);
        for (const name of order) {
          const waves = wavesOfTier(plan, name);
          const expectedIds = waves.map((w, i) => {
            if (w.kind === 'canary') return `${name}/canary`;
            if (w.kind === 'leader') return `${name}/leader`;
            return `${name}/${i + 1 - (waves[0]!.kind === 'canary' ? 1 : 0)}`;
          });
          expect(waves.map((w) => w.id)).toEqual(expectedIds);
          expect(
            waves.every(
              (w) => w.targets.length > 0 && w.observeMs === s.tiers[order.indexOf(name)]!.strategy.observeMs,
            ),
          ).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('puts the canary first in its tier, at most one per tier', () => {
    fc.assert(
      fc.property(specArb, fleetArb, (s, targets) => {
        const plan = planRollout(s, targets);
        for (const t of s.tiers) {
          const kinds = wavesOfTier(plan, t.name).map((w) => w.kind);
          expect(kinds.filter((k) => k === 'canary').length).toBeLessThanOrEqual(1);
          if (kinds.includes('canary')) expect(kinds[0]).toBe('canary');
        }
      }),
      RUNS,
    );
  });

  it('keeps every wave’s maxUnavailable within [1, min(tier maxUnavailable, wave size)]', () => {
    fc.assert(
      fc.property(specArb, fleetArb, (s, targets) => {
        const plan = planRollout(s, targets);
        for (const w of plan.waves) {
          const pt = plan.tiers.find((t) => t.name === w.tier)!;
          expect(w.maxUnavailable).toBeGreaterThanOrEqual(1);
          expect(w.maxUnavailable).toBeLessThanOrEqual(pt.maxUnavailable);
          expect(w.maxUnavailable).toBeLessThanOrEqual(w.targets.length);
        }
      }),
      RUNS,
    );
  });

  it('never takes down more than floor((n-1)/2) quorum members at once, and does the leader alone and last', () => {
    fc.assert(
      fc.property(specArb, fleetArb, (s, targets) => {
        const plan = planRollout(s, targets);
        s.tiers.forEach((t, i) => {
          if (!t.strategy.quorum) return;
          const pt = plan.tiers[i]!;
          const n = pt.targets.length;
          const waves = wavesOfTier(plan, t.name);
          const limit = n >= 3 ? Math.floor((n - 1) / 2) : 1;
          for (const w of waves) {
            expect(w.targets.length).toBeLessThanOrEqual(limit);
            expect(w.maxUnavailable).toBeLessThanOrEqual(limit);
          }
          const labelled = targets.filter(
            (x) => pt.targets.includes(x.id) && x.labels.leader?.toLowerCase() === 'true',
          );
          if (labelled.length === 0) {
            expect(pt.leader).toBeUndefined();
            expect(waves.some((w) => w.kind === 'leader')).toBe(false);
          } else {
            const last = waves.at(-1)!;
            expect(last).toMatchObject({ kind: 'leader', targets: [pt.leader], maxUnavailable: 1 });
            expect(labelled.map((x) => x.id)).toContain(pt.leader);
            expect(waves.slice(0, -1).flatMap((w) => w.targets)).not.toContain(pt.leader);
          }
          if (n >= 1 && n <= 2)
            expect(plan.warnings.some((m) => m.includes(`quorum tier "${t.name}" has ${n} member`))).toBe(true);
        });
      }),
      RUNS,
    );
  });

  it('sizes auto canaries and waves of ordinary tiers by the seed 000 table (by tier size)', () => {
    fc.assert(
      fc.property(specArb, fleetArb, (s, targets) => {
        const plan = planRollout(s, targets);
        s.tiers.forEach((t, i) => {
          if (t.strategy.quorum) return;
          const pt = plan.tiers[i]!;
          const n = pt.targets.length;
          if (n === 0) return;
          const table = autoSizes(n);
          const waves = wavesOfTier(plan, t.name);
          if (t.strategy.canary.kind === 'auto') {
            expect(pt.canarySize).toBe(Math.min(table.canary, n));
            expect(waves[0]).toMatchObject({ kind: 'canary' });
            expect(waves[0]!.targets.length).toBe(Math.min(table.canary, n));
          }
          if (t.strategy.waves.kind === 'auto') {
            const plain = waves.filter((w) => w.kind === 'wave');
            plain.slice(0, -1).forEach((w) => expect(w.targets.length).toBe(table.wave));
            if (plain.length > 0) expect(plain.at(-1)!.targets.length).toBeLessThanOrEqual(table.wave);
          }
        });
      }),
      RUNS,
    );
  });

  it('sizes auto quorum waves by floor((n-1)/2) (seed 000 quorum procedure)', () => {
    fc.assert(
      fc.property(specArb, fleetArb, (s, targets) => {
        const plan = planRollout(s, targets);
        s.tiers.forEach((t, i) => {
          if (!t.strategy.quorum || t.strategy.waves.kind !== 'auto') return;
          const pt = plan.tiers[i]!;
          const followers = wavesOfTier(plan, t.name).filter((w) => w.kind === 'wave');
          followers.slice(0, -1).forEach((w) => expect(w.targets.length).toBe(quorumSafeSize(pt.targets.length)));
        });
      }),
      RUNS,
    );
  });

  it('gives the identical plan whatever order the targets come in', () => {
    fc.assert(
      fc.property(specArb, fleetArb, fc.integer(), (s, targets, seed) => {
        expect(planRollout(s, shuffled(targets, seed))).toEqual(planRollout(s, targets));
      }),
      { numRuns: 60 },
    );
  });

  it('estimates Σ ceil(targets / maxUnavailable) × expectedTargetMs + observeMs', () => {
    fc.assert(
      fc.property(specArb, fleetArb, (s, targets) => {
        const plan = planRollout(s, targets);
        const byName = new Map(s.tiers.map((t) => [t.name, t.strategy]));
        const sum = plan.waves.reduce(
          (acc, w) =>
            acc + Math.ceil(w.targets.length / w.maxUnavailable) * byName.get(w.tier)!.expectedTargetMs + w.observeMs,
          0,
        );
        expect(plan.estimatedDurationMs).toBe(sum);
      }),
      RUNS,
    );
  });
});

describe('planRollback properties', () => {
  it('rolls back each given target once, in the given order, a quorum within floor((n-1)/2), the leader alone', () => {
    fc.assert(
      fc.property(
        specArb,
        fleetArb,
        sizeArb(1, 200),
        fc.option(sizeArb(1, 50), { nil: undefined }),
        fc.integer(),
        (s0, targets, waves, mu, seed) => {
          const s = { ...s0, rollback: { waves, maxUnavailable: mu } };
          const plan = planRollout(s, targets);
          const touched = shuffled(
            plan.waves.flatMap((w) => w.targets),
            seed,
          ).slice(0, Math.abs(seed) % (targets.length + 1));
          const rollbackWaves = planRollback(s, plan, touched);
          expect(rollbackWaves.flatMap((b) => b.targets)).toEqual(touched);
          rollbackWaves.forEach((b, i) => {
            expect(b.id).toBe(`rollback/${i + 1}`);
            expect(b.targets.length).toBeGreaterThan(0);
            expect(b.maxUnavailable).toBeGreaterThanOrEqual(1);
            expect(b.maxUnavailable).toBeLessThanOrEqual(b.targets.length);
            const tiers = new Set(b.targets.map((id) => plan.tiers.find((t) => t.targets.includes(id))?.name));
            expect(tiers.size).toBe(1);
            const pt = plan.tiers.find((t) => t.targets.includes(b.targets[0]!))!;
            if (pt.quorum) {
              expect(b.targets.length).toBeLessThanOrEqual(quorumSafeSize(pt.targets.length));
              if (pt.leader !== undefined && b.targets.includes(pt.leader)) expect(b.targets).toEqual([pt.leader]);
            }
          });
        },
      ),
      { numRuns: 100 },
    );
  });
});
