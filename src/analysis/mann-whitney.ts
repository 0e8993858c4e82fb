/**
 * One-sided Mann-Whitney U test (Wilcoxon rank-sum) of "the canary's values
 * are stochastically greater than the baseline's", as Kayenta's judge uses it.
 *
 * The p-value comes from `@stdlib/stats-kruskal-test`: for two groups the
 * Kruskal-Wallis statistic H equals z² of the Mann-Whitney U normal
 * approximation with tie correction (no continuity correction), and its
 * chi-square(1) p-value is the two-sided Mann-Whitney p-value. The direction
 * comes from the rank sums (`@stdlib/stats-ranks`, average ranks for ties):
 * the one-sided p is half the two-sided one when the canary ranks higher, one
 * minus that half otherwise. Nothing here computes a distribution by hand.
 * The normal approximation is coarse with few samples, so the assessment
 * (`assess.ts`) needs at least {@link MIN_STATISTICAL_SAMPLES} per group, and
 * counts a pass only when a canary `detect` times higher would have tested high
 * with the same sample sizes; otherwise the measurement is no data.
 */
import kruskalTest from '@stdlib/stats-kruskal-test';
import ranks from '@stdlib/stats-ranks';

/** Fewest samples per group the statistical threshold accepts; fewer is no data (the metric's `noData` applies; docs/analysis.md). */
export const MIN_STATISTICAL_SAMPLES = 3;

/** Outcome of {@link mannWhitneyGreater}. */
export interface MannWhitneyResult {
  /** One-sided p-value of H1 "canary > baseline" (0..1). */
  pValue: number;
  /** U statistic of the canary: pairs (canary, baseline) where the canary is higher, ties counting ½. */
  u: number;
  /** Canary sample size. */
  n1: number;
  /** Baseline sample size. */
  n2: number;
  /** U / (n1·n2): the probability that a canary sample exceeds a baseline sample (0.5 = no difference). */
  effect: number;
}

/**
 * Tests whether `canary` values tend to be greater than `baseline` values.
 *
 * @throws RangeError when either array is empty or holds a non-finite number.
 */
export function mannWhitneyGreater(canary: readonly number[], baseline: readonly number[]): MannWhitneyResult {
  if (canary.length === 0 || baseline.length === 0)
    throw new RangeError('mannWhitneyGreater needs at least one value per group');
  if (![...canary, ...baseline].every(Number.isFinite)) throw new RangeError('mannWhitneyGreater needs finite values');
  const n1 = canary.length;
  const n2 = baseline.length;
  const all = [...canary, ...baseline];
  const r = ranks(all);
  let rankSum = 0;
  for (let i = 0; i < n1; i++) rankSum += r[i] as number;
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const effect = u / (n1 * n2);
  // Every value equal: no evidence either way (the library's tie correction divides by zero here).
  if (all.every((v) => v === all[0])) return { pValue: 0.5, u, n1, n2, effect };
  const twoSided = kruskalTest([...canary], [...baseline]).pValue;
  const half = Math.min(1, Math.max(0, twoSided)) / 2;
  const pValue = u > (n1 * n2) / 2 ? half : 1 - half;
  return { pValue, u, n1, n2, effect };
}
