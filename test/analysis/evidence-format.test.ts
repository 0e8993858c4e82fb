/**
 * Evidence for people (issue 11, part 7): `status` and the job summary show, for each verdict,
 * metric, query, cohorts, sample sizes, the estimate with its interval, the limit, the rule and
 * when it was decided — rounded, while the state keeps the exact numbers.
 */
import picocolors from 'picocolors';
import { describe, expect, it } from 'vitest';
import { assessSequentialLooks } from '../../src/analysis/assess-sequential.js';
import {
  describeObservedWindow,
  duration,
  formatEvidenceLines,
  verdictMeasurements,
  viewEvidence,
} from '../../src/analysis/evidence-format.js';
import type { Measurement } from '../../src/analysis/types.js';
import type { LoadedRollout } from '../../src/app/session.js';
import { formatStatus } from '../../src/cli/status.js';
import { renderAnalysis } from '../../src/github/markdown.js';
import type { RolloutPlan } from '../../src/plan/types.js';
import { createEmptyState, type RolloutState } from '../../src/state/types.js';
import { metric, observation } from './helpers/metric.js';

function counted(events: number, exposure: number) {
  return { ok: true as const, value: events / exposure, counts: { events, exposure } };
}

/** Seed 000's criterion failing at its second look: 40 errors in 1,000 canary requests vs 38 in 19,000. */
function failedLook(): Measurement {
  const m = metric({ maxIncreasePercent: 10, baseline: { cohort: 'stable' }, severity: 'critical' });
  const looks = assessSequentialLooks(
    m,
    [counted(0, 500), counted(40, 1000)].map((canary, k) => ({
      ...observation(canary, undefined, k),
      query: 'ratio(http_requests_total{code=~"5.."}, http_requests_total)',
      comparison: {
        kind: 'stable' as const,
        result: k === 0 ? counted(0, 9500) : counted(38, 19_000),
        query: 'ratio(b)',
        cohort: ['b-1', 'b-2'],
      },
    })),
  );
  return { ...looks[1]!.measurement, evidence: { ...looks[1]!.measurement.evidence!, looks: 2 } };
}

const OPENED = '2026-01-01T12:00:00.000Z';

function stateWith(measurements: Measurement[]): RolloutState {
  const s = createEmptyState('edge');
  s.phase = 'RolledBack';
  s.waves.push({
    id: 'all/canary',
    phase: 'Failed',
    targets: ['canary-1'],
    observeUntil: '2026-01-01T12:10:00.000Z',
    observedUntil: '2026-01-01T12:02:00.000Z',
    decidedAt: '2026-01-01T12:02:00.000Z',
    analysis: { verdict: 'fail', message: 'error-rate failed', measurements },
  });
  return s;
}

const plan = { waves: [{ id: 'all/canary', observeMs: 600_000 }] } as unknown as RolloutPlan;

describe('evidence for people', () => {
  it('rounds the estimate, interval, limit and counts, and keeps the rule, the query and when it was decided', () => {
    const m = failedLook();
    const v = viewEvidence(m);

    expect(v).toMatchObject({
      metric: 'error-rate',
      decision: 'fail',
      limit: 'limit 1.1x, detect 2x',
      canary: '40 events / 1,000 requests (1 target)',
      baseline: 'stable (2 targets): 38 events / 19,000 requests',
      decided: '12:02:00Z, look 2',
      query: 'ratio(http_requests_total{code=~"5.."}, http_requests_total)',
    });
    expect(v.estimate).toMatch(/^20x \(99% interval [\d.]+x–[\d.]+x\)$/);
    expect(v.rule).toContain('anytime-valid 99% interval: fail if lower > 1.1x, pass if upper < 2x');
    // The state keeps the exact numbers (rounded only here).
    expect(m.evidence?.estimate).toBeCloseTo(20, 10);
    expect(String(m.evidence?.interval?.[0]).length).toBeGreaterThan(5);
  });

  it('says how long a window lasted: ended early, ran to the most, or held past it', () => {
    const w = {
      observeUntil: '2026-01-01T12:10:00.000Z',
      observedUntil: '2026-01-01T12:00:30.000Z',
      decidedAt: '2026-01-01T12:00:30.000Z',
    };
    expect(describeObservedWindow(w, 600_000)).toBe(
      'window 12:00:00Z–12:00:30Z (30 s of the 10 min most; ended early), decided 12:00:30Z',
    );
    expect(describeObservedWindow({ ...w, observedUntil: w.observeUntil }, 600_000)).toContain('ran to the most');
    expect(describeObservedWindow({ ...w, observedUntil: '2026-01-01T12:21:00.000Z', reopened: 1 }, 600_000)).toBe(
      'window 12:00:00Z–12:21:00Z (21 min of the 10 min most; held past it by noData: wait; opened again 1×), decided 12:00:30Z',
    );
    expect(describeObservedWindow({ observeUntil: w.observeUntil }, 600_000)).toBeUndefined();
    expect(duration(5_400_000)).toBe('90 min');
    expect(duration(9_000_000)).toBe('2.5 h');
  });

  it('speaks for each metric with its first failed measurement, else its last; measurements without evidence still show', () => {
    const base = { query: 'q', cohort: ['a'], window: { start: OPENED, end: OPENED }, threshold: '< 1' };
    const list: Measurement[] = [
      { ...base, metric: 'latency', verdict: 'pass', severity: 'warning', message: '', at: OPENED, value: 0.1 },
      { ...base, metric: 'latency', verdict: 'fail', severity: 'warning', message: '', at: OPENED, value: 2 },
      { ...base, metric: 'latency', verdict: 'pass', severity: 'warning', message: '', at: OPENED, value: 0.2 },
      { ...base, metric: 'errors', verdict: 'pass', severity: 'warning', message: '', at: OPENED, value: 0 },
    ];
    expect(verdictMeasurements(list).map((m) => [m.metric, m.value])).toEqual([
      ['latency', 2],
      ['errors', 0],
    ]);
    expect(viewEvidence(list[3]!)).toMatchObject({ decision: 'pass', estimate: '0', limit: 'threshold < 1' });
  });

  it('status prints the window observed and the evidence of each verdict', () => {
    const loaded = { spec: { name: 'edge', component: 'agent', version: '1.1.0' }, plan } as unknown as LoadedRollout;
    const text = formatStatus(loaded, stateWith([failedLook()]), picocolors.createColors(false));

    expect(text).toContain('    window 12:00:00Z–12:02:00Z (2 min of the 10 min most; ended early), decided 12:02:00Z');
    expect(text).toContain('evidence (rounded; exact in the state file):');
    expect(text).toMatch(/ {6}error-rate: fail — 20x \(99% interval [\d.]+x–[\d.]+x\); limit 1\.1x, detect 2x/);
    expect(text).toContain(
      '        canary: 40 events / 1,000 requests (1 target); baseline: stable (2 targets): 38 events / 19,000 requests',
    );
    expect(text).toContain('        rule: rate ratio canary/baseline, anytime-valid 99% interval');
    expect(text).toContain(
      '        decided 12:02:00Z, look 2; query: ratio(http_requests_total{code=~"5.."}, http_requests_total)',
    );
    expect(formatEvidenceLines([failedLook()], '')).toHaveLength(4);
  });

  it('the job summary has the evidence under the analysis table, escaped, the query in code', () => {
    const md = renderAnalysis(stateWith([failedLook()]), plan)!;

    // The measurement's row ends in its verdict, in the words of the wave's.
    expect(md).toContain('| wave | metric | value | threshold | baseline | verdict |');
    expect(md).toMatch(/^\| \| error-rate \| [^\n]* \| fail: [^|\n]+ \|$/m);

    expect(md).toContain('<details><summary>Evidence for all/canary (rounded; exact in the state file)</summary>');
    expect(md).toContain('window 12:00:00Z–12:02:00Z (2 min of the 10 min most; ended early), decided 12:02:00Z.');
    expect(md).toContain('| metric | decision | estimate | limit | canary | baseline | rule | decided | query |');
    const row = md.split('\n').find((l) => l.startsWith('| error-rate | **fail** |'))!;
    expect(row).toContain('| limit 1.1x, detect 2x | 40 events / 1,000 requests (1 target) |');
    expect(row).toContain('| 12:02:00Z, look 2 | `ratio(http_requests_total{code=~"5.."}, http_requests_total)` |');
    // Every row of the evidence table has its nine cells (a query's `|` cannot break it).
    const pipes = (l: string) => l.replace(/\\\|/g, '').split('|').length;
    expect(pipes(row)).toBe(
      pipes('| metric | decision | estimate | limit | canary | baseline | rule | decided | query |'),
    );
  });
});
