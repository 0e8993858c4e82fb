/** `plan` warns about a tier whose drain has neither `until` nor `grace` (issue 10). */
import { describe, expect, it } from 'vitest';
import { planRollout } from '../../src/plan/plan.js';
import { PlanWarnings } from '../../src/plan/warnings.js';
import type { StepSpec } from '../../src/spec/types.js';
import { fleet, spec, tier } from './helpers.js';

const step = (url: string): StepSpec => ({
  kind: 'http',
  method: 'POST',
  url,
  headers: {},
  expect: [200],
  timeoutMs: 1000,
  retries: 0,
  intervalMs: 100,
});

describe('UnsettledDrain', () => {
  it('warns per tier when the drain has neither until nor grace, not when it has one', () => {
    const base = spec([tier('edge', {})]);
    const bare = { ...base, steps: { ...base.steps, drain: step('http://x/drain') } };
    expect(planRollout(bare, fleet('edge', 3)).warnings).toContain(PlanWarnings.UnsettledDrain('edge'));
    const until = {
      ...base,
      steps: { ...base.steps, drain: { ...step('http://x/drain'), until: step('http://x/drained') } },
    };
    expect(planRollout(until, fleet('edge', 3)).warnings).not.toContain(PlanWarnings.UnsettledDrain('edge'));
    const grace = { ...base, steps: { ...base.steps, drain: { ...step('http://x/drain'), graceMs: 5000 } } };
    expect(planRollout(grace, fleet('edge', 3)).warnings).not.toContain(PlanWarnings.UnsettledDrain('edge'));
  });
});
