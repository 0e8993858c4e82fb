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
 *    → `inconclusive`, `fail` → `fail`, `pass` → `pass`. A backend failure is
 *    `error`, never no data, so `noData: pass` never turns it into a pass.
 * 3. A metric fails when more measurements failed a threshold than
 *    `failureLimit`, or (statistical) its score — the percent of classified
 *    measurements that were `pass`, as Kayenta scores — is below
 *    `marginalScore`; it is inconclusive when `inconclusive` + `error`
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
import { assessSequentialLooks, assessSequentialMetric, detectOf, isSequentialMetric } from './assess-sequential.js';
import { MIN_STATISTICAL_SAMPLES, mannWhitneyGreater } from './mann-whitney.js';
import {
  comparisonLabel,
  describeMaxIncrease,
  describeThreshold,
  formatPercentChange,
  formatProbability,
  formatValue,
} from './messages.js';
import type { Evidence, EvidenceCounts, Measurement, MeasurementVerdict, ProviderResult } from './types.js';

/** Sample sizes of a provider result, for evidence. */
function sizeOf(result: Extract<ProviderResult, { ok: true }>): EvidenceCounts {
  return {
    ...(result.counts && { events: result.counts.events, exposure: result.counts.exposure }),
    ...(result.samples && { samples: result.samples.length }),
  };
}

/** The decision rule of a metric judged per measurement, for evidence. */
function describeRule(metric: MetricSpec): string {
  const parts: string[] = [];
  if (metric.threshold) parts.push(`absolute: value ${formatThreshold(metric.threshold)}`);
  if (metric.maxIncreasePercent !== undefined)
    parts.push(
      `point estimate: (value − baseline) / baseline ≤ ${metric.maxIncreasePercent}% (no event counts: not a statistical test)`,
    );
  if (metric.statistical)
    parts.push(
      `mann-whitney one-sided p < ${STATISTICAL_ALPHA} is high; a pass needs a ${formatValue(detectOf(metric))}x canary to have tested high`,
    );
  return parts.join('; ');
}

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
): { verdict: MeasurementVerdict; message: string; countsAsFailure: boolean } {
  switch (metric.noData) {
    case 'fail':
      return { verdict: 'fail', message: `${reason}; noData: fail`, countsAsFailure: true };
    case 'pass':
      return { verdict: 'pass', message: `${reason}; noData: pass`, countsAsFailure: false };
    case 'pause':
      return { verdict: 'inconclusive', message: `${reason}; noData: pause`, countsAsFailure: false };
    case 'wait':
      return { verdict: 'inconclusive', message: `${reason}; noData: wait`, countsAsFailure: false };
  }
}

/** Whether an outcome came from no data (what `noData: wait` waits out), not from a backend failure. */
function isNoData(verdict: MeasurementVerdict, metric: MetricSpec): boolean {
  return metric.noData === 'wait' && verdict === 'inconclusive';
}

/**
 * Assesses one observation against its metric's pass conditions.
 * Pure; never throws for provider outcomes (they are in `obs.result`).
 */
export function assessMeasurement(metric: MetricSpec, obs: Observation): AssessedMeasurement {
  const record = (fields: Pick<Measurement, 'verdict' | 'message'> & Partial<Measurement>): Measurement => ({
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
    if (result.verdict === 'error') {
      return {
        measurement: record({ verdict: 'error', message: `${name}: ${result.message}` }),
        countsAsFailure: false,
      };
    }
    const o = noDataOutcome(metric, `${name}: no data (${result.message})`);
    return {
      measurement: record({ verdict: o.verdict, message: o.message }),
      countsAsFailure: o.countsAsFailure,
      ...(isNoData(o.verdict, metric) && { waiting: true }),
    };
  }
  const value = result.value;
  if (!Number.isFinite(value)) {
    const o = noDataOutcome(metric, `${name}: no data (value is ${formatValue(value)})`);
    return {
      measurement: record({ verdict: o.verdict, message: o.message }),
      countsAsFailure: o.countsAsFailure,
      ...(isNoData(o.verdict, metric) && { waiting: true }),
    };
  }
  // Minimum sample: the events behind the value (the ratio's denominator), else its samples.
  const canarySize = result.counts?.exposure ?? result.samples?.length;
  const comparisonSize =
    obs.comparison?.result.ok === true
      ? (obs.comparison.result.counts?.exposure ?? obs.comparison.result.samples?.length)
      : undefined;
  const evidence: Evidence = {
    rule: describeRule(metric),
    canary: sizeOf(result),
    ...(obs.comparison && {
      baseline: {
        kind: obs.comparison.kind,
        ...(obs.comparison.cohort && { cohort: [...obs.comparison.cohort] }), // a copy: no YAML alias
        ...(obs.comparison.query !== undefined && { query: obs.comparison.query }),
        ...(obs.comparison.result.ok && sizeOf(obs.comparison.result)),
      },
    }),
  };
  if (metric.minSamples !== undefined) {
    const needsComparison = metric.maxIncreasePercent !== undefined || metric.statistical !== undefined;
    const short =
      canarySize === undefined
        ? 'the provider reports no event counts or samples to check minSamples against'
        : canarySize < metric.minSamples
          ? `${formatValue(canarySize)} events, fewer than minSamples ${metric.minSamples}`
          : needsComparison && comparisonSize !== undefined && comparisonSize < metric.minSamples
            ? `baseline ${formatValue(comparisonSize)} events, fewer than minSamples ${metric.minSamples}`
            : undefined;
    if (short !== undefined) {
      const o = noDataOutcome(metric, `${name} = ${formatValue(value)}: too few events (${short})`);
      return {
        measurement: record({ verdict: o.verdict, message: o.message, value, evidence }),
        countsAsFailure: o.countsAsFailure,
        ...(metric.noData === 'wait' && { waiting: true }),
      };
    }
  }

  const clauses: Clause[] = [];
  const statClauses: Clause[] = [];
  let statistical: StatisticalClass | undefined;
  let pending: { verdict: MeasurementVerdict; message: string; countsAsFailure: boolean } | undefined;
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
      pending = {
        verdict: 'error',
        message: `no ${label} measurement for a relative threshold`,
        countsAsFailure: false,
      };
    } else if (!cmp.result.ok) {
      pending =
        cmp.result.verdict === 'error'
          ? { verdict: 'error', message: `${label}: ${cmp.result.message}${note}`, countsAsFailure: false }
          : noDataOutcome(metric, `${label}: no data (${cmp.result.message})${note}`);
    } else if (!Number.isFinite(cmp.result.value)) {
      pending = noDataOutcome(metric, `${label}: no data (value is ${formatValue(cmp.result.value)})${note}`);
    } else {
      baselineValue = cmp.result.value;
      if (metric.maxIncreasePercent !== undefined) {
        const change = relativeChangePercent(value, baselineValue);
        evidence.estimate = baselineValue !== 0 ? value / baselineValue : value === 0 ? 1 : Infinity;
        evidence.limit = 1 + metric.maxIncreasePercent / 100;
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
          evidence.pValue = mw.pValue;
          evidence.estimate = mw.effect;
          statClauses.push({
            ok: statistical === 'pass',
            text: `"mann-whitney" (p = ${formatProbability(mw.pValue)}, canary higher in ${Math.round(mw.effect * 100)}% of pairs, ${mw.n1} vs ${mw.n2} samples${note})`,
          });
          // "Enough samples to have seen it": had the canary been `detect` times higher, would the test have said so?
          const detect = detectOf(metric);
          evidence.detect = detect;
          if (statistical === 'pass' && canarySamples.every((v) => v > 0)) {
            const seen = mannWhitneyGreater(
              canarySamples.map((v) => v * detect),
              baselineSamples,
            );
            if (!(seen.pValue < STATISTICAL_ALPHA)) {
              statistical = undefined;
              pending ??= noDataOutcome(
                metric,
                `too few samples to see a ${formatValue(detect)}x increase (${mw.n1} vs ${mw.n2} samples: p = ${formatProbability(seen.pValue)} even at ${formatValue(detect)}x)`,
              );
            }
          }
        }
      }
    }
  }

  const all = [...clauses, ...statClauses];
  const failed = all.filter((c) => !c.ok);
  const thresholdFailed = clauses.some((c) => !c.ok);
  const head = `${name} = ${formatValue(value)}${baselineValue !== undefined ? ` (${label} ${formatValue(baselineValue)})` : ''}`;
  let verdict: MeasurementVerdict;
  let message: string;
  let countsAsFailure = thresholdFailed;
  if (failed.length > 0) {
    verdict = 'fail';
    message = `${head} violates ${failed.map((c) => c.text).join(' and ')}`;
  } else if (pending) {
    verdict = pending.verdict;
    countsAsFailure = pending.countsAsFailure;
    const passed = all.length > 0 ? ` satisfies ${all.map((c) => c.text).join(' and ')};` : '';
    message = `${head}${passed} ${pending.message}`;
  } else {
    verdict = 'pass';
    message = `${head} satisfies ${all.map((c) => c.text).join(' and ')}`;
  }
  const measurement = record({
    verdict,
    message,
    value,
    ...(baselineValue !== undefined && { baselineValue }),
    evidence,
  });
  return {
    measurement,
    countsAsFailure,
    ...(statistical !== undefined && { statistical }),
    ...(pending && isNoData(verdict, metric) && { waiting: true }),
  };
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
  if (n === 0) return { ...base, verdict: 'inconclusive', message: `${metric.name}: no measurement was taken` };

  const failures = assessed.filter((a) => a.countsAsFailure);
  const unsure = assessed.filter((a) => a.measurement.verdict === 'inconclusive' || a.measurement.verdict === 'error');
  const errors = assessed.filter((a) => a.measurement.verdict === 'error');
  const successes = assessed.filter((a) => a.measurement.verdict === 'pass');
  const classified = assessed.filter((a) => a.statistical !== undefined);
  const score =
    classified.length > 0
      ? (100 * classified.filter((a) => a.statistical === 'pass').length) / classified.length
      : undefined;
  const withScore = score !== undefined ? { score } : {};
  const of = (k: number): string => (n === 1 ? '' : ` (${k} of ${n} measurements)`);
  const first = (list: readonly AssessedMeasurement[]): string => list[0]?.measurement.message ?? '';
  const lastOne = assessed[n - 1];
  const waiting = lastOne?.waiting === true ? { waiting: true } : {};

  if (failures.length > metric.failureLimit) {
    const limit =
      n === 1 && metric.failureLimit === 0 ? '' : `; failed ${failures.length} > failureLimit ${metric.failureLimit}`;
    const decidedBy = failures[metric.failureLimit] as AssessedMeasurement;
    return {
      ...base,
      ...withScore,
      verdict: 'fail',
      message: `${first(failures)}${of(failures.length)}${limit}`,
      decided: true,
      decidedAt: decidedBy.measurement.at,
    };
  }
  const stat = metric.statistical;
  const highs = classified.filter((a) => a.statistical === 'high');
  if (stat && score !== undefined && score < stat.marginalScore) {
    const detail = classified.length === 1 ? '' : `; score ${Math.round(score)} < marginal ${stat.marginalScore}`;
    return { ...base, ...withScore, verdict: 'fail', message: `${first(highs)}${detail}` };
  }
  if (unsure.length > metric.inconclusiveLimit) {
    const verdict: MeasurementVerdict = errors.length === n ? 'error' : 'inconclusive';
    const limit =
      n === 1 && metric.inconclusiveLimit === 0
        ? ''
        : `; ${unsure.length} > inconclusiveLimit ${metric.inconclusiveLimit}`;
    return { ...base, ...withScore, ...waiting, verdict, message: `${first(unsure)}${of(unsure.length)}${limit}` };
  }
  if (stat && score !== undefined && score < stat.passScore) {
    return {
      ...base,
      ...withScore,
      verdict: 'inconclusive',
      message: `${first(highs)}; score ${Math.round(score)} is marginal (pass ≥ ${stat.passScore}, marginal ≥ ${stat.marginalScore})`,
    };
  }
  if (successes.length === 0) {
    const verdict: MeasurementVerdict = errors.length === n ? 'error' : 'inconclusive';
    const why = errors.length === n ? `every measurement errored` : `no measurement succeeded`;
    return {
      ...base,
      ...withScore,
      verdict,
      message: `${metric.name}: ${why} (${plural(n, 'measurement')}): ${first(unsure.length > 0 ? unsure : assessed)}`,
    };
  }
  const last = successes[successes.length - 1] as AssessedMeasurement;
  const tolerated =
    failures.length + unsure.length > 0
      ? ` (tolerated: ${plural(failures.length, 'failure')}, ${unsure.length} inconclusive)`
      : '';
  return { ...base, ...withScore, verdict: 'pass', message: `${last.measurement.message}${tolerated}` };
}

const SEVERITY_RANK: Record<Severity, number> = { warning: 1, critical: 2 };

/**
 * Combines every metric of an analysis into a verdict (rule 4 of this module).
 *
 * @param observations - per metric name, its observations in time order; a metric without any is inconclusive.
 * @param options - `passNotBeforeMs`: a sequential pass counts only from looks ending at or after it (`analysis.minWindow`).
 */
export function assessAnalysis(
  spec: AnalysisSpec,
  observations: ReadonlyMap<string, readonly Observation[]>,
  options: { passNotBeforeMs?: number } = {},
): AnalysisAssessment {
  const metrics = spec.metrics.map((metric) => {
    const list = observations.get(metric.name) ?? [];
    if (isSequentialMetric(metric, list))
      return assessSequentialMetric(metric, assessSequentialLooks(metric, list), options);
    return assessMetric(
      metric,
      list.map((o) => assessMeasurement(metric, o)),
    );
  });
  return combineMetricAssessments(metrics);
}

/** Combines per-metric verdicts: any `fail` → `fail` (highest severity), else any `inconclusive`/`error` → `inconclusive`, else `pass`. */
export function combineMetricAssessments(metrics: MetricAssessment[]): AnalysisAssessment {
  const measurements = metrics.flatMap((m) => m.measurements);
  if (metrics.length === 0) {
    return { verdict: 'inconclusive', measurements, metrics, message: 'the analysis has no metrics' };
  }
  const failed = metrics.filter((m) => m.verdict === 'fail');
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
  const unsure = metrics.filter((m) => m.verdict === 'inconclusive' || m.verdict === 'error');
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
