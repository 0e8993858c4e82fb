/**
 * Anytime-valid sequential test of a rate ratio between two cohorts: is the
 * canary's event rate (errors per request) more than `limit` times the
 * baseline's? Used by `maxIncrease` when the provider reports event counts.
 * Explained in plain words, with a worked example, in `docs/analysis.md`.
 *
 * The model (Lindon & Malek, "Anytime-valid inference for multinomial count
 * data", NeurIPS 2022, the two-cell case; Netflix's canary test):
 *
 * - Each cohort's events are a Poisson process over its exposure (requests):
 *   canary rate λc over nc requests, baseline rate λb over nb requests.
 * - Given N events in total, each one is the canary's with probability
 *   `p = ρ·nc / (ρ·nc + nb)`, where ρ = λc / λb is the rate ratio. So the
 *   canary's events are Binomial(N, p), whatever the (unknown) baseline rate.
 * - With a conjugate Beta(a, b) mixture over p, the Bayes factor of the data
 *   against a given p,
 *   `BF(p) = B(x + a, N − x + b) / B(a, b) / (p^x (1 − p)^(N − x))`,
 *   is a nonnegative martingale under that p as events arrive, so by Ville's
 *   inequality `P(sup_N BF(p) ≥ 1/α) ≤ α`. The set of p with BF(p) < 1/α is
 *   a confidence sequence: it holds the true p at every look at once with
 *   probability ≥ 1 − α. Looking after every interval does not inflate errors.
 * - Mapped to ρ (monotone): `ρ = p·nb / ((1 − p)·nc)`. The decision rules:
 *   **fail** when the interval's lower end exceeds `limit` (the data show an
 *   increase beyond the limit), **pass** when its upper end is below `detect`
 *   (a regression of `detect` size is excluded, so it would have been caught),
 *   else **continue**. Each wrong decision has probability ≤ α = 1 − confidence
 *   over the whole sequence of looks.
 *
 * Assumption: the split of traffic between the cohorts is steady over the
 * window (the share nc / (nc + nb) at each look stands for every event).
 * The Beta function comes from `@stdlib/math-base-special-betaln`; nothing
 * here computes a distribution by hand. Pure.
 */
import betaln from '@stdlib/math-base-special-betaln';

/** Events (e.g. errors) over an exposure (e.g. requests) of one cohort. */
export interface EventCounts {
  /** Events counted (the ratio's numerator), ≥ 0. */
  events: number;
  /** Exposure they happened over (the ratio's denominator), ≥ 0. */
  exposure: number;
}

/** Settings of {@link rateRatioTest}; ratios, not percents. */
export interface RateRatioSettings {
  /** Most allowed rate ratio canary ÷ baseline: `maxIncrease: 10%` → 1.1. */
  limit: number;
  /** Rate ratio that must be excluded before a pass: `detect: 2x` → 2. Above `limit`. */
  detect: number;
  /** Confidence, 0..1 (default spec value 0.99): each wrong decision has probability ≤ 1 − confidence. */
  confidence: number;
}

/** Outcome of one look. */
export interface RateRatioResult {
  decision: 'fail' | 'pass' | 'continue';
  /** Rate ratio estimate (canary rate ÷ baseline rate); NaN with no events at all, +Inf with no baseline events. */
  estimate: number;
  /** Anytime-valid confidence interval of the rate ratio at `confidence`: `[lower, upper]` (upper may be +Inf). */
  interval: [number, number];
  /** Canary share of the exposure: p under "no change" (ρ = 1). */
  share: number;
  /** Total events N (canary + baseline). */
  events: number;
}

/** Log Bayes factor of the Beta(a, b) mixture against probability `p`, for x successes in n trials. */
export function logMixtureBayesFactor(x: number, n: number, p: number, a: number, b: number): number {
  const logLik = (x > 0 ? x * Math.log(p) : 0) + (n - x > 0 ? (n - x) * Math.log1p(-p) : 0);
  return betaln(x + a, n - x + b) - betaln(a, b) - logLik;
}

const BISECTIONS = 64;

/**
 * Anytime-valid confidence interval of a binomial probability from the
 * Beta(a, b) mixture: every p with `BF(p) < 1/α`. The log Bayes factor is
 * convex in p with its minimum (≤ 0) at x / n, so the set is an interval,
 * found by bisection on either side.
 *
 * @returns `[lower, upper]` within [0, 1]; `[0, 1]` when n is 0.
 */
export function mixtureConfidenceInterval(x: number, n: number, a: number, b: number, alpha: number): [number, number] {
  if (!(n > 0)) return [0, 1];
  const bound = Math.log(1 / alpha);
  const mle = Math.min(1, Math.max(0, x / n));
  const outside = (p: number): boolean => logMixtureBayesFactor(x, n, p, a, b) >= bound;
  let lower = 0;
  if (mle > 0) {
    let lo = 0;
    let hi = mle;
    if (outside(Number.MIN_VALUE)) {
      for (let i = 0; i < BISECTIONS; i++) {
        const mid = (lo + hi) / 2;
        if (outside(mid)) lo = mid;
        else hi = mid;
      }
      lower = hi;
    }
  }
  let upper = 1;
  if (mle < 1) {
    let lo = mle;
    let hi = 1;
    if (outside(1 - Number.EPSILON)) {
      for (let i = 0; i < BISECTIONS; i++) {
        const mid = (lo + hi) / 2;
        if (outside(mid)) hi = mid;
        else lo = mid;
      }
      upper = lo;
    }
  }
  return [lower, upper];
}

/**
 * Prior concentration κ of the Beta mixture (a = κ·share, b = κ·(1 − share),
 * centred on "no change" as Lindon & Malek's Dirichlet prior): chosen so the
 * prior's spread equals the distance between "no change" and a `detect`-size
 * regression, where the test is tightest for the effect it must see. At least 1.
 */
export function priorConcentration(share: number, detect: number): number {
  const pDetect = (detect * share) / (detect * share + (1 - share));
  const distance = pDetect - share;
  if (!(distance > 0)) return 1;
  return Math.max(1, (share * (1 - share)) / (distance * distance) - 1);
}

/** Maps a canary share of events p to the rate ratio ρ = p·nb / ((1 − p)·nc). */
function ratioOf(p: number, canaryExposure: number, baselineExposure: number): number {
  if (p >= 1) return Infinity;
  if (p <= 0) return 0;
  return (p * baselineExposure) / ((1 - p) * canaryExposure);
}

/**
 * One look of the sequential test, on the cumulative counts since the window
 * opened. Pure.
 *
 * @throws RangeError on negative counts, a non-positive exposure, or settings out of range.
 */
export function rateRatioTest(
  canary: EventCounts,
  baseline: EventCounts,
  settings: RateRatioSettings,
): RateRatioResult {
  const { limit, detect, confidence } = settings;
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  if (!(limit > 0) || !(detect > limit))
    throw new RangeError(`detect (${detect}) must exceed limit (${limit}), both positive`);
  for (const c of [canary, baseline]) {
    if (!(c.events >= 0) || !(c.exposure > 0) || !Number.isFinite(c.events) || !Number.isFinite(c.exposure))
      throw new RangeError('rateRatioTest needs events ≥ 0 and a positive, finite exposure per cohort');
  }
  const share = canary.exposure / (canary.exposure + baseline.exposure);
  const n = canary.events + baseline.events;
  const x = canary.events;
  const estimate = n === 0 ? Number.NaN : canary.events / canary.exposure / (baseline.events / baseline.exposure);
  const kappa = priorConcentration(share, detect);
  const [pLow, pHigh] = mixtureConfidenceInterval(x, n, kappa * share, kappa * (1 - share), 1 - confidence);
  const interval: [number, number] = [
    ratioOf(pLow, canary.exposure, baseline.exposure),
    ratioOf(pHigh, canary.exposure, baseline.exposure),
  ];
  const decision = interval[0] > limit ? 'fail' : interval[1] < detect ? 'pass' : 'continue';
  return { decision, estimate, interval, share, events: n };
}

/**
 * Anytime-valid interval of one cohort's own event rate (events ÷ exposure),
 * from the same mixture with a uniform Beta(1, 1) prior. Used for the
 * absolute floor `ignoreIncreaseBelow`. Treats each unit of exposure as one
 * trial, so it needs events ≤ exposure (an error ratio).
 */
export function rateInterval(counts: EventCounts, confidence: number): [number, number] {
  const n = counts.exposure;
  const x = Math.min(counts.events, n);
  return mixtureConfidenceInterval(x, n, 1, 1, 1 - confidence);
}
