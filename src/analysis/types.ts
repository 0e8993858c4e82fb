/**
 * Analysis contracts: metric providers measure, assessors decide. A provider
 * failure is a measurement with phase `Error` or `Inconclusive`, never an
 * exception that skips the gate (Argo `metricproviders/prometheus`).
 * Times are epoch milliseconds; values are whatever unit the query returns.
 */
import type { AnalysisSpec, MetricSpec, Severity, Target } from '../spec/types.js';

/** Argo's analysis phase words. */
export type MeasurementPhase = 'Successful' | 'Failed' | 'Inconclusive' | 'Error';

/** Verdict of one wave's analysis. `inconclusive` is never a pass. */
export type Verdict = 'pass' | 'fail' | 'inconclusive';

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
    }
  | { ok: false; phase: 'Error' | 'Inconclusive'; message: string };

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
}

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
  phase: MeasurementPhase;
  severity: Severity;
  message: string;
  at: string;
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
