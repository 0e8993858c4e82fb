/**
 * The spec's `slo` section: a service level objective whose error budget gates
 * the rollout (seed 004: pause when the rollout has consumed more than 50% of
 * the error budget; the SRE workbook's multi-window, multi-burn-rate pairs,
 * ch. 5 "Alerting on SLOs"). Here: the written form (zod, so the JSON Schema
 * and `validate` know every field), its normalization (ratios, durations in
 * ms, defaults) and the rules that relate it to the rest of the spec (a
 * `prometheus` provider, `{{window}}` in both queries, short below long),
 * reported with the field's path so `parse.ts` locates them.
 * See docs/slo.md.
 */
import { z } from 'zod';
import { DURATION_EXPECTED, formatDuration, parseDuration, POSITIVE_DURATION_PATTERN } from './duration.js';
import { e, settings } from './explain.js';
import { findPlaceholders } from './placeholders.js';
import type { SpecProblem } from './problem.js';
import { PERCENT_PATTERN } from './size.js';

/** A duration above zero: `"30s"`, `"30d"`, or a number of seconds. */
function positiveDuration() {
  const err = e('must be a duration above zero', DURATION_EXPECTED);
  return z.union([z.string(err).regex(new RegExp(POSITIVE_DURATION_PATTERN), err), z.number(err).positive(err)], err);
}

/** Budget the rollout may consume before it pauses, when `maxBudgetConsumed` is omitted (seed 004). */
export const DEFAULT_MAX_BUDGET_CONSUMED = '50%';

/**
 * The burn-rate pairs used when `burnRates` is omitted: the SRE workbook's two paging pairs for a
 * 30-day objective (ch. 5, table 5-8): 1 h and 5 m at 14.4× (2% of the budget in an hour), 6 h and
 * 30 m at 6× (5% in six hours).
 */
export const DEFAULT_BURN_RATES = [
  { long: '1h', short: '5m', rate: 14.4 },
  { long: '6h', short: '30m', rate: 6 },
] as const;

/** The only placeholder of the SLO queries: the range each is evaluated over. */
export const SLO_WINDOW_PLACEHOLDER = 'window';

/** An objective written as a percent below 100: `"99.9%"`, `"95%"` (not `"0%"`). */
const OBJECTIVE_PERCENT_PATTERN = String.raw`^(?=[^%]*[1-9])\d{1,2}(?:\.\d+)?%$`;
/** A query whose every `{{...}}` is `{{window}}`. */
const WINDOW_ONLY_PATTERN = String.raw`^(?![\s\S]*\{\{(?!\s*window\s*\}\})[^{}]*\}\})[\s\S]*$`;

const OBJECTIVE_FORMS = 'a percent below 100% like "99.9%", or a ratio below 1 like 0.999';
const BUDGET_FORMS = 'a percent above 0 and at most 100% like "50%", or a ratio like 0.5';

const Objective = z
  .union(
    [
      z
        .string(e('must be an objective', OBJECTIVE_FORMS))
        .regex(new RegExp(OBJECTIVE_PERCENT_PATTERN), e('must be an objective', OBJECTIVE_FORMS)),
      z
        .number(e('must be an objective', OBJECTIVE_FORMS))
        .gt(0, e('must be an objective', OBJECTIVE_FORMS))
        .lt(1, e('must be an objective', OBJECTIVE_FORMS)),
    ],
    e('must be an objective', OBJECTIVE_FORMS),
  )
  .describe('The share of good events the service promises over the window: "99.9%" or 0.999.');

const BudgetShare = z.union(
  [
    z
      .string(e('must be a share of the budget', BUDGET_FORMS))
      .regex(new RegExp(PERCENT_PATTERN), e('must be a share of the budget', BUDGET_FORMS)),
    z
      .number(e('must be a share of the budget', BUDGET_FORMS))
      .gt(0, e('must be a share of the budget', BUDGET_FORMS))
      .max(1, e('must be a share of the budget', BUDGET_FORMS)),
  ],
  e('must be a share of the budget', BUDGET_FORMS),
);

const sloQuery = (what: string) =>
  z
    .string(e(`must be the PromQL query of the ${what} events`, 'a query over [{{window}}]'))
    .min(1, e('must not be empty', `the PromQL query of the ${what} events`))
    .regex(
      new RegExp(WINDOW_ONLY_PATTERN),
      e('may use only the placeholder {{window}}', 'a query like sum(increase(http_requests_total[{{window}}]))'),
    );

const BurnRatePair = settings('burnRates', {
  long: positiveDuration().describe(
    'The long window: enough time for a burn to matter (the workbook: 1h). Shortened to the time since the rollout began, never below short.',
  ),
  short: positiveDuration().describe(
    'The short window, below long: the burn must still go on (the workbook: 5m, a twelfth of long).',
  ),
  rate: z
    .number(
      e('must be a burn rate', 'a number above 0: 1 spends the budget exactly over the window, 14.4 in a 30th of it'),
    )
    .gt(0, e('must be a burn rate', 'a number above 0, like 14.4'))
    .describe(
      'The burn rate both windows must exceed: the error ratio over (1 − objective). 1 spends exactly the budget over the window.',
    ),
}).meta({
  id: 'BurnRatePair',
  description: 'A fast/slow pair of the SRE workbook: both windows over the rate pauses.',
});

/** The `slo` section as written (see docs/slo.md). */
export const SloSchema = settings('slo', {
  objective: Objective,
  window: positiveDuration().describe(
    'The window the objective is promised over, e.g. "30d" (its error budget is 1 − objective of its events).',
  ),
  bad: sloQuery('bad').describe(
    'PromQL counting the bad events over {{window}}, e.g. sum(increase(http_requests_total{code=~"5.."}[{{window}}])). An empty result counts as 0 when total has data.',
  ),
  total: sloQuery('total').describe(
    'PromQL counting all events over {{window}}, e.g. sum(increase(http_requests_total[{{window}}])). Only bad ÷ total is used, so rate() works as well as increase().',
  ),
  maxBudgetConsumed: BudgetShare.optional()
    .describe(
      `Most of the error budget the rollout may burn, counted from when it began, before it pauses (reason ErrorBudgetBurn) (default ${DEFAULT_MAX_BUDGET_CONSUMED}, seed 004).`,
    )
    .meta({ default: DEFAULT_MAX_BUDGET_CONSUMED }),
  burnRates: z
    .array(BurnRatePair, e('must be a list of burn-rate pairs', 'a list of {long, short, rate}'))
    .optional()
    .describe(
      'Multi-window burn rates: the rollout pauses when both windows of a pair burn faster than its rate. Default: 1h & 5m at 14.4, 6h & 30m at 6 (SRE workbook, for a 30-day objective); [] checks only maxBudgetConsumed.',
    )
    .meta({ default: DEFAULT_BURN_RATES }),
}).meta({
  id: 'Slo',
  description:
    'A service level objective whose error budget gates the rollout, checked before each wave and at the end of each observation window (queries through analysis.provider.prometheus). See docs/slo.md.',
});

/** The `slo` section as written. */
export type WrittenSlo = z.input<typeof SloSchema>;

/** One fast/slow pair, normalized. */
export interface BurnRatePairSpec {
  /** The long window (ms) as written; the gate shortens it for a young rollout (see `planBurnWindows`). */
  longMs: number;
  /** The short window (ms). */
  shortMs: number;
  /** The burn rate both windows must exceed (error ratio ÷ (1 − objective)). */
  rate: number;
}

/** The `slo` section the program uses: ratios in (0, 1), durations in ms, defaults applied. */
export interface SloSpec {
  /** The objective as a ratio: `"99.9%"` → 0.999. The error budget is 1 − objective. */
  objective: number;
  /** The window the objective is promised over (ms). */
  windowMs: number;
  /** PromQL of the bad events, as written (`{{window}}` not filled). */
  bad: string;
  /** PromQL of all events, as written. */
  total: string;
  /** Most of the budget the rollout may consume, a ratio in (0, 1]: `"50%"` → 0.5 (seed 004). */
  maxBudgetConsumed: number;
  /** Fast/slow pairs; empty: only the budget consumed is checked. */
  burnRates: BurnRatePairSpec[];
}

/** `"99.9%"` → 0.999 and a ratio unchanged; rounded to 12 significant digits so `99.9 / 100` is 0.999. */
function ratioOf(written: string | number): number {
  if (typeof written === 'number') return written;
  return Number((Number.parseFloat(written) / 100).toPrecision(12));
}

/** Applies the defaults of the `slo` section (50% of the budget; the workbook's 1h/5m ×14.4 and 6h/30m ×6). */
export function normalizeSlo(written: WrittenSlo): SloSpec {
  return {
    objective: ratioOf(written.objective),
    windowMs: parseDuration(written.window),
    bad: written.bad,
    total: written.total,
    maxBudgetConsumed: ratioOf(written.maxBudgetConsumed ?? DEFAULT_MAX_BUDGET_CONSUMED),
    burnRates: (written.burnRates ?? DEFAULT_BURN_RATES).map((p) => ({
      longMs: parseDuration(p.long),
      shortMs: parseDuration(p.short),
      rate: p.rate,
    })),
  };
}

/**
 * The rules of the `slo` section the schema cannot express: the queries go through the
 * `prometheus` provider of `analysis` (error when there is none); both queries hold
 * `{{window}}` (error: the gate evaluates them over several ranges); each pair's short window is
 * below its long one (error); a long window past the objective's window (warning).
 * @param provider - the written `analysis.provider` (absent: no analysis)
 * @returns problems with field paths; `parse.ts` locates them
 */
export function checkSloRules(written: WrittenSlo | undefined, provider: object | undefined): SpecProblem[] {
  if (written === undefined) return [];
  const out: SpecProblem[] = [];
  if (provider === undefined || !Object.hasOwn(provider, 'prometheus')) {
    out.push({
      path: ['slo'],
      at: 'key',
      message: `queries Prometheus, but ${provider === undefined ? 'the spec has no analysis' : `analysis.provider is ${Object.keys(provider).join(', ') || 'empty'}`}`,
      expected: 'analysis: {provider: {prometheus: {address: "..."}}, metrics: [...]} beside slo',
      severity: 'error',
    });
  }
  for (const key of ['bad', 'total'] as const) {
    const text = written[key];
    if (typeof text !== 'string') continue;
    if (!findPlaceholders(text).some((p) => p.name === SLO_WINDOW_PLACEHOLDER)) {
      out.push({
        path: ['slo', key],
        message:
          'does not use {{window}}: the gate evaluates it over several ranges (since the rollout began, and each burn-rate window)',
        expected: `a range of [{{window}}], like sum(increase(http_requests_total${key === 'bad' ? '{code=~"5.."}' : ''}[{{window}}]))`,
        showGot: true,
        severity: 'error',
      });
    }
  }
  const windowMs = safeDuration(written.window);
  (written.burnRates ?? []).forEach((pair, i) => {
    const longMs = safeDuration(pair.long);
    const shortMs = safeDuration(pair.short);
    if (longMs !== undefined && shortMs !== undefined && !(shortMs < longMs)) {
      out.push({
        path: ['slo', 'burnRates', i, 'short'],
        message: `must be shorter than long (${formatDuration(longMs)})`,
        expected: `a window below ${formatDuration(longMs)}, like ${formatDuration(Math.max(1000, Math.round(longMs / 12)))} (the workbook's twelfth)`,
        showGot: true,
        severity: 'error',
      });
    }
    if (longMs !== undefined && windowMs !== undefined && longMs > windowMs) {
      out.push({
        path: ['slo', 'burnRates', i, 'long'],
        message: `is longer than the objective's window (${formatDuration(windowMs)})`,
        expected: `at most ${formatDuration(windowMs)}`,
        showGot: true,
        severity: 'warning',
      });
    }
  });
  return out;
}

function safeDuration(value: unknown): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  try {
    return parseDuration(value);
  } catch {
    return undefined;
  }
}
