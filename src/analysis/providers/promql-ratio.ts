/**
 * Event counts from a PromQL ratio of counters, for the sequential
 * `maxIncrease` test: `sum(rate(A[w])) / sum(rate(B[w]))` is split at its one
 * top-level `/`, and each side is evaluated with `rate(` read as `increase(`
 * (Prometheus defines `increase` as `rate` × the range, so the sides become
 * the events and the requests the ratio was computed from). Pure.
 */

/** The two sides of a top-level division, as written. */
export interface RatioParts {
  numerator: string;
  denominator: string;
}

const COUNTER_FUNCTION = /(?<![\w:])(?:rate|increase)\s*\(/;
const RATE = /(?<![\w:])rate(\s*\()/g;
/** Vector matching modifiers after `/` change which series divide: not a plain ratio of totals. */
const MODIFIER = /^\s*(?:on|ignoring|group_left|group_right|bool)\b/;

/**
 * Splits `A / B` at its only top-level `/` (outside brackets and strings).
 *
 * @returns `undefined` when there is no top-level `/`, more than one, or a vector-matching modifier.
 */
export function splitTopLevelRatio(query: string): RatioParts | undefined {
  let depth = 0;
  let quote: string | undefined;
  const cuts: number[] = [];
  for (let i = 0; i < query.length; i++) {
    const ch = query[i] as string;
    if (quote !== undefined) {
      if (ch === '\\' && quote !== '`') i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    else if (ch === '#') {
      const nl = query.indexOf('\n', i);
      if (nl < 0) break;
      i = nl;
    } else if (ch === '(' || ch === '{' || ch === '[') depth++;
    else if (ch === ')' || ch === '}' || ch === ']') depth--;
    else if (ch === '/' && depth === 0) cuts.push(i);
  }
  if (cuts.length !== 1 || depth !== 0 || quote !== undefined) return undefined;
  const at = cuts[0] as number;
  const numerator = query.slice(0, at).trim();
  const denominator = query.slice(at + 1).trim();
  if (numerator === '' || denominator === '' || MODIFIER.test(denominator)) return undefined;
  return { numerator, denominator };
}

/**
 * The count queries of a ratio of counters: both sides use `rate(` or
 * `increase(`; `rate(` becomes `increase(`.
 *
 * @returns `undefined` when the query is not such a ratio.
 */
export function countQueries(query: string): RatioParts | undefined {
  const parts = splitTopLevelRatio(query);
  if (!parts || !COUNTER_FUNCTION.test(parts.numerator) || !COUNTER_FUNCTION.test(parts.denominator)) return undefined;
  return {
    numerator: parts.numerator.replace(RATE, 'increase$1'),
    denominator: parts.denominator.replace(RATE, 'increase$1'),
  };
}
