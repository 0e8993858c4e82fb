/**
 * Assessment of a `maxIncrease` metric on event counts (issue 11, part 1):
 * every look measures both cohorts' counts from the window start to the look
 * (cumulative), and the anytime-valid rate-ratio test of `sequential.ts`
 * decides on them — fail, pass, or keep observing. Pure.
 * The rules, in plain words, are in `docs/analysis.md` ("Relative thresholds
 * on counts").
 *
 * Per look:
 * 1. A backend failure (`error`) or no data is recorded; the counts of the last
 *    look that had both cohorts' counts stand.
 * 2. Below `minSamples` events of exposure (requests) in either cohort: wait.
 * 3. Else the test at `confidence`: fail when the interval's lower end of the
 *    rate ratio exceeds `1 + maxIncrease`, pass when its upper end is below
 *    `detect`; with `ignoreIncreaseBelow` a fail also needs the canary's rate
 *    to exceed the baseline's by more than the floor (lower vs upper bounds),
 *    and an increase shown to be below the floor passes.
 * 4. When the test decides, any absolute `threshold` is checked on the
 *    cumulative value too (a failed one fails the metric).
 *
 * The metric is decided at the first look that decides; otherwise it is
 * inconclusive at the end (never a pass; `noData: fail` fails it).
 */
import { formatThreshold } from '../spec/threshold.js';
import type { MetricSpec } from '../spec/types.js';
import { DEFAULT_CONFIDENCE_RATIO, DEFAULT_DETECT_RATIO, DEFAULT_MIN_SAMPLES } from '../spec/defaults.js';
import type { AssessedMeasurement, MetricAssessment, Observation } from './extra-types.js';
import { comparisonLabel, describeThreshold, formatValue } from './messages.js';
import { rateInterval, rateRatioTest, type EventCounts } from './sequential.js';
import { SERIES_LIMIT, type Evidence, type Measurement, type MeasurementVerdict, type SeriesPoint } from './types.js';

/** The metric's confidence (ratio), default 0.99. */
export function confidenceOf(metric: MetricSpec): number {
  return metric.confidence ?? DEFAULT_CONFIDENCE_RATIO;
}

/**
 * The regression size a pass must rule out (ratio): `detect`, else 2 — or,
 * when `1 + maxIncrease` is already 2 or more, twice that.
 */
export function detectOf(metric: MetricSpec): number {
  if (metric.detect !== undefined) return metric.detect;
  const limit = 1 + (metric.maxIncreasePercent ?? 0) / 100;
  return limit >= DEFAULT_DETECT_RATIO ? 2 * limit : DEFAULT_DETECT_RATIO;
}

/** Least exposure (events of the denominator) before any verdict, default 1. */
export function minSamplesOf(metric: MetricSpec): number {
  return metric.minSamples ?? DEFAULT_MIN_SAMPLES;
}

/** Whether a metric is judged by the sequential rate-ratio test: `maxIncrease`, no `statistical`, and counts to judge. */
export function isSequentialMetric(metric: MetricSpec, observations: readonly Observation[]): boolean {
  return (
    metric.maxIncreasePercent !== undefined &&
    metric.statistical === undefined &&
    observations.some((o) => o.result.ok && o.result.counts !== undefined)
  );
}

/** Formats a ratio for messages: `1.1x`, `0.83x`, `+Infx` → `∞`. */
export function formatRatio(r: number): string {
  if (Number.isNaN(r)) return '?';
  if (r === Infinity) return '∞';
  return `${formatValue(r)}x`;
}

/** The rule as recorded in evidence and shown in messages. */
export function describeSequentialRule(metric: MetricSpec): string {
  const limit = 1 + (metric.maxIncreasePercent ?? 0) / 100;
  const pct = Math.round(confidenceOf(metric) * 1000) / 10;
  const floor =
    metric.ignoreIncreaseBelow !== undefined ? `; increases < ${formatValue(metric.ignoreIncreaseBelow)} ignored` : '';
  return `rate ratio canary/baseline, anytime-valid ${pct}% interval: fail if lower > ${formatRatio(limit)}, pass if upper < ${formatRatio(detectOf(metric))}${floor}`;
}

function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}

const take = (into: EventCounts, c: { events: number; exposure: number }): void => {
  into.events = c.events;
  into.exposure = c.exposure;
};

/**
 * Assesses a sequential metric's looks, in time order. Each look's counts are
 * cumulative since the window start (see `planSequentialLooks`); a look
 * without them keeps the previous look's. `sequential` holds the test's
 * decision at that look.
 */
export function assessSequentialLooks(metric: MetricSpec, observations: readonly Observation[]): AssessedMeasurement[] {
  const canary: EventCounts = { events: 0, exposure: 0 };
  const base: EventCounts = { events: 0, exposure: 0 };
  const first = observations[0];
  const startMs = first ? first.window.startMs : 0;
  const limit = 1 + (metric.maxIncreasePercent ?? 0) / 100;
  const detect = detectOf(metric);
  const confidence = confidenceOf(metric);
  const minSamples = minSamplesOf(metric);
  const rule = describeSequentialRule(metric);
  const name = metric.name;
  const out: AssessedMeasurement[] = [];
  for (const obs of observations) {
    const cmp = obs.comparison;
    const label = cmp ? comparisonLabel(cmp.kind) : 'baseline';
    const note = cmp?.note ? ` (${cmp.note})` : '';
    const problems: string[] = [];
    let backendError = false;
    if (!obs.result.ok) {
      if (obs.result.verdict === 'error') backendError = true;
      problems.push(`${obs.result.verdict === 'error' ? '' : 'no data: '}${obs.result.message}`);
    }
    if (!cmp) {
      backendError = true;
      problems.push(`no ${label} measurement for a relative threshold`);
    } else if (!cmp.result.ok) {
      if (cmp.result.verdict === 'error') backendError = true;
      problems.push(`${label}: ${cmp.result.verdict === 'error' ? '' : 'no data: '}${cmp.result.message}${note}`);
    }
    const cCounts = obs.result.ok ? obs.result.counts : undefined;
    const bCounts = cmp?.result.ok ? cmp.result.counts : undefined;
    if (problems.length === 0 && (!cCounts || !bCounts)) problems.push('no event counts from the provider');
    // Only a look with both cohorts counted moves the test: the split of events between them is what is tested.
    if (problems.length === 0 && cCounts && bCounts) {
      take(canary, cCounts);
      take(base, bCounts);
    }
    const evidence: Evidence = {
      rule,
      confidence,
      limit,
      detect,
      canary: { events: canary.events, exposure: canary.exposure },
      baseline: {
        kind: cmp?.kind ?? 'stable',
        // A copy: the state writer would turn a shared array into a YAML alias, which the reader refuses.
        ...(cmp?.cohort && { cohort: [...cmp.cohort] }),
        ...(cmp?.query !== undefined && { query: cmp.query }),
        events: base.events,
        exposure: base.exposure,
      },
    };
    const value = canary.exposure > 0 ? canary.events / canary.exposure : undefined;
    const baselineValue = base.exposure > 0 ? base.events / base.exposure : undefined;
    const record = (verdict: MeasurementVerdict, message: string): Measurement => ({
      metric: name,
      query: obs.query,
      cohort: obs.cohort,
      window: { start: isoOf(startMs), end: isoOf(obs.window.endMs) },
      ...(value !== undefined && { value }),
      ...(baselineValue !== undefined && { baselineValue }),
      threshold: describeThreshold(metric),
      verdict,
      severity: metric.severity,
      message,
      at: isoOf(obs.atMs),
      evidence,
    });
    const head = `${name} = ${value !== undefined ? formatValue(value) : '-'} (${label} ${baselineValue !== undefined ? formatValue(baselineValue) : '-'})`;
    const events = `${formatValue(canary.events)}/${formatValue(canary.exposure)} vs ${formatValue(base.events)}/${formatValue(base.exposure)} events`;
    const here = problems.length > 0 ? `; this look: ${problems.join('; ')}` : '';

    if (canary.exposure < minSamples || base.exposure < minSamples || canary.exposure <= 0 || base.exposure <= 0) {
      const reason =
        canary.exposure === 0 && base.exposure === 0
          ? 'no data yet'
          : `fewer than minSamples ${minSamples} (canary ${formatValue(canary.exposure)}, ${label} ${formatValue(base.exposure)})`;
      evidence.decision = 'continue';
      out.push({
        measurement: record(backendError ? 'error' : 'inconclusive', `${head}: ${reason} (${events})${here}`),
        countsAsFailure: false,
        waiting: true,
        sequential: 'continue',
      });
      continue;
    }

    const test = rateRatioTest(canary, base, { limit, detect, confidence });
    let decision = test.decision;
    let why = '';
    const floor = metric.ignoreIncreaseBelow;
    if (floor !== undefined) {
      const [cLow, cHigh] = rateInterval(canary, confidence);
      const [bLow, bHigh] = rateInterval(base, confidence);
      if (decision === 'fail' && !(cLow - bHigh > floor)) {
        decision = 'continue';
        why = `; the increase is not shown to exceed ${formatValue(floor)}`;
      } else if (decision !== 'fail' && cHigh - bLow < floor) {
        decision = 'pass';
        why = `; any increase is below ${formatValue(floor)} (at most ${formatValue(Math.max(0, cHigh - bLow))})`;
      }
    }
    evidence.estimate = test.estimate;
    evidence.interval = test.interval;
    evidence.decision = decision;
    const stats = `ratio ${formatRatio(test.estimate)}, ${Math.round(confidence * 1000) / 10}% interval ${formatRatio(test.interval[0])}–${formatRatio(test.interval[1])}, ${events}`;
    let verdict: MeasurementVerdict;
    let message: string;
    let countsAsFailure = false;
    let thresholdText = '';
    if (decision !== 'continue' && metric.threshold && value !== undefined) {
      const t = metric.threshold;
      const okAbs = satisfies(value, t);
      thresholdText = ` and ${okAbs ? 'satisfies' : 'violates'} "${formatThreshold(t)}"`;
      if (!okAbs) decision = 'fail';
    }
    if (decision === 'fail') {
      verdict = 'fail';
      countsAsFailure = true;
      message = `${head} violates "no increase > ${metric.maxIncreasePercent}%" (${stats}: above ${formatRatio(limit)})${why}${thresholdText}${note}`;
      if (test.decision !== 'fail') message = `${head} (${stats})${why}${thresholdText}${note}`;
    } else if (decision === 'pass') {
      verdict = 'pass';
      message = `${head} satisfies "no increase > ${metric.maxIncreasePercent}%" (${stats}: a ${formatRatio(detect)} regression is ruled out)${why}${thresholdText}${note}`;
    } else {
      verdict = backendError ? 'error' : 'inconclusive';
      message = `${head} (${stats}: not yet above ${formatRatio(limit)} nor below ${formatRatio(detect)}; keep observing)${why}${here}`;
    }
    out.push({ measurement: record(verdict, message), countsAsFailure, sequential: decision });
  }
  return out;
}

function satisfies(value: number, t: NonNullable<MetricSpec['threshold']>): boolean {
  switch (t.op) {
    case '<':
      return value < t.value;
    case '<=':
      return value <= t.value;
    case '>':
      return value > t.value;
    case '>=':
      return value >= t.value;
    case '==':
      return value === t.value;
    case '!=':
      return value !== t.value;
  }
}

/**
 * Decides a sequential metric from its assessed looks: the first look whose
 * test decided (fail or pass) decides the metric; without one, the metric is
 * inconclusive (never a pass) — `error` when every look errored, `fail`
 * with `noData: fail`, and `waiting` when the last look had too few events.
 */
export function assessSequentialMetric(
  metric: MetricSpec,
  assessed: readonly AssessedMeasurement[],
  options: { passNotBeforeMs?: number } = {},
): MetricAssessment {
  const measurements = assessed.map((a) => a.measurement);
  const base = { metric: metric.name, severity: metric.severity, measurements };
  const n = assessed.length;
  if (n === 0) return { ...base, verdict: 'inconclusive', message: `${metric.name}: no measurement was taken` };
  const from = options.passNotBeforeMs ?? -Infinity;
  // A fail decides at once; a pass only once the minimum window has passed (a later look may still fail).
  const index = assessed.findIndex(
    (a) => a.sequential === 'fail' || (a.sequential === 'pass' && Date.parse(a.measurement.window.end) >= from),
  );
  // The state keeps one measurement per sequential metric: the deciding look (else the last), whose
  // counts are cumulative since the window start; `evidence.looks` says how many looks led to it.
  // `series` keeps the looks up to it for the report's chart (bounded: see `thinLooks`).
  const keep = (k: number): Measurement => {
    const m = (assessed[k] as AssessedMeasurement).measurement;
    const series = thinLooks(k + 1, SERIES_LIMIT).map((i) =>
      seriesPoint((assessed[i] as AssessedMeasurement).measurement),
    );
    return { ...m, ...(m.evidence && { evidence: { ...m.evidence, looks: k + 1 } }), series };
  };
  if (index >= 0) {
    const decisive = assessed[index] as AssessedMeasurement;
    const m = keep(index);
    return {
      ...base,
      measurements: [m],
      verdict: decisive.sequential === 'fail' ? 'fail' : 'pass',
      message: m.message,
      decided: true,
      decidedAt: m.at,
    };
  }
  const last = assessed[n - 1] as AssessedMeasurement;
  const kept = { ...base, measurements: [keep(n - 1)] };
  if (assessed.every((a) => a.measurement.verdict === 'error')) {
    return {
      ...kept,
      verdict: 'error',
      message: `${metric.name}: every measurement errored: ${last.measurement.message}`,
    };
  }
  const policy = metric.noData;
  const what = last.waiting ? 'not enough data' : 'not conclusive';
  const message = `${last.measurement.message} — ${what} at the end (never a pass; noData: ${policy})`;
  if (policy === 'pass' && last.waiting && assessed.every((a) => a.waiting)) {
    return { ...kept, verdict: 'pass', message: `${last.measurement.message}; noData: pass` };
  }
  if (policy === 'fail') return { ...kept, verdict: 'fail', message, ...(last.waiting && { waiting: true }) };
  return { ...kept, verdict: 'inconclusive', message, ...(last.waiting && { waiting: true }) };
}

/** One look as the state's `series` keeps it: the plotted numbers, copied (no shared arrays: YAML aliases). */
function seriesPoint(m: Measurement): SeriesPoint {
  const ev = m.evidence;
  return {
    at: m.window.end,
    verdict: m.verdict,
    ...(m.value !== undefined && { value: m.value }),
    ...(m.baselineValue !== undefined && { baselineValue: m.baselineValue }),
    ...(ev?.estimate !== undefined && { estimate: ev.estimate }),
    ...(ev?.interval && { interval: [ev.interval[0], ev.interval[1]] as [number, number] }),
    ...(ev?.decision && { decision: ev.decision }),
  };
}

/**
 * Indices of `n` looks to keep when at most `limit` may be: all of them when they fit, else
 * `limit` indices spread evenly over `[0, n - 1]`, always with the first and the last (the
 * deciding look). Ascending, no repeats.
 * @throws RangeError when `limit` < 2 and `n` > `limit`.
 */
export function thinLooks(n: number, limit: number): number[] {
  if (n <= limit) return Array.from({ length: n }, (_, i) => i);
  if (limit < 2) throw new RangeError(`thinLooks: a limit of ${limit} cannot keep both the first and the last look`);
  return Array.from({ length: limit }, (_, j) => Math.round((j * (n - 1)) / (limit - 1)));
}
