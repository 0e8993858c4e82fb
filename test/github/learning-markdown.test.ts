/**
 * The pull request's plan comment learns from history like `fleetgate plan` (docs/history.md):
 * its "Estimated duration" names the past rollouts it came from, and a wave-size suggestion is
 * a note that says it was not applied.
 */
import { describe, expect, it } from 'vitest';
import { learnFromHistory } from '../../src/app/plan-learning.js';
import { estimateCell, suggestionLines } from '../../src/github/learning-markdown.js';
import { renderPlanComment } from '../../src/github/markdown.js';
import { planRollout } from '../../src/plan/plan.js';
import type { PastRollout } from '../../src/plan/learn.js';
import { fleet, size, spec, tier } from '../plan/helpers.js';

const plan = planRollout(
  spec([tier('edge', {}, { canary: size(1), waves: size(4), maxUnavailable: size(2), observeMs: 60_000 })]),
  fleet('edge', 9),
);

const ok = (to: string, day: string): PastRollout => ({
  from: '1.0.0',
  to,
  phase: 'Healthy',
  startedAt: `${day}T10:00:00.000Z`,
  waves: [
    { id: 'edge/canary', size: 1, phase: 'Completed', durationMs: 70_000 },
    { id: 'edge/1', size: 4, phase: 'Completed', durationMs: 200_000 },
    { id: 'edge/2', size: 4, phase: 'Completed', durationMs: 180_000 },
  ],
});
const failed = (to: string, day: string): PastRollout => ({
  to,
  phase: 'RolledBack',
  startedAt: `${day}T10:00:00.000Z`,
  waves: [{ id: 'edge/1', size: 4, phase: 'RolledBack', failed: 2, paused: ['CircuitBreakerTripped'] }],
});

describe('plan comment from history', () => {
  it('says the estimate comes from the spec when there is no history', () => {
    const l = learnFromHistory(plan, []);
    const body = renderPlanComment([
      { specPath: 'rollouts/edge.yaml', plan: l.plan, estimate: estimateCell(l), learned: suggestionLines(l) },
    ]);
    expect(body).toContain(
      '| Estimated duration | 8m (from the spec: no completed past rollout ran these waves as planned now) |',
    );
    expect(body).not.toContain('[!TIP]');
  });

  it('names the past rollouts of the estimate and adds the suggestion as a note, not applied', () => {
    const l = learnFromHistory(plan, [
      failed('1.4.0', '2026-12-04'),
      failed('1.3.0', '2026-12-03'),
      ok('1.2.0', '2026-12-02'),
      ok('1.1.0', '2026-12-01'),
    ]);
    const body = renderPlanComment([
      { specPath: 'rollouts/edge.yaml', plan: l.plan, estimate: estimateCell(l), learned: suggestionLines(l) },
    ]);
    expect(body).toContain(
      "| Estimated duration | 7m 30s, from the median of 2 past rollouts (`1.2.0` on 2026-12-02, `1.1.0` on 2026-12-01); the spec's own: 8m |",
    );
    expect(body).toMatch(
      /> \[!TIP\]\n> Wave size from history \(not applied\): 2 of the last 4 rollouts stopped in a wave of tier edge .*suggest waves of 2/,
    );
    expect(l.plan.tiers[0]!.waveSize).toBe(4);
  });
});
