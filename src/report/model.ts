/**
 * What the report shows, derived from the state alone (pure, no I/O): the
 * timeline's spans and moments, each wave's targets by outcome, and each
 * metric of each analysed window as the series the state recorded. Times are
 * epoch ms; values exact (the page rounds them).
 */
import type { Measurement, SeriesPoint } from '../analysis/types.js';
import { roundForPeople } from './format.js';
import type { RolloutState, TargetPhase, WaveState } from '../state/types.js';

/** A bar on the timeline. */
export interface TimelineSpan {
  /** Row: a wave id, `rollout` (gates, decisions) or `rollback`. */
  row: string;
  kind: 'steps' | 'observation' | 'paused' | 'rollback';
  startMs: number;
  endMs: number;
  label: string;
}

/** A moment on the timeline. */
export interface TimelineMark {
  row: string;
  kind:
    'approval' | 'decision' | 'breaker trip' | 'analysis verdict' | 'alert check' | 'error-budget check' | 'condition';
  atMs: number;
  label: string;
}

export interface TargetView {
  id: string;
  phase: TargetPhase | 'Unknown';
  version?: string;
  message?: string;
}

/** One recorded measurement of a metric, as a point of its chart. */
export interface MetricPoint {
  atMs: number;
  windowStartMs: number;
  windowEndMs: number;
  canary?: number;
  baseline?: number;
  /** The most the canary may be at this point: baseline × limit (maxIncrease), when both are known. */
  allowedUpper?: number;
  verdict: Measurement['verdict'];
  message: string;
}

/** One metric of one analysed window. */
export interface MetricView {
  wave: string;
  metric: string;
  threshold: string;
  severity: string;
  /** The verdict of the measurement that decided it (the last recorded). */
  verdict: Measurement['verdict'];
  /** The x range of the chart: the observation window, stretched to every measurement. */
  fromMs: number;
  toMs: number;
  decidedAtMs: number;
  points: MetricPoint[];
  /** An absolute threshold parsed from `threshold` (`< 0.05`). */
  bound?: { op: '<' | '<=' | '>' | '>='; value: number };
  /** Canary ÷ baseline at the decision, with its interval and the limits, when the evidence has them. */
  ratio?: {
    estimate?: number;
    interval?: [number, number];
    limit?: number;
    detect?: number;
    confidence?: number;
  };
  rule?: string;
  looks?: number;
  pValue?: number;
  canaryCounts?: { events?: number; exposure?: number; samples?: number };
  baselineCounts?: { events?: number; exposure?: number; samples?: number; kind?: string };
  /** Said under the chart: what the state recorded and what it did not. */
  seriesNote: string;
}

export interface WaveView {
  id: string;
  tier: string;
  phase: WaveState['phase'];
  startedAtMs?: number;
  finishedAtMs?: number;
  observationStartMs?: number;
  observationEndMs?: number;
  decidedAtMs?: number;
  message?: string;
  verdict?: { verdict: string; message: string };
  targets: TargetView[];
  metrics: MetricView[];
  alerts: { when: string; verdict: string; atMs: number; message: string }[];
  slo: { when: string; verdict: string; atMs: number; message: string; consumed?: number; limit: number }[];
}

export interface ReportModel {
  name: string;
  phase: RolloutState['phase'];
  fromVersion?: string;
  toVersion?: string;
  isRollback: boolean;
  rolledBackFrom?: string;
  condition?: RolloutState['condition'];
  startedAtMs?: number;
  updatedAtMs?: number;
  /** Row order of the timeline, top to bottom. */
  rows: string[];
  spans: TimelineSpan[];
  marks: TimelineMark[];
  waves: WaveView[];
  approvals: RolloutState['approvals'];
  decisions: RolloutState['decisions'];
  breakerTrips: RolloutState['breaker']['trips'];
  history: RolloutState['history'];
}

/** What the plan adds when the spec could be loaded: each wave's observation length. */
export interface PlanHints {
  observeMs?: Record<string, number>;
  tiers?: Record<string, string>;
}

const ms = (iso: string | undefined): number | undefined => {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
};

/** A table line for an earlier look: what the test concluded there and its interval (the state keeps exact values). */
function describeLook(p: SeriesPoint): string {
  const what = p.decision === 'continue' || p.decision === undefined ? 'keep observing' : p.decision;
  const ratio =
    p.estimate !== undefined
      ? `; ratio ${roundForPeople(p.estimate)}${p.interval ? ` (interval ${roundForPeople(p.interval[0])}–${roundForPeople(p.interval[1])})` : ''}`
      : '';
  const data = p.value === undefined || p.baselineValue === undefined ? ' (not enough data yet)' : '';
  return `look: ${what}${data}${ratio}`;
}

/** Parses an absolute threshold as written (`< 0.05`, `>= 0.99`); relative ones have none. */
export function parseBound(threshold: string): MetricView['bound'] {
  const m = /^\s*(<=|>=|<|>|≤|≥)\s*(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)\s*$/i.exec(threshold);
  if (!m) return undefined;
  const op = m[1] === '≤' ? '<=' : m[1] === '≥' ? '>=' : (m[1] as '<' | '<=' | '>' | '>=');
  return { op, value: Number(m[2]) };
}

function metricViews(wave: WaveState, obsStart: number | undefined, obsEnd: number | undefined): MetricView[] {
  const measurements = wave.analysis?.measurements ?? [];
  const byMetric = new Map<string, Measurement[]>();
  for (const m of measurements) byMetric.set(m.metric, [...(byMetric.get(m.metric) ?? []), m]);
  const views: MetricView[] = [];
  for (const [metric, list] of byMetric) {
    const last = list[list.length - 1]!;
    const ev = last.evidence;
    const points: MetricPoint[] = list.flatMap((m) => {
      const limit = m.evidence?.limit;
      const allowed = (baseline: number | undefined): number | undefined =>
        limit !== undefined && baseline !== undefined && Number.isFinite(limit) ? baseline * limit : undefined;
      const decided: MetricPoint = {
        atMs: ms(m.at) ?? ms(m.window.end)!,
        windowStartMs: ms(m.window.start)!,
        windowEndMs: ms(m.window.end)!,
        canary: m.value,
        baseline: m.baselineValue,
        allowedUpper: allowed(m.baselineValue),
        verdict: m.verdict,
        message: m.message,
      };
      // A sequential metric's earlier looks (cumulative since the window start); the last is the one above.
      const earlier = (m.series ?? []).slice(0, -1).map((p): MetricPoint => ({
        atMs: ms(p.at)!,
        windowStartMs: ms(m.window.start)!,
        windowEndMs: ms(p.at)!,
        canary: p.value,
        baseline: p.baselineValue,
        allowedUpper: allowed(p.baselineValue),
        verdict: p.verdict,
        message: describeLook(p),
      }));
      return [...earlier, decided];
    });
    const times = points.flatMap((p) => [p.atMs, p.windowStartMs, p.windowEndMs]).filter(Number.isFinite);
    if (obsStart !== undefined) times.push(obsStart);
    if (obsEnd !== undefined) times.push(obsEnd);
    const looks = ev?.looks;
    const recorded = last.series?.length ?? 0;
    const seriesNote =
      recorded > 0
        ? `${recorded === looks ? `Every look of the sequential test (${recorded})` : `${recorded} of the sequential test's ${looks ?? recorded} looks (thinned evenly; the first and the deciding one kept)`} is shown, each cumulative since the window opened; the last is the one that decided.`
        : looks !== undefined && looks > list.length
          ? `The state keeps only the look that decided this metric (look ${looks} of the sequential test, cumulative since the window opened); the values of the earlier looks are not recorded, so the chart shows ${list.length === 1 ? 'that look' : `the ${list.length} recorded looks`}.`
          : list.length === 1
            ? 'One measurement over the window is recorded for this metric; the chart shows it at the moment it was taken.'
            : `${list.length} measurements are recorded for this metric; the chart shows each at the moment it was taken.`;
    views.push({
      wave: wave.id,
      metric,
      threshold: last.threshold,
      severity: last.severity,
      verdict: last.verdict,
      fromMs: Math.min(...times),
      toMs: Math.max(...times),
      decidedAtMs: points[points.length - 1]!.atMs,
      points,
      bound: parseBound(last.threshold),
      ratio:
        ev && (ev.estimate !== undefined || ev.interval !== undefined || ev.limit !== undefined)
          ? {
              estimate: ev.estimate,
              interval: ev.interval,
              limit: ev.limit,
              detect: ev.detect,
              confidence: ev.confidence,
            }
          : undefined,
      rule: ev?.rule,
      looks,
      pValue: ev?.pValue,
      canaryCounts: ev?.canary,
      baselineCounts: ev?.baseline
        ? {
            events: ev.baseline.events,
            exposure: ev.baseline.exposure,
            samples: ev.baseline.samples,
            kind: ev.baseline.kind,
          }
        : undefined,
      seriesNote,
    });
  }
  return views;
}

/**
 * Builds the report's model from a state.
 * @param state the rollout's state as read from its backend
 * @param hints what the plan says (observation length per wave), when the spec loaded
 * @param nowMs the report's time: the end of a pause still open
 */
export function buildReportModel(state: RolloutState, hints: PlanHints = {}, nowMs = Date.now()): ReportModel {
  const spans: TimelineSpan[] = [];
  const marks: TimelineMark[] = [];
  const waves: WaveView[] = [];
  const rows: string[] = ['rollout'];
  for (const w of state.waves) {
    rows.push(w.id);
    const started = ms(w.startedAt);
    const firstWindow = w.analysis?.measurements
      .map((m) => ms(m.window.start))
      .filter((t): t is number => t !== undefined);
    const observeUntil = ms(w.observeUntil);
    const observeMs = hints.observeMs?.[w.id];
    let obsStart = firstWindow && firstWindow.length > 0 ? Math.min(...firstWindow) : undefined;
    if (obsStart === undefined && observeUntil !== undefined && observeMs !== undefined)
      obsStart = observeUntil - observeMs;
    const obsEnd = ms(w.observedUntil) ?? ms(w.decidedAt) ?? observeUntil;
    const finished = ms(w.finishedAt);
    const stepsEnd = obsStart ?? finished;
    if (started !== undefined && stepsEnd !== undefined && stepsEnd >= started)
      spans.push({ row: w.id, kind: 'steps', startMs: started, endMs: stepsEnd, label: `${w.id}: steps` });
    if (obsStart !== undefined && obsEnd !== undefined && obsEnd > obsStart)
      spans.push({
        row: w.id,
        kind: 'observation',
        startMs: obsStart,
        endMs: obsEnd,
        label: `${w.id}: observation window`,
      });
    const decided = ms(w.decidedAt);
    if (w.analysis && decided !== undefined)
      marks.push({
        row: w.id,
        kind: 'analysis verdict',
        atMs: decided,
        label: `analysis ${w.analysis.verdict}: ${w.analysis.message}`,
      });
    const alerts: WaveView['alerts'] = [];
    for (const c of [w.alerts?.before, w.alerts?.after]) {
      if (!c) continue;
      const at = ms(c.at)!;
      alerts.push({ when: c.when, verdict: c.verdict, atMs: at, message: c.message });
      marks.push({ row: w.id, kind: 'alert check', atMs: at, label: `alerts ${c.when}: ${c.verdict}` });
    }
    const slo: WaveView['slo'] = [];
    for (const c of [w.slo?.before, w.slo?.after]) {
      if (!c) continue;
      const at = ms(c.at)!;
      slo.push({
        when: c.when,
        verdict: c.verdict,
        atMs: at,
        message: c.message,
        consumed: c.budget.consumed,
        limit: c.budget.limit,
      });
      marks.push({ row: w.id, kind: 'error-budget check', atMs: at, label: `error budget ${c.when}: ${c.verdict}` });
    }
    waves.push({
      id: w.id,
      tier: hints.tiers?.[w.id] ?? w.id.split('/')[0]!,
      phase: w.phase,
      startedAtMs: started,
      finishedAtMs: finished,
      observationStartMs: obsStart,
      observationEndMs: obsEnd,
      decidedAtMs: decided,
      message: w.message,
      verdict: w.analysis ? { verdict: w.analysis.verdict, message: w.analysis.message } : undefined,
      targets: w.targets.map((id) => {
        const t = state.targets[id];
        return { id, phase: t?.phase ?? 'Unknown', version: t?.version, message: t?.message };
      }),
      metrics: metricViews(w, obsStart, obsEnd),
      alerts,
      slo,
    });
  }
  for (const a of state.approvals)
    marks.push({ row: 'rollout', kind: 'approval', atMs: ms(a.at)!, label: `gate ${a.gate} approved by ${a.by}` });
  const decisions = [...state.decisions].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  for (const d of decisions)
    marks.push({
      row: 'rollout',
      kind: 'decision',
      atMs: ms(d.at)!,
      label: `${d.decision} by ${d.by}${d.wave ? ` at ${d.wave}` : ''}${d.reason ? `: ${d.reason}` : ''}`,
    });
  // Pauses: from each breaker trip (and a current Paused condition) to the next decision.
  const pauseStarts = state.breaker.trips.map((t) => ({ at: ms(t.at)!, why: `breaker tripped at ${t.wave}` }));
  for (const t of state.breaker.trips)
    marks.push({
      row: t.wave,
      kind: 'breaker trip',
      atMs: ms(t.at)!,
      label: `breaker tripped: ${t.reason} (${t.failedTargets.join(', ')})`,
    });
  if (state.condition) {
    const at = ms(state.condition.at)!;
    marks.push({
      row: 'rollout',
      kind: 'condition',
      atMs: at,
      label: `${state.phase}: ${state.condition.reason}`,
    });
    if (state.phase === 'Paused' && !pauseStarts.some((p) => p.at === at))
      pauseStarts.push({ at, why: state.condition.reason });
  }
  for (const p of pauseStarts) {
    const next = decisions.map((d) => ms(d.at)!).find((t) => t >= p.at);
    const end = next ?? (state.phase === 'Paused' ? Math.max(nowMs, p.at) : undefined);
    if (end !== undefined)
      spans.push({
        row: 'rollout',
        kind: 'paused',
        startMs: p.at,
        endMs: end,
        label: `paused (${p.why})${next ? '' : ', still paused'}`,
      });
  }
  // Rollback: from the decision (or the failed verdict) to the last target returned.
  const back = Object.values(state.targets).filter((t) => t.phase === 'RolledBack' || t.phase === 'RollbackFailed');
  if (back.length > 0) {
    const rollbackDecision = decisions.filter((d) => d.decision === 'rollback').pop();
    const failedWave = state.waves.find((w) => w.analysis?.verdict === 'fail' || w.phase === 'Failed');
    const start =
      ms(rollbackDecision?.at) ??
      ms(failedWave?.decidedAt) ??
      ms(failedWave?.finishedAt) ??
      Math.min(...back.map((t) => ms(t.startedAt) ?? Infinity));
    const end = Math.max(...back.map((t) => ms(t.finishedAt) ?? -Infinity));
    if (Number.isFinite(start) && Number.isFinite(end) && end >= start) {
      rows.push('rollback');
      spans.push({
        row: 'rollback',
        kind: 'rollback',
        startMs: start,
        endMs: end,
        label: `rollback of ${back.length} target(s)`,
      });
    }
  }
  return {
    name: state.name,
    phase: state.phase,
    fromVersion: state.fromVersion,
    toVersion: state.toVersion,
    isRollback: state.isRollback === true,
    rolledBackFrom: state.rolledBackFrom,
    condition: state.condition,
    startedAtMs: ms(state.startedAt),
    updatedAtMs: ms(state.updatedAt),
    rows,
    spans,
    marks: marks.filter((m) => Number.isFinite(m.atMs)),
    waves,
    approvals: state.approvals,
    decisions,
    breakerTrips: state.breaker.trips,
    history: state.history,
  };
}
