/**
 * The report's model and the job summary's mermaid timeline, on the state a real demo
 * rollout left (`npm run demo`: 1.3.0-errors10 failed its canary's error-rate analysis
 * and was rolled back automatically; fixtures/metric-rollback.state.yaml).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseState } from '../../src/state/parse.js';
import { buildReportModel, parseBound } from '../../src/report/model.js';
import { renderMermaidTimeline } from '../../src/report/mermaid-timeline.js';
import { roundForPeople } from '../../src/report/format.js';
import { assessSequentialLooks, assessSequentialMetric } from '../../src/analysis/assess-sequential.js';
import { metric as metricSpec, observation } from '../analysis/helpers/metric.js';

const state = parseState(
  readFileSync(resolve(import.meta.dirname, 'fixtures/metric-rollback.state.yaml'), 'utf8'),
  'metric-rollback.state.yaml',
);

describe('report model', () => {
  it('charts the failed metric of the canary with its threshold and the moment it was decided', () => {
    const model = buildReportModel(state, {}, Date.parse(state.updatedAt!));
    expect(model.waves.map((w) => w.id)).toEqual(state.waves.map((w) => w.id));
    const [metric] = model.waves[0]!.metrics;
    expect(metric).toMatchObject({ wave: 'edge/canary', metric: 'error-rate', verdict: 'fail' });
    expect(metric!.bound).toEqual({ op: '<', value: 0.05 });
    expect(metric!.decidedAtMs).toBe(Date.parse(state.waves[0]!.analysis!.measurements[0]!.at));
    expect(metric!.points[0]!.canary).toBe(state.waves[0]!.analysis!.measurements[0]!.value);
    expect(model.spans.map((s) => `${s.row} ${s.kind}`)).toEqual(
      expect.arrayContaining(['edge/canary steps', 'edge/canary observation', 'rollback rollback']),
    );
    expect(model.marks.some((m) => m.kind === 'decision' && m.label.startsWith('rollback by'))).toBe(true);
  });

  it('charts every recorded look of a sequential metric, each with its allowed-increase band', () => {
    const m = metricSpec({
      name: 'api-5xx',
      maxIncreasePercent: 10,
      baseline: { cohort: 'stable' },
      severity: 'critical',
    });
    const counted = (events: number, exposure: number) => ({
      ok: true as const,
      value: events / exposure,
      counts: { events, exposure },
    });
    // Cumulative counts at three looks: the canary's errors grow until the test fails at the third.
    const obs = [
      [2, 100, 10, 1900],
      [9, 200, 20, 3800],
      [40, 300, 30, 5700],
    ].map(([e, x, be, bx], k) => observation(counted(e!, x!), { result: counted(be!, bx!) }, k));
    const looks = assessSequentialLooks(m, obs);
    const kept = assessSequentialMetric(m, looks).measurements;
    expect(kept).toHaveLength(1);
    const wave = { ...state.waves[0]!, analysis: { verdict: 'fail' as const, message: 'm', measurements: kept } };
    const model = buildReportModel({ ...state, waves: [wave] }, {}, Date.parse(state.updatedAt!));
    const view = model.waves[0]!.metrics[0]!;
    const decidedAt = kept[0]!.evidence!.looks!;
    expect(view.points).toHaveLength(decidedAt);
    expect(view.points.map((p) => p.canary)).toEqual(kept[0]!.series!.map((p) => p.value));
    expect(view.points.map((p) => p.allowedUpper)).toEqual(kept[0]!.series!.map((p) => p.baselineValue! * 1.1));
    expect(view.points.at(-1)!.verdict).toBe('fail');
    expect(view.points[0]!.message).toMatch(/^look: keep observing; ratio [\d.]+ \(interval [\d.]+–[\d.∞]+\)$/);
    expect(view.seriesNote).toContain(`Every look of the sequential test (${decidedAt})`);
    expect(view.decidedAtMs).toBe(Date.parse(kept[0]!.at));
  });

  it('parses absolute thresholds only; relative ones get a band, not a line', () => {
    expect(parseBound('<= 1e-3')).toEqual({ op: '<=', value: 0.001 });
    expect(parseBound('≥ 0.99')).toEqual({ op: '>=', value: 0.99 });
    expect(parseBound('no increase > 10%')).toBeUndefined();
  });

  it('rounds for people and keeps infinity readable', () => {
    expect(roundForPeople(0.089743589)).toBe('0.0897');
    expect(roundForPeople(Infinity)).toBe('∞');
    expect(roundForPeople(undefined)).toBe('–');
  });
});

describe('mermaid timeline of the job summary', () => {
  it('is a gantt chart on epoch-ms times with a section per row and the decision as a milestone', () => {
    const text = renderMermaidTimeline(state, Date.parse(state.updatedAt!))!;
    const lines = text.split('\n');
    expect(lines.slice(0, 4)).toEqual(['```mermaid', 'gantt', '  dateFormat x', '  axisFormat %H:%M:%S']);
    expect(lines.at(-1)).toBe('```');
    expect(lines).toContain('  section edge/canary');
    expect(lines).toContain('  section rollback');
    expect(lines.some((l) => /^ {2}rollback by .* :milestone, \d+, 0s$/.test(l))).toBe(true);
    // Every task line is `name :data`, the name free of mermaid's separators.
    for (const l of lines.filter((x) => / :/.test(x))) expect(l.split(' :')[0]).not.toMatch(/[:#;]/);
  });

  it('is absent before anything ran', () => {
    expect(renderMermaidTimeline(undefined)).toBeUndefined();
    expect(
      renderMermaidTimeline({
        ...state,
        waves: [],
        approvals: [],
        decisions: [],
        targets: {},
        breaker: { consecutiveFailures: 0, trips: [] },
        condition: undefined,
      }),
    ).toBeUndefined();
  });
});
