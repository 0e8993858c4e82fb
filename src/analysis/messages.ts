/**
 * How the analysis writes numbers, thresholds and verdict messages: one place,
 * so the state file, the CLI table and the pause reason read the same
 * (Argo `utils/conditions`). Pure.
 */
import { formatThreshold } from '../spec/threshold.js';
import type { MetricSpec } from '../spec/types.js';

/**
 * Formats a measured value for a person: integers whole, others with three
 * significant digits (`0.021345` → `0.0213`, `1234.5` → `1235`), and the
 * words `NaN`, `+Inf`, `-Inf` as Prometheus writes them.
 */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (Number.isInteger(value)) return String(value);
  if (Math.abs(value) >= 1000) return String(Math.round(value));
  return String(Number(value.toPrecision(3)));
}

/** Formats a relative change given as a percent number: `+111%`, `-4.5%`, `+0%`, `+Inf%`. */
export function formatPercentChange(percent: number): string {
  if (!Number.isFinite(percent)) return percent > 0 ? '+Inf%' : '-Inf%';
  const rounded = Math.abs(percent) >= 10 ? Math.round(percent) : Math.round(percent * 10) / 10;
  return `${rounded >= 0 ? '+' : ''}${rounded}%`;
}

/** Formats a probability (p-value) with two significant digits: `0.0031`, `0.42`, `< 0.0001`. */
export function formatProbability(p: number): string {
  if (p < 0.0001) return '< 0.0001';
  return String(Number(p.toPrecision(2)));
}

/** The relative threshold as written in messages and state: `no increase > 10%`. */
export function describeMaxIncrease(percent: number, ignoreBelow?: number): string {
  return ignoreBelow === undefined
    ? `no increase > ${percent}%`
    : `no increase > ${percent}% (increases < ${formatValue(ignoreBelow)} ignored)`;
}

/** The statistical threshold as written in messages and state: `mann-whitney pass ≥ 95 (marginal ≥ 75)`. */
export function describeStatistical(stat: { passScore: number; marginalScore: number }): string {
  return `mann-whitney pass ≥ ${stat.passScore} (marginal ≥ ${stat.marginalScore})`;
}

/**
 * Every pass condition of a metric as written, joined with `and`:
 * `"< 0.01"`, `"no increase > 10%"`, `"< 0.05 and no increase > 10%"`.
 */
export function describeThreshold(metric: MetricSpec): string {
  const parts: string[] = [];
  if (metric.threshold) parts.push(formatThreshold(metric.threshold));
  if (metric.maxIncreasePercent !== undefined)
    parts.push(describeMaxIncrease(metric.maxIncreasePercent, metric.ignoreIncreaseBelow));
  if (metric.statistical) parts.push(describeStatistical(metric.statistical));
  return parts.length > 0 ? parts.join(' and ') : '(no threshold)';
}

/** `baseline` or `before` label used in messages for the comparison value. */
export function comparisonLabel(kind: 'stable' | 'before'): string {
  return kind === 'stable' ? 'baseline' : 'before';
}
