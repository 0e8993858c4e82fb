/**
 * Properties of listed and spread canaries and listed waves over arbitrary fleets and arbitrary
 * (also wrong) lists: the planner stays total — every member of a tier is planned exactly once,
 * no wave holds a target of another tier, a listed canary keeps its order, a spread canary has
 * one member per label value — and the plan does not depend on the inventory's order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planRollout } from '../../src/plan/plan.js';
import type { StrategySpec, Target } from '../../src/spec/types.js';
import { shuffled, spec, tier } from './helpers.js';

const ZONES = ['a', 'b', 'c'] as const;

const fleetArb: fc.Arbitrary<Target[]> = fc
  .array(
    fc.record({
      role: fc.constantFrom('edge', 'core'),
      zone: fc.option(fc.constantFrom(...ZONES), { nil: undefined }),
    }),
    { maxLength: 40 },
  )
  .map((rows): Target[] =>
    rows.map((r, i) => ({
      id: `t-${i + 1}`,
      address: `10.0.0.${i}:80`,
      labels: { role: r.role, ...(r.zone === undefined ? {} : { zone: r.zone }) } satisfies Record<string, string>,
    })),
  );

/** Ids that may or may not exist, repeat, or belong to the other tier. */
const idArb = fc.integer({ min: 1, max: 45 }).map((i) => `t-${i}`);

const choiceArb: fc.Arbitrary<Partial<StrategySpec>> = fc.oneof(
  fc
    .array(idArb, { minLength: 1, maxLength: 5 })
    .map((ids) => ({ canaryTargets: ids, canary: { kind: 'count' as const, value: ids.length } })),
  fc.constant({ canarySpreadBy: 'zone' }),
  fc
    .record({
      canary: fc.array(idArb, { maxLength: 3 }),
      waves: fc.array(fc.array(idArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 }),
    })
    .map(({ canary, waves }) => ({
      ...(canary.length > 0 ? { canaryTargets: canary } : {}),
      canary: { kind: 'count' as const, value: canary.length },
      waveTargets: waves,
    })),
);

describe('planner properties with listed and spread canaries and listed waves', () => {
  it('plans every member of an ordinary tier exactly once, never one of another tier, whatever the inventory order', () => {
    fc.assert(
      fc.property(fleetArb, choiceArb, fc.integer(), (fleet, choice, seed) => {
        const s = spec([tier('edge', { role: 'edge' }, choice), tier('core', { role: 'core' })]);
        const plan = planRollout(s, fleet);
        const edge = fleet.filter((t) => t.labels.role === 'edge').map((t) => t.id);
        const planned = plan.waves.filter((w) => w.tier === 'edge').flatMap((w) => w.targets);
        expect([...planned].sort()).toEqual([...edge].sort());
        expect(new Set(planned).size).toBe(planned.length);
        const canary = plan.waves.find((w) => w.id === 'edge/canary');
        if (choice.canaryTargets !== undefined) {
          const expected = [...new Set(choice.canaryTargets)].filter((id) => edge.includes(id));
          expect(canary?.targets ?? []).toEqual(expected);
        }
        if (choice.canarySpreadBy !== undefined) {
          const zones = canary?.targets.map((id) => fleet.find((t) => t.id === id)!.labels.zone) ?? [];
          const present = new Set(fleet.filter((t) => t.labels.role === 'edge').map((t) => t.labels.zone));
          present.delete(undefined);
          expect(zones).toEqual([...present].sort());
        }
        expect(planRollout(s, shuffled(fleet, seed))).toEqual(plan);
      }),
      { numRuns: 200 },
    );
  });
});
