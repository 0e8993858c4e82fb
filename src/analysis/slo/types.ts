/**
 * What the error-budget gate (spec `slo`) records in the state for each check:
 * the objective, the queries, the budget the rollout consumed since it began,
 * the burn rate over every window, and what was decided. Ratios, not percents;
 * counts exact (the state is for machines, `status` rounds); times ISO-8601 (UTC).
 */

/** The bad and total events counted over one range, or why they could not be. */
export interface SloWindowMeasure {
  /** The range as sent to Prometheus (`[{{window}}]` filled): `5m`, `37s`. */
  window: string;
  /** The range in ms. */
  windowMs: number;
  /** Bad events counted over the range (absent when not measured). */
  bad?: number;
  /** All events counted over the range. */
  total?: number;
  /** bad ÷ total. */
  errorRatio?: number;
  /** errorRatio ÷ (1 − objective): 1 spends the budget exactly over the objective's window. */
  burnRate?: number;
  /** The bad query returned no series while total had data: counted as 0 bad events. */
  badEmpty?: true;
  /** Why there is no burn rate (Prometheus unreachable, no data, no traffic). */
  problem?: string;
}

/** One fast/slow pair as it was checked. */
export interface SloPairCheck {
  /** The long window as written (ms) and as used (shortened for a young rollout). */
  longMs: number;
  usedLongMs: number;
  shortMs: number;
  /** The burn rate both windows must exceed. */
  rate: number;
  long: SloWindowMeasure;
  short: SloWindowMeasure;
  /** `fail`: both windows over the rate; `inconclusive`: a window was not measured. */
  verdict: 'pass' | 'fail' | 'inconclusive';
}

/** One check of the error-budget gate: before a wave starts, or at the end of its observation window. */
export interface SloCheck {
  /** When it was decided (the queries are evaluated at this time). */
  at: string;
  when: 'before' | 'after';
  /** `fail`: over the budget or a pair burning; `inconclusive`: not measured (never a pass). */
  verdict: 'pass' | 'fail' | 'inconclusive';
  /** One line saying what decided it. */
  message: string;
  /** The objective, a ratio (0.999). */
  objective: number;
  /** The objective's window (ms). */
  windowMs: number;
  /** The queries as written (`{{window}}` not filled). */
  queries: { bad: string; total: string };
  /** Where the budget is counted from: when the rollout began, or the last `continue` after this gate paused it. */
  since: string;
  /** The budget consumed since then. */
  budget: {
    /** Most allowed, a ratio of the objective's budget (0.5). */
    limit: number;
    /** Consumed, a ratio of the budget: burnRate × (elapsed ÷ objective window). Absent when not measured. */
    consumed?: number;
    /** The measurement since `since`; absent when nothing was changed yet (consumed is 0 by definition). */
    measure?: SloWindowMeasure;
  };
  /** Every fast/slow pair. */
  burnRates: SloPairCheck[];
}
