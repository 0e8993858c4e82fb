/**
 * Evidence (issue 11, part 7) travels inside each measurement: the state
 * writer must keep every field exactly, also an unbounded interval.
 */
import { describe, expect, it } from 'vitest';
import { assessSequentialLooks, assessSequentialMetric } from '../../src/analysis/assess-sequential.js';
import type { Measurement } from '../../src/analysis/types.js';
import { serializeState, serializeStateWithYaml } from '../../src/state/format.js';
import { parseState, parseStateWithYaml } from '../../src/state/parse.js';
import { createEmptyState } from '../../src/state/types.js';
import { metric, observation } from './helpers/metric.js';

function counted(events: number, exposure: number) {
  return { ok: true as const, value: events / exposure, counts: { events, exposure } };
}

function stateWith(measurements: Measurement[]) {
  const s = createEmptyState('evidence');
  s.waves.push({
    id: 'all/canary',
    phase: 'Failed',
    targets: ['canary-1'],
    analysis: { verdict: 'inconclusive', message: 'm', measurements },
  });
  return s;
}

describe('evidence in the state file', () => {
  const m = metric({ maxIncreasePercent: 10, baseline: { cohort: 'stable' }, severity: 'critical' });
  const looks = assessSequentialLooks(m, [
    // No events yet: the interval is unbounded above.
    {
      ...observation(counted(0, 500), { result: counted(0, 9500) }, 0),
      comparison: {
        kind: 'stable',
        result: counted(0, 9500),
        query: 'ratio(b)',
        cohort: ['b-1', 'b-2'],
      },
    },
    {
      ...observation(counted(40, 1000), { result: counted(38, 19_000) }, 1),
      comparison: {
        kind: 'stable',
        result: counted(38, 19_000),
        query: 'ratio(b)',
        cohort: ['b-1', 'b-2'],
      },
    },
  ]);
  const measurements = looks.map((l) => l.measurement);

  it('records the rule, counts, estimate, interval, limit and decision', () => {
    expect(measurements[0]?.evidence).toMatchObject({
      decision: 'continue',
      confidence: 0.99,
      limit: 1.1,
      detect: 2,
      canary: { events: 0, exposure: 500 },
      baseline: { kind: 'stable', cohort: ['b-1', 'b-2'], query: 'ratio(b)', events: 0, exposure: 9500 },
      interval: [0, Infinity],
    });
    const decided = measurements[1]!;
    expect(decided.verdict).toBe('fail');
    expect(decided.evidence?.decision).toBe('fail');
    expect(decided.evidence?.estimate).toBeCloseTo(20, 5);
    expect(decided.evidence?.interval?.[0]).toBeGreaterThan(1.1);
    expect(decided.evidence?.rule).toContain('anytime-valid 99% interval: fail if lower > 1.1x, pass if upper < 2x');
  });

  it('shares no array with the measurement (a shared one would be written as a YAML alias)', () => {
    const ids = ['canary-1'];
    const obs = { ...observation(counted(1, 100), undefined, 0), cohort: ids };
    const [look] = assessSequentialLooks(m, [
      { ...obs, comparison: { kind: 'before', result: counted(1, 100), query: 'q', cohort: ids } },
    ]);
    const text = serializeState(stateWith([look!.measurement]));
    expect(parseState(text, 's.yaml').waves[0]?.analysis?.measurements[0]?.evidence?.baseline?.cohort).toEqual(ids);
  });

  it('round-trips through both state writers and readers', () => {
    const state = stateWith(measurements);
    const text = serializeState(state);
    expect(text).toContain('.inf');
    for (const parse of [parseState, parseStateWithYaml]) {
      const back = parse(text, 'evidence.state.yaml');
      expect(back.waves[0]?.analysis?.measurements).toEqual(measurements);
    }
  });

  it("keeps a sequential metric's looks as one flow line each, exactly, through both writers and readers", () => {
    const kept = assessSequentialMetric(m, looks).measurements;
    expect(kept).toHaveLength(1);
    expect(kept[0]!.series).toHaveLength(2);
    const state = stateWith(kept);
    const text = serializeState(state);
    expect(text).toBe(serializeStateWithYaml(state));
    const lines = text.split('\n').filter((l) => /^ +- \{ at: /.test(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('interval: [ 0, .inf ]');
    for (const parse of [parseState, parseStateWithYaml]) {
      expect(parse(text, 'evidence.state.yaml').waves[0]?.analysis?.measurements).toEqual(kept);
    }
  });
});
