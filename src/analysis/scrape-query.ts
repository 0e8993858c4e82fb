/**
 * The `scrape` provider's query language: a small, PromQL-flavoured set of
 * functions evaluated over two scrapes of each target's `/metrics` (one at the
 * start of the window, one at its end). Pure: parsed expositions in, numbers
 * out. Documented in `docs/providers/scrape.md`.
 *
 * ```text
 * ratio(http_requests_total{code=~"5.."}, http_requests_total)   increase(A) / increase(B)
 * rate(http_requests_total{code="200"})                          increase(A) / seconds, per target
 * quantile(0.99, http_request_duration_seconds)                  from the histogram's bucket increases
 * gauge(queue_depth{queue="main"})                               value at the end of the window
 * ```
 *
 * Selectors are `name{label="v", label!="v", label=~"re", label!~"re"}`;
 * regular expressions are anchored at both ends, as in PromQL. Strings take
 * double or single quotes with Go/PromQL escapes (`\\`, `\"`, `\n`), so a
 * `{{targets.regex}}` written for Prometheus works here unchanged.
 */
import { ConfigurationError } from '../errors.js';
import { anchored, matchesAll, type Matcher } from '../spec/matchers.js';
import { parsePromFloat, type Exposition, type ExpositionSeries } from './exposition.js';

/**
 * A series selector: a metric name and label matchers — the same matchers, and the same rule for
 * matching them, as the alert gate's (`src/spec/matchers.ts`: a missing label is `""`, a regex is
 * anchored and its `.` matches a newline, as in PromQL).
 */
export interface Selector {
  name: string;
  matchers: Matcher[];
}

/** A parsed scrape query. */
export type ScrapeQuery =
  | { fn: 'ratio'; numerator: Selector; denominator: Selector }
  | { fn: 'rate'; selector: Selector }
  | { fn: 'quantile'; quantile: number; selector: Selector }
  | { fn: 'gauge'; selector: Selector };

/** The functions of the language, for messages and docs. */
export const SCRAPE_FUNCTIONS = ['ratio', 'rate', 'quantile', 'gauge'] as const;

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  fail(message: string): never {
    throw new ConfigurationError(`scrape query ${JSON.stringify(this.text)}: ${message} at column ${this.pos + 1}`);
  }

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] as string)) this.pos++;
  }

  peek(): string {
    this.skipSpace();
    return this.text[this.pos] ?? '';
  }

  expect(token: string): void {
    this.skipSpace();
    if (!this.text.startsWith(token, this.pos)) this.fail(`expected ${JSON.stringify(token)}`);
    this.pos += token.length;
  }

  identifier(what: string): string {
    this.skipSpace();
    const match = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(this.text.slice(this.pos));
    if (!match) this.fail(`expected ${what}`);
    this.pos += match[0].length;
    return match[0];
  }

  number(): number {
    this.skipSpace();
    const match = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/.exec(this.text.slice(this.pos));
    if (!match) this.fail('expected a number');
    this.pos += match[0].length;
    return Number(match[0]);
  }

  string(): string {
    this.skipSpace();
    const quote = this.text[this.pos];
    if (quote !== '"' && quote !== "'") this.fail('expected a quoted string');
    this.pos++;
    let out = '';
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos] as string;
      if (ch === quote) {
        this.pos++;
        return out;
      }
      if (ch === '\\') {
        const next = this.text[this.pos + 1];
        if (next === undefined) break;
        const escapes: Record<string, string> = { '\\': '\\', '"': '"', "'": "'", n: '\n', t: '\t', r: '\r' };
        const replacement = escapes[next];
        if (replacement === undefined) this.fail(`unknown escape \\${next} in a string (write \\\\ for a backslash)`);
        out += replacement;
        this.pos += 2;
        continue;
      }
      out += ch;
      this.pos++;
    }
    return this.fail('unterminated string');
  }
}

function parseSelector(s: Scanner): Selector {
  const name = s.identifier('a metric name');
  const matchers: Matcher[] = [];
  if (s.peek() === '{') {
    s.expect('{');
    while (s.peek() !== '}') {
      const label = s.identifier('a label name');
      s.skipSpace();
      const op = (['=~', '!~', '!=', '='] as const).find((o) => s.text.startsWith(o, s.pos));
      if (op === undefined) s.fail('expected one of = != =~ !~');
      s.pos += op.length;
      const value = s.string();
      const matcher: Matcher = { name: label, op, value };
      if (op === '=~' || op === '!~') {
        try {
          anchored(value);
        } catch (err) {
          s.fail(
            `invalid regular expression ${JSON.stringify(value)} (${err instanceof Error ? err.message : String(err)})`,
          );
        }
      }
      matchers.push(matcher);
      if (s.peek() === ',') s.expect(',');
      else if (s.peek() !== '}') s.fail('expected "," or "}"');
    }
    s.expect('}');
  }
  return { name, matchers };
}

/**
 * Parses a scrape query (already templated: no `{{…}}` left).
 *
 * @throws ConfigurationError naming the column of the first problem.
 */
export function parseScrapeQuery(text: string): ScrapeQuery {
  const s = new Scanner(text);
  const fn = s.identifier(`a function (${SCRAPE_FUNCTIONS.join(', ')})`);
  s.expect('(');
  let query: ScrapeQuery;
  switch (fn) {
    case 'ratio': {
      const numerator = parseSelector(s);
      s.expect(',');
      query = { fn, numerator, denominator: parseSelector(s) };
      break;
    }
    case 'rate':
    case 'gauge':
      query = { fn, selector: parseSelector(s) };
      break;
    case 'quantile': {
      const quantile = s.number();
      if (!(quantile >= 0 && quantile <= 1)) s.fail(`quantile must be between 0 and 1 (got ${quantile})`);
      s.expect(',');
      query = { fn, quantile, selector: parseSelector(s) };
      break;
    }
    default:
      s.pos = 0;
      return s.fail(`unknown function ${JSON.stringify(fn)}; known: ${SCRAPE_FUNCTIONS.join(', ')}`);
  }
  s.expect(')');
  s.skipSpace();
  if (s.pos < text.length) s.fail('unexpected text after the query');
  return query;
}

/** Formats a selector back to text, for messages. */
export function formatSelector(selector: Selector): string {
  if (selector.matchers.length === 0) return selector.name;
  return `${selector.name}{${selector.matchers.map((m) => `${m.name}${m.op}${JSON.stringify(m.value)}`).join(',')}}`;
}

function select(exposition: Exposition, name: string, matchers: readonly Matcher[]): ExpositionSeries[] {
  return exposition.series.filter((s) => s.name === name && matchesAll(matchers, s.labels));
}

function seriesKey(labels: Record<string, string>, without?: string): string {
  return Object.keys(labels)
    .filter((k) => k !== without)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',');
}

/**
 * Increase of counter series between two scrapes, per series then summed.
 * A series absent at the start counts from zero (it was created in the window);
 * a value lower at the end than at the start is a counter reset (a restart),
 * so the end value is the increase, as PromQL's `increase` treats resets.
 *
 * @returns the summed increase, and how many series matched at the end (0 = no data).
 */
export function counterIncrease(
  start: readonly ExpositionSeries[],
  end: readonly ExpositionSeries[],
): { increase: number; series: number } {
  const before = new Map(start.map((s) => [seriesKey(s.labels), s.value]));
  let increase = 0;
  for (const s of end) {
    const previous = before.get(seriesKey(s.labels));
    if (previous === undefined || s.value < previous) increase += s.value;
    else increase += s.value - previous;
  }
  return { increase, series: end.length };
}

/** Cumulative bucket counts by upper bound (`le`), summed over series. */
type Buckets = Map<number, number>;

function bucketIncreases(start: readonly ExpositionSeries[], end: readonly ExpositionSeries[]): Buckets {
  const before = new Map(start.map((s) => [seriesKey(s.labels), s.value]));
  // A reset of one bucket series means the whole histogram series restarted: group by series without `le`.
  const resetGroups = new Set<string>();
  for (const s of end) {
    const previous = before.get(seriesKey(s.labels));
    if (previous !== undefined && s.value < previous) resetGroups.add(seriesKey(s.labels, 'le'));
  }
  const buckets: Buckets = new Map();
  for (const s of end) {
    const le = parsePromFloat(s.labels.le ?? '');
    if (le === undefined || Number.isNaN(le)) continue;
    const previous = before.get(seriesKey(s.labels));
    const delta = previous === undefined || resetGroups.has(seriesKey(s.labels, 'le')) ? s.value : s.value - previous;
    buckets.set(le, (buckets.get(le) ?? 0) + delta);
  }
  return buckets;
}

function addBuckets(into: Buckets, from: Buckets): void {
  for (const [le, count] of from) into.set(le, (into.get(le) ?? 0) + count);
}

/**
 * The `q` quantile of cumulative histogram buckets, interpolated linearly
 * within the bucket as Prometheus's `histogram_quantile` does: the lowest
 * bucket starts at 0 (when its bound is positive), a quantile falling in the
 * `+Inf` bucket returns the highest finite bound.
 *
 * @returns `NaN` when the histogram holds no observations or has no `+Inf` bucket.
 */
export function histogramQuantile(q: number, buckets: Buckets): number {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  if (bounds.length === 0 || bounds[bounds.length - 1] !== Infinity) return Number.NaN;
  // Cumulative counts must not decrease (they can after mixed resets): keep them monotonic.
  const counts: number[] = [];
  let running = 0;
  for (const b of bounds) {
    running = Math.max(running, buckets.get(b) ?? 0);
    counts.push(running);
  }
  const total = counts[counts.length - 1] as number;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let i = counts.findIndex((c) => c >= rank);
  if (i < 0) i = counts.length - 1;
  if (bounds[i] === Infinity) return bounds.length >= 2 ? (bounds[bounds.length - 2] as number) : Number.NaN;
  const upper = bounds[i] as number;
  const lower = i === 0 ? Math.min(0, upper) : (bounds[i - 1] as number);
  const countBelow = i === 0 ? 0 : (counts[i - 1] as number);
  const inBucket = (counts[i] as number) - countBelow;
  if (inBucket <= 0) return upper;
  return lower + (upper - lower) * ((rank - countBelow) / inBucket);
}

/** Two scrapes of one target: at the window start (absent for `gauge`) and at its end. */
export interface TargetScrapes {
  targetId: string;
  start?: { atMs: number; exposition: Exposition };
  end: { atMs: number; exposition: Exposition };
}

/** Outcome of evaluating a scrape query over a cohort. */
export type ScrapeEvaluation =
  | {
      ok: true;
      /** The cohort's value (see each function's rule). */
      value: number;
      /** Per-target values, in the order given (targets without data are left out). */
      samples: number[];
      /** Per-target values by target id. */
      perTarget: Map<string, number>;
      /** `ratio(A, B)`: ΣA increase (events) and ΣB increase (exposure) over the cohort. */
      counts?: { events: number; exposure: number };
    }
  | { ok: false; message: string };

/**
 * Evaluates a parsed query over a cohort's scrapes. Rules for the cohort value:
 *
 * - `ratio(A, B)`: ΣA increase / ΣB increase over every target (pooled), so a
 *   busy target weighs more; per target, its own A/B.
 * - `rate(A)`: per target, A's increase / seconds between its two scrapes;
 *   cohort = the mean per-target rate (cohorts of different sizes compare).
 * - `quantile(q, H)`: bucket increases of `H_bucket` summed over the cohort,
 *   then the quantile (seconds, if H is in seconds); per target, its own.
 * - `gauge(G)`: per target, the sum of matching series at the end scrape;
 *   cohort = the mean per target.
 *
 * `ok: false` when no target has data (no matching series, or a zero
 * denominator / no observations in the window): the caller reports no data.
 */
export function evaluateScrapeQuery(query: ScrapeQuery, targets: readonly TargetScrapes[]): ScrapeEvaluation {
  const perTarget = new Map<string, number>();
  const samples: number[] = [];
  const record = (id: string, v: number): void => {
    if (Number.isFinite(v)) {
      perTarget.set(id, v);
      samples.push(v);
    }
  };
  const noStart = targets.find((t) => t.start === undefined);
  if (query.fn !== 'gauge' && noStart) {
    return { ok: false, message: `no scrape of ${noStart.targetId} at the window start` };
  }

  switch (query.fn) {
    case 'ratio': {
      let num = 0;
      let den = 0;
      let matched = 0;
      for (const t of targets) {
        const start = t.start?.exposition as Exposition;
        const a = counterIncrease(
          select(start, query.numerator.name, query.numerator.matchers),
          select(t.end.exposition, query.numerator.name, query.numerator.matchers),
        );
        const b = counterIncrease(
          select(start, query.denominator.name, query.denominator.matchers),
          select(t.end.exposition, query.denominator.name, query.denominator.matchers),
        );
        if (b.series === 0) continue;
        matched++;
        num += a.increase;
        den += b.increase;
        if (b.increase > 0) record(t.targetId, a.increase / b.increase);
      }
      if (matched === 0) return { ok: false, message: `no series match ${formatSelector(query.denominator)}` };
      if (den === 0)
        return { ok: false, message: `${formatSelector(query.denominator)} did not increase in the window (0/0)` };
      return { ok: true, value: num / den, samples, perTarget, counts: { events: num, exposure: den } };
    }
    case 'rate': {
      for (const t of targets) {
        const start = t.start as NonNullable<TargetScrapes['start']>;
        const seconds = (t.end.atMs - start.atMs) / 1000;
        const inc = counterIncrease(
          select(start.exposition, query.selector.name, query.selector.matchers),
          select(t.end.exposition, query.selector.name, query.selector.matchers),
        );
        if (inc.series === 0 || seconds <= 0) continue;
        record(t.targetId, inc.increase / seconds);
      }
      if (samples.length === 0) return { ok: false, message: `no series match ${formatSelector(query.selector)}` };
      return { ok: true, value: mean(samples), samples, perTarget };
    }
    case 'quantile': {
      const bucketName = `${query.selector.name}_bucket`;
      const cohort: Buckets = new Map();
      let matched = 0;
      for (const t of targets) {
        const start = t.start?.exposition as Exposition;
        const end = select(t.end.exposition, bucketName, query.selector.matchers);
        if (end.length === 0) continue;
        matched++;
        const buckets = bucketIncreases(select(start, bucketName, query.selector.matchers), end);
        addBuckets(cohort, buckets);
        record(t.targetId, histogramQuantile(query.quantile, buckets));
      }
      if (matched === 0)
        return {
          ok: false,
          message: `no series match ${bucketName}${formatSelector({ name: '', matchers: query.selector.matchers })}`,
        };
      const value = histogramQuantile(query.quantile, cohort);
      if (!Number.isFinite(value))
        return { ok: false, message: `${query.selector.name} observed nothing in the window` };
      return { ok: true, value, samples, perTarget };
    }
    case 'gauge': {
      for (const t of targets) {
        const series = select(t.end.exposition, query.selector.name, query.selector.matchers);
        if (series.length === 0) continue;
        record(
          t.targetId,
          series.reduce((sum, s) => sum + s.value, 0),
        );
      }
      if (samples.length === 0) return { ok: false, message: `no series match ${formatSelector(query.selector)}` };
      return { ok: true, value: mean(samples), samples, perTarget };
    }
  }
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
