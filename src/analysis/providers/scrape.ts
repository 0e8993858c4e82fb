/**
 * `scrape` provider, the embedded default (no Prometheus needed): reads every
 * target's own `/metrics` (Prometheus text format) when the observation window
 * opens (`beginWindow`) and again when it closes (`measure`), and evaluates a
 * small query language over the two scrapes (`../scrape-query.ts`). See
 * `docs/providers/scrape.md`.
 *
 * It keeps the last few scrapes of each target with their times; a window is
 * measured from the scrape nearest its start and the one nearest its end,
 * each within a tolerance of about 10% of the window (250 ms to 5 s, see
 * `scrapeTolerance`). It cannot
 * look back: a window whose end passed more than the tolerance ago can only
 * be measured if a scrape was taken then (Prometheus can; this cannot).
 */
import { parseExposition, type Exposition } from '../exposition.js';
import {
  attemptsSuffix,
  checkKnownKeys,
  configDurationMs,
  configHeaders,
  configInteger,
  configString,
  redactUrl,
  sendWithRetries,
  type RetryPolicy,
} from '../provider-support.js';
import { evaluateScrapeQuery, parseScrapeQuery, type ScrapeQuery, type TargetScrapes } from '../scrape-query.js';
import type { Target } from '../../spec/types.js';
import type {
  AnalysisWindow,
  Cohort,
  MeasureRequest,
  MetricProvider,
  ProviderDeps,
  ProviderFactory,
  ProviderResult,
} from '../types.js';
import { ConfigurationError } from '../../errors.js';

/** Registry key. */
export const type = 'scrape';

/** Settings the provider accepts. */
export const SCRAPE_SETTINGS = ['scheme', 'path', 'headers', 'timeout', 'retries', 'backoff', 'concurrency'] as const;

/** Defaults: `http://<address>/metrics`, 5 s per scrape, 1 retry after 200 ms, 32 scrapes at once. */
export const SCRAPE_DEFAULTS = {
  scheme: 'http',
  path: '/metrics',
  timeoutMs: 5000,
  retries: 1,
  backoffMs: 200,
  concurrency: 32,
} as const;

/** Scrapes kept per target (oldest dropped first): enough for a window's start, end and a `before` window. */
export const MAX_SCRAPES_PER_TARGET = 8;

/** Normalized settings. */
export interface ScrapeSettings {
  scheme: 'http' | 'https';
  /** Path of the metrics page, starting with `/`. */
  path: string;
  headers: Record<string, string>;
  policy: RetryPolicy;
  /** Targets scraped at once. */
  concurrency: number;
}

/**
 * Validates and normalizes the settings.
 *
 * @throws ConfigurationError on unknown settings or bad values.
 */
export function parseScrapeSettings(config: Record<string, unknown>, deps: ProviderDeps): ScrapeSettings {
  checkKnownKeys(type, config, SCRAPE_SETTINGS);
  const scheme = configString(type, config, 'scheme') ?? SCRAPE_DEFAULTS.scheme;
  if (scheme !== 'http' && scheme !== 'https')
    throw new ConfigurationError(
      `analysis.provider.${type}.scheme must be http or https (got ${JSON.stringify(scheme)})`,
    );
  const path = configString(type, config, 'path') ?? SCRAPE_DEFAULTS.path;
  if (!path.startsWith('/'))
    throw new ConfigurationError(`analysis.provider.${type}.path must start with "/" (got ${JSON.stringify(path)})`);
  return {
    scheme,
    path,
    headers: configHeaders(type, config, 'headers', deps.env, deps.mask),
    policy: {
      timeoutMs: configDurationMs(type, config, 'timeout', SCRAPE_DEFAULTS.timeoutMs),
      retries: configInteger(type, config, 'retries', SCRAPE_DEFAULTS.retries, 0, 10),
      backoffMs: configDurationMs(type, config, 'backoff', SCRAPE_DEFAULTS.backoffMs),
    },
    concurrency: configInteger(type, config, 'concurrency', SCRAPE_DEFAULTS.concurrency, 1, 1024),
  };
}

/** One scrape of one target: the parsed page, or why there is none. `pinned`: taken when a window opened. */
type Scrape = ({ atMs: number; exposition: Exposition } | { atMs: number; error: string }) & { pinned?: boolean };

/** Window-start scrapes kept per target besides the {@link MAX_SCRAPES_PER_TARGET} most recent ones. */
export const PINNED_SCRAPES_PER_TARGET = 2;

/**
 * Tolerance (ms) between a window bound and the scrape that stands for it:
 * 10% of the window, but at least a third of it up to 1 s (short windows on a
 * busy machine), never below 250 ms nor above 5 s.
 */
export function scrapeTolerance(window: AnalysisWindow): number {
  const length = Math.max(0, window.endMs - window.startMs);
  return Math.min(5000, Math.max(250, 0.1 * length, Math.min(1000, length / 3)));
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function keyOf(target: Target): string {
  return `${target.id}\u0000${target.address}`;
}

/** The `scrape` provider. Holds recent scrapes in memory (at most {@link MAX_SCRAPES_PER_TARGET} per target). */
export class ScrapeProvider implements MetricProvider {
  readonly type = type;
  private readonly scrapes = new Map<string, Scrape[]>();

  constructor(
    private readonly settings: ScrapeSettings,
    private readonly now: () => number,
  ) {}

  private async scrapeOne(target: Target, signal?: AbortSignal, pinned = false): Promise<Scrape> {
    const url = `${this.settings.scheme}://${target.address}${this.settings.path}`;
    // Stamped when the request is sent: the agent reads its counters then, not when the answer arrives.
    const atMs = this.now();
    const outcome = await sendWithRetries(
      { url, method: 'GET', headers: { accept: 'text/plain', ...this.settings.headers }, ...(signal && { signal }) },
      this.settings.policy,
    );
    const shown = redactUrl(url);
    let scrape: Scrape;
    if (!outcome.ok)
      scrape = { atMs, error: `${target.id} (${shown}): ${outcome.message}${attemptsSuffix(outcome.attempts)}` };
    else if (outcome.status !== 200)
      scrape = { atMs, error: `${target.id} (${shown}): HTTP ${outcome.status}${attemptsSuffix(outcome.attempts)}` };
    else {
      try {
        scrape = { atMs, exposition: parseExposition(outcome.body) };
      } catch (err) {
        scrape = { atMs, error: `${target.id} (${shown}): ${err instanceof Error ? err.message : String(err)}` };
      }
    }
    if (!(signal?.aborted ?? false)) {
      if (pinned) scrape.pinned = true;
      const list = this.scrapes.get(keyOf(target)) ?? [];
      list.push(scrape);
      // Drop the oldest scrapes beyond the most recent ones, but keep the last window starts: a window
      // measured in many looks (sequential tests) takes more scrapes than it keeps, and still needs its start.
      const recent = list.slice(-MAX_SCRAPES_PER_TARGET);
      const starts = list
        .slice(0, -MAX_SCRAPES_PER_TARGET)
        .filter((s) => s.pinned)
        .slice(-PINNED_SCRAPES_PER_TARGET);
      this.scrapes.set(keyOf(target), [...starts, ...recent]);
    }
    return scrape;
  }

  private nearest(target: Target, atMs: number, toleranceMs: number): Scrape | undefined {
    let best: Scrape | undefined;
    for (const s of this.scrapes.get(keyOf(target)) ?? []) {
      const d = Math.abs(s.atMs - atMs);
      if (d <= toleranceMs && (best === undefined || d < Math.abs(best.atMs - atMs))) best = s;
    }
    return best;
  }

  /**
   * Scrapes every target of the cohorts now; the scrapes stand for the start
   * of the window opening now (and for the end of any window ending now). Never throws: an
   * unreachable target is remembered and reported by `measure`.
   */
  async beginWindow(cohorts: Cohort[]): Promise<void> {
    const unique = new Map<string, Target>();
    for (const c of cohorts) for (const t of c.targets) unique.set(keyOf(t), t);
    await mapLimit([...unique.values()], this.settings.concurrency, (t) => this.scrapeOne(t, undefined, true));
  }

  /**
   * Measures the query over the cohort: the scrape nearest the window start
   * (taken by `beginWindow` or an earlier `measure`) and one at the window end
   * (taken now when the window just closed). Never throws.
   */
  async measure(req: MeasureRequest): Promise<ProviderResult> {
    let query: ScrapeQuery;
    try {
      query = parseScrapeQuery(req.query);
    } catch (err) {
      return { ok: false, verdict: 'error', message: err instanceof Error ? err.message : String(err) };
    }
    const targets = req.cohort.targets;
    if (targets.length === 0)
      return { ok: false, verdict: 'error', message: `the ${req.cohort.name} cohort has no targets` };
    const tol = scrapeTolerance(req.window);
    const now = this.now();
    const { startMs, endMs } = req.window;
    if (now < endMs - tol) {
      return {
        ok: false,
        verdict: 'error',
        message: `window ends at ${new Date(endMs).toISOString()}, measured ${Math.round((endMs - now) / 1000)}s too early`,
      };
    }
    const reuseMs = Math.min(tol, 1000);
    const fresh = now <= endMs + tol;
    const ends = await mapLimit(targets, this.settings.concurrency, async (t) => {
      const stored = this.nearest(t, endMs, fresh ? reuseMs : tol);
      if (stored) return stored;
      if (fresh) return this.scrapeOne(t, req.signal);
      return undefined;
    });
    if (req.signal?.aborted) return { ok: false, verdict: 'error', message: 'aborted' };
    const data: TargetScrapes[] = [];
    const errors: string[] = [];
    const missing: string[] = [];
    targets.forEach((t, i) => {
      const end = ends[i];
      if (end === undefined) {
        missing.push(`${t.id} at the window end (${new Date(endMs).toISOString()})`);
        return;
      }
      if ('error' in end) {
        errors.push(end.error);
        return;
      }
      const entry: TargetScrapes = { targetId: t.id, end: { atMs: end.atMs, exposition: end.exposition } };
      if (query.fn !== 'gauge') {
        const start = this.nearest(t, startMs, tol);
        if (start === undefined) {
          missing.push(`${t.id} at the window start (${new Date(startMs).toISOString()})`);
          return;
        }
        if ('error' in start) {
          errors.push(`${start.error} (at the window start)`);
          return;
        }
        entry.start = { atMs: start.atMs, exposition: start.exposition };
      }
      data.push(entry);
    });
    if (errors.length > 0) {
      const more = errors.length > 3 ? ` and ${errors.length - 3} more` : '';
      return { ok: false, verdict: 'error', message: `could not scrape ${errors.slice(0, 3).join('; ')}${more}` };
    }
    if (missing.length > 0) {
      const more = missing.length > 3 ? ` and ${missing.length - 3} more` : '';
      return {
        ok: false,
        verdict: 'error',
        message: `no scrape of ${missing.slice(0, 3).join('; ')}${more}: the scrape provider measures a window only from scrapes taken at its start (beginWindow) and its end`,
      };
    }
    const evaluation = evaluateScrapeQuery(query, data);
    if (!evaluation.ok) return { ok: false, verdict: 'inconclusive', message: evaluation.message };
    return {
      ok: true,
      value: evaluation.value,
      samples: evaluation.samples,
      ...(evaluation.counts && { counts: evaluation.counts }),
    };
  }

  /**
   * True when every target of `cohorts` has a scrape near the window start and, once the window's end
   * is more than the tolerance ago, one near its end (see {@link scrapeTolerance}): what `measure`
   * needs. A new process holds no scrapes, so it cannot measure a window an earlier run opened.
   */
  canMeasure(cohorts: Cohort[], window: AnalysisWindow): boolean {
    const tol = scrapeTolerance(window);
    const endPassed = this.now() > window.endMs + tol;
    return cohorts.every((c) =>
      c.targets.every(
        (t) =>
          this.nearest(t, window.startMs, tol) !== undefined &&
          (!endPassed || this.nearest(t, window.endMs, tol) !== undefined),
      ),
    );
  }

  /** `ratio(A, B)` queries report event counts (ΣA and ΣB increases). */
  countable(query: string): boolean {
    try {
      return parseScrapeQuery(query).fn === 'ratio';
    } catch {
      return false;
    }
  }
}

/**
 * Creates the provider.
 *
 * @throws ConfigurationError on bad settings (see {@link parseScrapeSettings}).
 */
export const createScrapeProvider: ProviderFactory = (config, deps) =>
  new ScrapeProvider(parseScrapeSettings(config, deps), deps.now);
