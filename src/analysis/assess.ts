/**
 * Assessment: measurements in, verdicts out. Pure — no I/O, no clock: every
 * time comes in the observations. Rules (documented in `docs/analysis.md`):
 *
 * 1. A measurement passes when every pass condition of its metric holds:
 *    - `threshold` (absolute): `value <op> number`;
 *    - `maxIncrease` (relative): `(value − baseline) / |baseline| × 100 ≤ N`,
 *      where baseline is the same query over the baseline cohort (`stable`) or
 *      over the same targets before the wave (`before`); or, with
 *      `ignoreIncreaseBelow`, `value − baseline` below that absolute amount;
 *    - `statistical`: a one-sided Mann-Whitney U test of the canary's samples
 *      against the baseline's classifies the measurement `high` when
 *      p < {@link STATISTICAL_ALPHA} (Kayenta's 95% two-sided confidence bound),
 *      else `pass`.
 * 2. No data (empty result, NaN, ±Inf, zero denominator, too few samples) —
 *    for the canary or its comparison — follows the metric's `noData`: `pause`
 *    → Inconclusive, `fail` → Failed, `pass` → Successful. A backend failure is
 *    `Error`, never no data, so `noData: pass` never turns it into a pass.
 * 3. A metric fails when more measurements failed a threshold than
 *    `failureLimit`, or (statistical) its score — the percent of classified
 *    measurements that were `pass`, as Kayenta scores — is below
 *    `marginalScore`; it is inconclusive when Inconclusive + Error
 *    measurements exceed `inconclusiveLimit`, when the score is below
 *    `passScore`, or when no measurement succeeded (so a metric whose
 *    measurements all errored is never a pass).
 * 4. The analysis fails when any metric failed (severity: the highest among
 *    failed metrics), else is inconclusive when any metric is, else passes.
 */
import { formatThreshold } from '../spec/threshold.js';
import type { AbsoluteThreshold, AnalysisSpec, MetricSpec, Severity } from '../spec/types.js';
import type {
  AnalysisAssessment,
  AssessedMeasurement,
  MetricAssessment,
  Observation,
  StatisticalClass,
} from './extra-types.js';
import { MIN_STATISTICAL_SAMPLES, mannWhitneyGreater } from './mann-whitney.js';
import {
  comparisonLabel,
  describeMaxIncrease,
  describeThreshold,
  formatPercentChange,
  formatProbability,
  formatValue,
} from './messages.js';
import type { Measurement, MeasurementPhase } from './types.js';

/**
 * One-sided significance level of the statistical threshold: a measurement is
 * `high` when p < 0.025, i.e. the canary is higher with 97.5% confidence — the
 * lower bound of a 95% two-sided interval, Kayenta's default `confLevel`.
 */
export const STATISTICAL_ALPHA = 0.025;

/**
 * Whether `value` satisfies an absolute threshold (`value < 0.01` for `{op:'<', value:0.01}`).
 * A non-finite value never satisfies one.
 */
export function satisfiesThreshold(value: number, threshold: AbsoluteThreshold): boolean {
  if (!Number.isFinite(value)) return false;
  switch (threshold.op) {
    case '<':
      return value < threshold.value;
    case '<=':
      return value <= threshold.value;
    case '>':
      return value > threshold.value;
    case '>=':
      return value >= threshold.value;
    case '==':
      return value === threshold.value;
    case '!=':
      return value !== threshold.value;
  }
}

/**
 * Relative change of `value` over `baseline`, in percent:
 * `(value − baseline) / |baseline| × 100`. A zero baseline gives 0 when the
 * value is 0 too, else ±Infinity (any increase over nothing is unbounded).
 */
export function relativeChangePercent(value: number, baseline: number): number {
  if (baseline === 0) return value === 0 ? 0 : value > 0 ? Infinity : -Infinity;
  return ((value - baseline) / Math.abs(baseline)) * 100;
}

interface Clause {
  ok: boolean;
  text: string;
}

function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}

function noDataOutcome(
  metric: MetricSpec,
  reason: string,
): { phase: MeasurementPhase; message: string; countsAsFailure: boolean } {
  switch (metric.noData) {
    case 'fail':
      return { phase: 'Failed', message: `${reason}; noData: fail`, countsAsFailure: true };
    case 'pass':
      return { phase: 'Successful', message: `${reason}; noData: pass`, countsAsFailure: false };
    case 'pause':
      return { phase: 'Inconclusive', message: `${reason}; noData: pause`, countsAsFailure: false };
  }
}

/**
 * Assesses one observation against its metric's pass conditions.
 * Pure; never throws for provider outcomes (they are in `obs.result`).
 */
export function assessMeasurement(metric: MetricSpec, obs: Observation): AssessedMeasurement {
  const record = (fields: Pick<Measurement, 'phase' | 'message'> & Partial<Measurement>): Measurement => ({
    metric: metric.name,
    query: obs.query,
    cohort: obs.cohort,
    window: { start: isoOf(obs.window.startMs), end: isoOf(obs.window.endMs) },
    threshold: describeThreshold(metric),
    severity: metric.severity,
    at: isoOf(obs.atMs),
    ...fields,
  });
  const name = metric.name;
  const result = obs.result;
  if (!result.ok) {
    if (result.phase === 'Error') {
      return { measurement: record({ phase: 'Error', message: `${name}: ${result.message}` }), countsAsFailure: false };
    }
    const o = noDataOutcome(metric, `${name}: no data (${result.message})`);
    return { measurement: record({ phase: o.phase, message: o.message }), countsAsFailure: o.countsAsFailure };
  }
  const value = result.value;
  if (!Number.isFinite(value)) {
    const o = noDataOutcome(metric, `${name}: no data (value is ${formatValue(value)})`);
    return { measurement: record({ phase: o.phase, message: o.message }), countsAsFailure: o.countsAsFailure };
  }

  const clauses: Clause[] = [];
  const statClauses: Clause[] = [];
  let statistical: StatisticalClass | undefined;
  let pending: { phase: MeasurementPhase; message: string; countsAsFailure: boolean } | undefined;
  let baselineValue: number | undefined;
  let label = 'baseline';

  if (metric.threshold) {
    clauses.push({ ok: satisfiesThreshold(value, metric.threshold), text: `"${formatThreshold(metric.threshold)}"` });
  }

  if (metric.maxIncreasePercent !== undefined || metric.statistical) {
    const cmp = obs.comparison;
    if (cmp) label = comparisonLabel(cmp.kind);
    const note = cmp?.note ? ` (${cmp.note})` : '';
    if (!cmp) {
      pending = { phase: 'Error', message: `no ${label} measurement for a relative threshold`, countsAsFailure: false };
    } else if (!cmp.result.ok) {
      pending =
        cmp.result.phase === 'Error'
          ? { phase: 'Error', message: `${label}: ${cmp.result.message}${note}`, countsAsFailure: false }
          : noDataOutcome(metric, `${label}: no data (${cmp.result.message})${note}`);
    } else if (!Number.isFinite(cmp.result.value)) {
      pending = noDataOutcome(metric, `${label}: no data (value is ${formatValue(cmp.result.value)})${note}`);
    } else {
      baselineValue = cmp.result.value;
      if (metric.maxIncreasePercent !== undefined) {
        const change = relativeChangePercent(value, baselineValue);
        const floor = metric.ignoreIncreaseBelow;
        const ignored = change > metric.maxIncreasePercent && floor !== undefined && value - baselineValue < floor;
        const why = ignored
          ? `, an increase of ${formatValue(value - baselineValue)}: below ${formatValue(floor)}`
          : '';
        clauses.push({
          ok: change <= metric.maxIncreasePercent || ignored,
          text: `"${describeMaxIncrease(metric.maxIncreasePercent, floor)}" (${formatPercentChange(change)}${why}${note})`,
        });
      }
      if (metric.statistical) {
        const canarySamples = (result.samples ?? []).filter(Number.isFinite);
        const baselineSamples = (cmp.result.samples ?? []).filter(Number.isFinite);
        if (canarySamples.length < MIN_STATISTICAL_SAMPLES || baselineSamples.length < MIN_STATISTICAL_SAMPLES) {
          pending ??= noDataOutcome(
            metric,
            `too few samples for mann-whitney (canary ${canarySamples.length}, ${label} ${baselineSamples.length}; need ≥ ${MIN_STATISTICAL_SAMPLES} each)`,
          );
        } else {
          const mw = mannWhitneyGreater(canarySamples, baselineSamples);
          statistical = mw.pValue < STATISTICAL_ALPHA ? 'high' : 'pass';
          statClauses.push({
            ok: statistical === 'pass',
            text: `"mann-whitney" (p = ${formatProbability(mw.pValue)}, canary higher in ${Math.round(mw.effect * 100)}% of pairs, ${mw.n1} vs ${mw.n2} samples${note})`,
          });
        }
      }
    }
  }

  const all = [...clauses, ...statClauses];
  const failed = all.filter((c) => !c.ok);
  const thresholdFailed = clauses.some((c) => !c.ok);
  const head = `${name} = ${formatValue(value)}${baselineValue !== undefined ? ` (${label} ${formatValue(baselineValue)})` : ''}`;
  let phase: MeasurementPhase;
  let message: string;
  let countsAsFailure = thresholdFailed;
  if (failed.length > 0) {
    phase = 'Failed';
    message = `${head} violates ${failed.map((c) => c.text).join(' and ')}`;
  } else if (pending) {
    phase = pending.phase;
    countsAsFailure = pending.countsAsFailure;
    const passed = all.length > 0 ? ` satisfies ${all.map((c) => c.text).join(' and ')};` : '';
    message = `${head}${passed} ${pending.message}`;
  } else {
    phase = 'Successful';
    message = `${head} satisfies ${all.map((c) => c.text).join(' and ')}`;
  }
  const measurement = record({ phase, message, value, ...(baselineValue !== undefined && { baselineValue }) });
  return { measurement, countsAsFailure, ...(statistical !== undefined && { statistical }) };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Decides one metric from its assessed measurements (rule 3 of this module).
 * `measurements` are in time order; an empty list is inconclusive.
 */
export function assessMetric(metric: MetricSpec, assessed: readonly AssessedMeasurement[]): MetricAssessment {
  const measurements = assessed.map((a) => a.measurement);
  const base = { metric: metric.name, severity: metric.severity, measurements };
  const n = assessed.length;
  if (n === 0) return { ...base, phase: 'Inconclusive', message: `${metric.name}: no measurement was taken` };

  const failures = assessed.filter((a) => a.countsAsFailure);
  const unsure = assessed.filter((a) => a.measurement.phase === 'Inconclusive' || a.measurement.phase === 'Error');
  const errors = assessed.filter((a) => a.measurement.phase === 'Error');
  const successes = assessed.filter((a) => a.measurement.phase === 'Successful');
  const classified = assessed.filter((a) => a.statistical !== undefined);
  const score =
    classified.length > 0
      ? (100 * classified.filter((a) => a.statistical === 'pass').length) / classified.length
      : undefined;
  const withScore = score !== undefined ? { score } : {};
  const of = (k: number): string => (n === 1 ? '' : ` (${k} of ${n} measurements)`);
  const first = (list: readonly AssessedMeasurement[]): string => list[0]?.measurement.message ?? '';

  if (failures.length > metric.failureLimit) {
    const limit =
      n === 1 && metric.failureLimit === 0 ? '' : `; failed ${failures.length} > failureLimit ${metric.failureLimit}`;
    return { ...base, ...withScore, phase: 'Failed', message: `${first(failures)}${of(failures.length)}${limit}` };
  }
  const stat = metric.statistical;
  const highs = classified.filter((a) => a.statistical === 'high');
  if (stat && score !== undefined && score < stat.marginalScore) {
    const detail = classified.length === 1 ? '' : `; score ${Math.round(score)} < marginal ${stat.marginalScore}`;
    return { ...base, ...withScore, phase: 'Failed', message: `${first(highs)}${detail}` };
  }
  if (unsure.length > metric.inconclusiveLimit) {
    const phase: MeasurementPhase = errors.length === n ? 'Error' : 'Inconclusive';
    const limit =
      n === 1 && metric.inconclusiveLimit === 0
        ? ''
        : `; ${unsure.length} > inconclusiveLimit ${metric.inconclusiveLimit}`;
    return { ...base, ...withScore, phase, message: `${first(unsure)}${of(unsure.length)}${limit}` };
  }
  if (stat && score !== undefined && score < stat.passScore) {
    return {
      ...base,
      ...withScore,
      phase: 'Inconclusive',
      message: `${first(highs)}; score ${Math.round(score)} is marginal (pass ≥ ${stat.passScore}, marginal ≥ ${stat.marginalScore})`,
    };
  }
  if (successes.length === 0) {
    const phase: MeasurementPhase = errors.length === n ? 'Error' : 'Inconclusive';
    const why = errors.length === n ? `every measurement errored` : `no measurement succeeded`;
    return {
      ...base,
      ...withScore,
      phase,
      message: `${metric.name}: ${why} (${plural(n, 'measurement')}): ${first(unsure.length > 0 ? unsure : assessed)}`,
    };
  }
  const last = successes[successes.length - 1] as AssessedMeasurement;
  const tolerated =
    failures.length + unsure.length > 0
      ? ` (tolerated: ${plural(failures.length, 'failure')}, ${unsure.length} inconclusive)`
      : '';
  return { ...base, ...withScore, phase: 'Successful', message: `${last.measurement.message}${tolerated}` };
}

const SEVERITY_RANK: Record<Severity, number> = { warning: 1, critical: 2 };

/**
 * Combines every metric of an analysis into a verdict (rule 4 of this module).
 *
 * @param observations - per metric name, its observations in time order; a metric without any is inconclusive.
 */
export function assessAnalysis(
  spec: AnalysisSpec,
  observations: ReadonlyMap<string, readonly Observation[]>,
): AnalysisAssessment {
  const metrics = spec.metrics.map((metric) =>
    assessMetric(
      metric,
      (observations.get(metric.name) ?? []).map((o) => assessMeasurement(metric, o)),
    ),
  );
  return combineMetricAssessments(metrics);
}

/** Combines per-metric verdicts: any Failed → `fail` (highest severity), else any Inconclusive/Error → `inconclusive`, else `pass`. */
export function combineMetricAssessments(metrics: MetricAssessment[]): AnalysisAssessment {
  const measurements = metrics.flatMap((m) => m.measurements);
  if (metrics.length === 0) {
    return { verdict: 'inconclusive', measurements, metrics, message: 'the analysis has no metrics' };
  }
  const failed = metrics.filter((m) => m.phase === 'Failed');
  if (failed.length > 0) {
    const severity = failed.reduce<Severity>(
      (s, m) => (SEVERITY_RANK[m.severity] > SEVERITY_RANK[s] ? m.severity : s),
      'warning',
    );
    const ordered = [...failed].sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]);
    return {
      verdict: 'fail',
      severity,
      measurements,
      metrics,
      message: ordered.map((m) => `${m.message} [${m.severity}]`).join('; '),
    };
  }
  const unsure = metrics.filter((m) => m.phase === 'Inconclusive' || m.phase === 'Error');
  if (unsure.length > 0) {
    return { verdict: 'inconclusive', measurements, metrics, message: unsure.map((m) => m.message).join('; ') };
  }
  return {
    verdict: 'pass',
    measurements,
    metrics,
    message: `${plural(metrics.length, 'metric')} passed: ${metrics.map((m) => m.message).join('; ')}`,
  };
}
