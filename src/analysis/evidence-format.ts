/**
 * Evidence for people (issue 11, part 7): what `status` and the job summary show of each verdict —
 * metric, query, cohorts, sample sizes, the estimate with its confidence interval, the limit, the
 * decision rule and when it was decided. Rounded here (three significant digits, thousands
 * separated); the state keeps every number exact. Pure.
 */
import { formatRatio } from './assess-sequential.js';
import { formatValue } from './messages.js';
import type { EvidenceCounts, Measurement } from './types.js';

/** The rounded parts of one measurement's evidence, each a short phrase (absent parts are omitted). */
export interface EvidenceView {
  metric: string;
  /** `fail`, `pass`, `keep observing`, or the measurement's verdict when no rule decision was recorded. */
  decision: string;
  /** `20x (99% interval 8.41x–47.5x)`, `1.02x`, or the value. */
  estimate?: string;
  /** `limit 1.1x, detect 2x`. */
  limit?: string;
  /** `40 events / 1,000 requests (1 target)`, `12 samples`. */
  canary?: string;
  /** `stable (2 targets): 38 events / 19,000 requests`. */
  baseline?: string;
  rule?: string;
  /** `12:00:30Z, look 2 of the window`. */
  decided: string;
  /** The canary query as sent. */
  query: string;
}

/** `1,234` (a whole count, thousands separated). */
function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function sizes(c: EvidenceCounts | undefined): string | undefined {
  if (!c) return undefined;
  const parts: string[] = [];
  if (c.exposure !== undefined) parts.push(`${count(c.events ?? 0)} events / ${count(c.exposure)} requests`);
  if (c.samples !== undefined) parts.push(`${count(c.samples)} samples`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}

function targets(n: number): string {
  return `${n} target${n === 1 ? '' : 's'}`;
}

/** `12:00:30Z` (UTC clock time) from an ISO time; the ISO text itself when it is not one. */
export function clockTime(iso: string): string {
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(iso) ? `${iso.slice(11, 19)}Z` : iso;
}

/**
 * The rounded view of one measurement's evidence. A measurement written before evidence existed
 * still gives its metric, value, verdict, query and time.
 */
export function viewEvidence(m: Measurement): EvidenceView {
  const ev = m.evidence;
  const decision = ev?.decision === 'continue' ? 'keep observing' : (ev?.decision ?? m.verdict);
  let estimate: string | undefined;
  if (ev?.estimate !== undefined) {
    const conf = ev.confidence !== undefined ? `${Math.round(ev.confidence * 1000) / 10}% ` : '';
    const interval = ev.interval
      ? ` (${conf}interval ${formatRatio(ev.interval[0])}–${formatRatio(ev.interval[1])})`
      : '';
    estimate = `${formatRatio(ev.estimate)}${interval}`;
  } else if (m.value !== undefined) estimate = formatValue(m.value);
  const limits = [
    ev?.limit !== undefined ? `limit ${formatRatio(ev.limit)}` : undefined,
    ev?.detect !== undefined ? `detect ${formatRatio(ev.detect)}` : undefined,
  ].filter((x): x is string => x !== undefined);
  const canarySizes = sizes(ev?.canary);
  const base = ev?.baseline;
  const baseSizes = sizes(base);
  const baseline = base
    ? `${base.kind}${base.cohort ? ` (${targets(base.cohort.length)})` : ''}${baseSizes ? `: ${baseSizes}` : ''}`
    : m.baselineValue !== undefined
      ? `value ${formatValue(m.baselineValue)}`
      : undefined;
  return {
    metric: m.metric,
    decision,
    ...(estimate !== undefined && { estimate }),
    limit: limits.length > 0 ? limits.join(', ') : `threshold ${m.threshold}`,
    canary: `${canarySizes ? `${canarySizes} ` : ''}(${targets(m.cohort.length)})`,
    ...(baseline !== undefined && { baseline }),
    ...(ev?.rule !== undefined && { rule: ev.rule }),
    decided: `${clockTime(m.at)}${ev?.looks !== undefined ? `, look ${ev.looks}` : ''}`,
    query: m.query,
  };
}

/**
 * One line on how long a wave's window lasted: `window 12:00:00Z–12:00:30Z (30 s of the 10 min
 * most; ended early), decided 12:00:30Z` — from `observeUntil`, `observedUntil`, `decidedAt` and
 * the window's planned length (ms). Undefined when the state records no analysed window.
 */
export function describeObservedWindow(
  w: { observeUntil?: string; observedUntil?: string; decidedAt?: string; reopened?: number },
  observeMs: number | undefined,
): string | undefined {
  if (!w.observeUntil || !w.observedUntil || observeMs === undefined || observeMs <= 0) return undefined;
  const planned = Date.parse(w.observeUntil);
  const start = planned - observeMs;
  const end = Date.parse(w.observedUntil);
  const how = end < planned ? 'ended early' : end > planned ? 'held past it by noData: wait' : 'ran to the most';
  const reopened = w.reopened ? `; opened again ${w.reopened}×` : '';
  return `window ${clockTime(new Date(start).toISOString())}–${clockTime(w.observedUntil)} (${duration(end - start)} of the ${duration(observeMs)} most; ${how}${reopened})${w.decidedAt ? `, decided ${clockTime(w.decidedAt)}` : ''}`;
}

/** `30 s`, `4.5 min`, `1.2 h` (rounded for people). */
export function duration(ms: number): string {
  const s = ms / 1000;
  if (s < 120) return `${Number(s.toPrecision(3))} s`;
  if (s < 7200) return `${Number((s / 60).toPrecision(3))} min`;
  return `${Number((s / 3600).toPrecision(3))} h`;
}

/**
 * The measurement that speaks for each metric's verdict, in metric order: the first failed one,
 * else the last (a sequential metric records only the look that decided, or its last look).
 */
export function verdictMeasurements(measurements: readonly Measurement[]): Measurement[] {
  const byMetric = new Map<string, Measurement[]>();
  for (const m of measurements) byMetric.set(m.metric, [...(byMetric.get(m.metric) ?? []), m]);
  return [...byMetric.values()].map((list) => list.find((m) => m.verdict === 'fail') ?? (list.at(-1) as Measurement));
}

/**
 * The evidence of each metric's verdict as text lines for a terminal (`fleetgate status`), each
 * starting with `indent`: decision and estimate, limit, cohorts and sample sizes, rule, when
 * decided, and the query.
 */
export function formatEvidenceLines(measurements: readonly Measurement[], indent = '    '): string[] {
  const lines: string[] = [];
  for (const m of verdictMeasurements(measurements)) {
    const v = viewEvidence(m);
    lines.push(`${indent}${v.metric}: ${v.decision}${v.estimate ? ` — ${v.estimate}` : ''}; ${v.limit}`);
    lines.push(`${indent}  canary: ${v.canary}${v.baseline ? `; baseline: ${v.baseline}` : ''}`);
    if (v.rule) lines.push(`${indent}  rule: ${v.rule}`);
    lines.push(`${indent}  decided ${v.decided}; query: ${v.query}`);
  }
  return lines;
}
