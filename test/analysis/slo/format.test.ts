/** The error-budget evidence for people: `status` lines and the job summary's Error budget table, rounded. */
import { describe, expect, it } from 'vitest';
import { assessSlo, sloRanges, type SloCounts } from '../../../src/analysis/slo/budget.js';
import { formatBudgetShare, formatSloCheckLines } from '../../../src/analysis/slo/format.js';
import { formatPromDuration } from '../../../src/analysis/query.js';
import { renderErrorBudget } from '../../../src/github/markdown.js';
import type { SloSpec } from '../../../src/spec/slo.js';
import type { RolloutState } from '../../../src/state/types.js';

const MIN = 60_000;
const T = Date.UTC(2026, 0, 1, 12, 0, 0);
const SLO: SloSpec = {
  objective: 0.999,
  windowMs: 30 * 24 * 60 * MIN,
  bad: 'sum(increase(bad[{{window}}]))',
  total: 'sum(increase(all[{{window}}]))',
  maxBudgetConsumed: 0.5,
  burnRates: [{ longMs: 60 * MIN, shortMs: 5 * MIN, rate: 14.4 }],
};

function burning() {
  const counts = new Map<number, SloCounts>();
  for (const r of sloRanges(SLO, 10 * MIN, 10 * MIN))
    counts.set(r, { ok: true, bad: (r / 1000) * 2, total: (r / 1000) * 100 });
  return assessSlo({
    slo: SLO,
    when: 'after',
    wave: 'edge/canary',
    sinceMs: T - 10 * MIN,
    nowMs: T,
    ageMs: 10 * MIN,
    changed: true,
    counts,
    formatRange: formatPromDuration,
  });
}

describe('error-budget evidence for people', () => {
  it('rounds shares of the budget', () => {
    expect(formatBudgetShare(0)).toBe('0%');
    expect(formatBudgetShare(0.666666)).toBe('66.7%');
    expect(formatBudgetShare(0.000231)).toBe('0.023%');
  });

  it('status: the objective, the queries, the budget consumed and each pair with its shortened long window', () => {
    const lines = formatSloCheckLines(burning(), '  ');
    expect(lines).toEqual([
      '  objective 99.9% over 30d, budget counted since 2026-01-01T11:50:00.000Z (at 2026-01-01T12:00:00.000Z)',
      '  bad: sum(increase(bad[{{window}}]))',
      '  total: sum(increase(all[{{window}}]))',
      '  budget consumed 0.46% (limit 50%) — 20.0× over 10m (1200/60000 bad)',
      '  burn 1h/5m ×14.4 (long shortened to 10m): fail — 20.0× over 10m (1200/60000 bad); 20.0× over 5m (600/30000 bad)',
    ]);
  });

  it('job summary: one row per check and the queries under the table', () => {
    const state = { waves: [{ id: 'edge/canary', phase: 'Failed', targets: [], slo: { after: burning() } }] };
    const md = renderErrorBudget(state as unknown as RolloutState)!;
    expect(md).toMatch(/^### Error budget\n/);
    expect(md).toMatch(
      /\| `edge\/canary` \| after \| \*\*fail\*\* \| 2026-01-01T12:00:00\.000Z \| objective 99\.9% over 30d/,
    );
    expect(md).toMatch(/budget consumed 0\.46% \(limit 50%\)/);
    expect(md).toMatch(/Bad events: `sum\(increase\(bad\[\{\{window\}\}\]\)\)`/);
    expect(renderErrorBudget({ waves: [] } as unknown as RolloutState)).toBeUndefined();
  });
});
