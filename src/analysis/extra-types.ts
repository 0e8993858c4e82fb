/**
 * Analysis types beyond the contract in `types.ts`: what `analyzeWindow`
 * collects and hands to the pure assessors, and what they return per metric.
 * Times are epoch milliseconds.
 */
import type { Severity } from '../spec/types.js';
import type {
  AnalysisResult,
  AnalysisWindow,
  Cohort,
  Measurement,
  MeasurementVerdict,
  ProviderResult,
} from './types.js';

/** The comparison a relative or statistical threshold needs, measured with the same query and sub-window. */
export interface Comparison {
  /**
   * `stable`: the baseline cohort (targets still on the old version) over the same window.
   * `before`: the same targets over the window before the wave.
   */
  kind: 'stable' | 'before';
  result: ProviderResult;
  /** The comparison query exactly as sent. */
  query?: string;
  /** Ids of the targets it measured. */
  cohort?: string[];
  /** Extra words for the message, e.g. why a `stable` baseline fell back to `before`. */
  note?: string;
}

/** One measurement's raw inputs, before assessment. */
export interface Observation {
  /** The (sub-)window measured. */
  window: AnalysisWindow;
  /** The canary query exactly as sent. */
  query: string;
  /** Ids of the targets measured. */
  cohort: string[];
  /** What the provider returned for the cohort under test. */
  result: ProviderResult;
  /** The baseline measurement, when the metric has `maxIncrease` or `statistical`. */
  comparison?: Comparison;
  /** When the measurement was taken (ms). */
  atMs: number;
}

/** Statistical classification of one measurement (Kayenta's labels). */
export type StatisticalClass = 'pass' | 'high';

/** One assessed measurement, with what the metric-level rules need besides the record. */
export interface AssessedMeasurement {
  measurement: Measurement;
  /** A `threshold` or `maxIncrease` condition failed, or `noData: fail` applied: counts against `failureLimit`. */
  countsAsFailure: boolean;
  /** Mann-Whitney classification, when the metric is statistical and both cohorts had enough samples. */
  statistical?: StatisticalClass;
  /** No data, or fewer events than `minSamples`: what `noData: wait` waits out. */
  waiting?: boolean;
  /** The sequential test's decision at this look (metrics judged on event counts). */
  sequential?: 'fail' | 'pass' | 'continue';
}

/** The verdict on one metric over the window. */
export interface MetricAssessment {
  metric: string;
  /** `pass`, `fail`, `inconclusive`, or `error` when every measurement errored. */
  verdict: MeasurementVerdict;
  severity: Severity;
  measurements: Measurement[];
  /** Statistical score (percent of classified measurements that passed), for statistical metrics. */
  score?: number;
  /** One line naming the metric and the numbers that decided it. */
  message: string;
  /**
   * The data already decided this metric: more measurements cannot change its verdict (a sequential
   * test reached fail or pass, or more measurements failed than failureLimit).
   */
  decided?: boolean;
  /** No data so far (or below minSamples) at its last measurement: `noData: wait` keeps measuring. */
  waiting?: boolean;
  /** When it was decided (ISO), for a decided metric. */
  decidedAt?: string;
}

/** `AnalysisResult` plus the per-metric verdicts it was combined from. */
export interface AnalysisAssessment extends AnalysisResult {
  metrics: MetricAssessment[];
  /** `analyzeWindow` returned before the window's end because every metric was decided (or a critical one failed). */
  endedEarly?: boolean;
  /** When the verdict was reached (ms): the last measurement taken. */
  decidedAtMs?: number;
  /** `noData: wait` held the verdict past the window's end (ms it ended at). */
  waitedUntilMs?: number;
}

/** Options of `analyzeWindow`. Every time is epoch milliseconds. */
export interface AnalyzeOptions {
  /** The targets under test (the wave just upgraded). */
  cohort: Cohort;
  /** Targets still on the old version, for `baseline: {cohort: stable}`. Absent or empty: those metrics compare with `before`. */
  baseline?: Cohort;
  /** The observation window the verdict covers: `[wave end, wave end + observe]`. */
  window: AnalysisWindow;
  /**
   * The window `baseline: {cohort: before}` measures the same targets over.
   * Default: the window of the same length ending when `window` starts. Pass the
   * real pre-wave window (e.g. the previous wave's observation window) when known.
   */
  before?: AnalysisWindow;
  /** Clock (ms). */
  now: () => number;
  /** Waits; used only while the window is still open. */
  sleep: (ms: number) => Promise<void>;
  /** Stops waiting and aborts measurements in flight; the result is then `inconclusive`. */
  signal?: AbortSignal;
  /**
   * Return as soon as every metric is decided, or a critical metric failed (a pass only after
   * `spec.minWindowMs`); default false. The window then ends at `decidedAtMs`, before `observe`:
   * the caller must stop its health observation there and record that end (the next wave's
   * `before` window, and `scrape`'s samples, end there).
   */
  stopEarly?: boolean;
}
