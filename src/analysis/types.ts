/**
 * Analysis contracts: metric providers measure, assessors decide. A provider
 * failure is a measurement with verdict `error` or `inconclusive`, never an
 * exception that skips the gate (Argo `metricproviders/prometheus`).
 * Times are epoch milliseconds; values are whatever unit the query returns.
 */
import type { AnalysisSpec, MetricSpec, Severity, Target } from '../spec/types.js';

/** Verdict of one wave's analysis. `inconclusive` is never a pass. */
export type Verdict = 'pass' | 'fail' | 'inconclusive';

/**
 * Verdict of one measurement (and of one metric): a {@link Verdict}, or `error` when its query
 * failed. `inconclusive` and `error` are never a pass (docs/glossary.md).
 */
export type MeasurementVerdict = Verdict | 'error';

/** A set of targets measured together. */
export interface Cohort {
  /** Which cohort: `canary` = targets under test (the wave just upgraded), `baseline` = targets still on the old version. */
  name: 'canary' | 'baseline';
  targets: Target[];
}

/** The observation window a verdict covers: `[startMs, endMs]` (seed 000: wave end + window). */
export interface AnalysisWindow {
  startMs: number;
  endMs: number;
}

/** What a provider returns for one rendered query over one cohort and window. */
export type ProviderResult =
  | {
      ok: true;
      /** The cohort's value (e.g. an error ratio). */
      value: number;
      /** Per-target or per-interval samples, for statistical comparison (Mann-Whitney U). */
      samples?: number[];
      /**
       * Event counts behind a ratio value over the measured window: `events` = the numerator's
       * increase (e.g. 5xx answers), `exposure` = the denominator's (requests). Present when the
       * provider can count (see {@link MetricProvider.countable}); the sequential test needs them.
       */
      counts?: { events: number; exposure: number };
    }
  | { ok: false; verdict: 'error' | 'inconclusive'; message: string };

export interface MeasureRequest {
  metric: MetricSpec;
  /** The query with every placeholder filled for this cohort. */
  query: string;
  cohort: Cohort;
  window: AnalysisWindow;
  /** Aborts a measurement in flight. */
  signal?: AbortSignal;
}

/** One metric backend. One file per provider under `src/analysis/providers/`, registered by `type`. */
export interface MetricProvider {
  readonly type: string;
  /**
   * Called when an observation window opens, before the engine waits it out, so providers
   * that sample at both ends of the window (`scrape`) can take their first sample.
   */
  beginWindow?(cohorts: Cohort[], window: AnalysisWindow): Promise<void>;
  /** Measures; never throws for backend failures (returns `{ok:false}`). */
  measure(req: MeasureRequest): Promise<ProviderResult>;
  /**
   * Whether `measure` reports event counts (`counts`) for this rendered query: a ratio of
   * counters (`scrape`'s `ratio(A, B)`, PromQL `sum(rate(A[w])) / sum(rate(B[w]))`). Absent = never.
   */
  countable?(query: string): boolean;
  /**
   * Whether this provider, as it is now, can still measure `window` over `cohorts`. A provider that
   * keeps no history (`scrape` holds its own scrapes in memory) cannot measure a window whose start it
   * did not sample in this process, nor one whose end passed unsampled: a run that finds so (it was
   * interrupted during the window, or deferred it) opens a new window instead. Absent = always
   * (Prometheus and `http` answer for any past window).
   */
  canMeasure?(cohorts: Cohort[], window: AnalysisWindow): boolean;
}

/** Counts of one cohort in a verdict's evidence. */
export interface EvidenceCounts {
  /** Events (the ratio's numerator), summed over the looks so far. */
  events?: number;
  /** Exposure (the ratio's denominator, e.g. requests), summed over the looks so far. */
  exposure?: number;
  /** Samples compared (per-target or per-interval values), for Mann-Whitney. */
  samples?: number;
}

/**
 * Why a measurement decided what it did, kept exact in the state (issue 11, part 7):
 * the rule, the sample sizes, the estimate with its interval, the limit. Ratios, not percents.
 */
export interface Evidence {
  /** The decision rule in words: `rate ratio, anytime-valid 99%: fail if lower > 1.1, pass if upper < 2`. */
  rule: string;
  /** What the rule concluded at this look: `fail`, `pass`, or `continue` (keep observing). */
  decision?: 'fail' | 'pass' | 'continue';
  /** Confidence of the interval and of each decision, 0..1. */
  confidence?: number;
  /** Canary ÷ baseline: the rate ratio (counts) or value ratio (point estimate). */
  estimate?: number;
  /** Confidence interval of `estimate`, `[lower, upper]`; upper may be `.inf` in YAML. */
  interval?: [number, number];
  /** Most allowed ratio (`maxIncrease: 10%` → 1.1). */
  limit?: number;
  /** Regression size a pass rules out (`detect: 2x` → 2). */
  detect?: number;
  /** Looks taken up to this one (sequential tests: each look is cumulative since the window start). */
  looks?: number;
  /** One-sided p-value (Mann-Whitney). */
  pValue?: number;
  canary?: EvidenceCounts;
  /** The comparison: which cohort (`stable` targets or the same targets `before`), its targets, query and counts. */
  baseline?: EvidenceCounts & { kind: 'stable' | 'before'; cohort?: string[]; query?: string };
}

/**
 * One look of a sequential metric as the report plots it (issue 15): the counts are cumulative
 * since the window start, so `value` and `baselineValue` are the ratios over `[window.start, at]`.
 * Ratios, not percents; exact as computed (the report rounds what it shows).
 */
export interface SeriesPoint {
  /** ISO time the look's sub-window ended. */
  at: string;
  verdict: MeasurementVerdict;
  /** The canary's cumulative ratio (events ÷ exposure) at this look. */
  value?: number;
  /** The baseline's cumulative ratio at this look. */
  baselineValue?: number;
  /** Canary ÷ baseline rate ratio at this look. */
  estimate?: number;
  /** Its anytime-valid interval `[lower, upper]` at this look. */
  interval?: [number, number];
  /** What the test concluded at this look. */
  decision?: 'fail' | 'pass' | 'continue';
}

/**
 * Most looks a sequential measurement keeps in `series` (a 60 s window looked at every
 * second has 60; a noData wait can add many more): beyond it the looks are thinned evenly,
 * the first and the deciding one always kept, so a state stays small (issue 15).
 */
export const SERIES_LIMIT = 60;

/** A measurement as recorded in state and printed by the CLI. */
export interface Measurement {
  metric: string;
  query: string;
  /** Target ids measured. */
  cohort: string[];
  /** ISO times of the window. */
  window: { start: string; end: string };
  value?: number;
  baselineValue?: number;
  /** The threshold as written: `"< 0.01"`, `"no increase > 10%"`, `"mann-whitney pass ≥ 95"`. */
  threshold: string;
  verdict: MeasurementVerdict;
  severity: Severity;
  message: string;
  /** When it was measured; for the measurement that decided a metric, when the metric was decided. */
  at: string;
  /** The rule, counts, estimate and interval behind the verdict (absent in states written before issue 11). */
  evidence?: Evidence;
  /**
   * A sequential metric's looks up to and including this (the deciding) one, in time order, at most
   * {@link SERIES_LIMIT} (absent in states written before it was recorded, and for metrics measured
   * once per sub-window: those keep one measurement per sub-window instead).
   */
  series?: SeriesPoint[];
}

/** The outcome of analysing one wave's window. */
export interface AnalysisResult {
  verdict: Verdict;
  /** Highest severity among failed metrics (when `verdict` is `fail`). */
  severity?: Severity;
  measurements: Measurement[];
  /** One line naming the metric(s) and numbers that decided it. */
  message: string;
}

/** Creates a provider from the spec's `analysis.provider` settings. */
export type ProviderFactory = (config: Record<string, unknown>, deps: ProviderDeps) => MetricProvider;

export interface ProviderDeps {
  /** Environment for `${VAR}` references and credentials (masked in logs). */
  env: NodeJS.ProcessEnv;
  /** Registers a secret value so it never reaches logs, state or summaries. */
  mask: (secret: string) => void;
  now: () => number;
}

export type { AnalysisSpec, MetricSpec };
