/**
 * Runs one wave's analysis: measures every metric `count` times over the
 * observation window (waiting only while the window is still open), then
 * assesses the measurements into a verdict. See `docs/analysis.md`.
 *
 * How the engine uses it, per wave:
 *
 * 1. When the observation window opens (right after the wave's last target is
 *    verified), call {@link beginAnalysisWindow} — providers that sample both
 *    ends of the window (`scrape`) take their first sample now.
 * 2. Either start {@link analyzeWindow} at once (it sleeps with the engine's
 *    `sleep` until each measurement is due, so run it alongside the window's
 *    health checks), or call it after the window elapsed: it then measures
 *    every sub-window at once, without sleeping (Prometheus evaluates at the
 *    window end; `scrape` needs its scrapes to have been taken on time).
 */
import Table from 'cli-table3';
import type { MetricSpec } from '../spec/types.js';
import { assessAnalysis } from './assess.js';
import type { AnalysisAssessment, AnalyzeOptions, Comparison, Observation } from './extra-types.js';
import { formatValue } from './messages.js';
import { renderQuery } from './query.js';
import type { AnalysisSpec, AnalysisWindow, Cohort, Measurement, MetricProvider, ProviderResult } from './types.js';

/**
 * Splits the window into a metric's measurement sub-windows, in time order.
 *
 * - `count` 1: the whole window.
 * - `count` N > 1: N consecutive sub-windows ending at the window end, each
 *   `min(interval, window / N)` long, except the first, which reaches back
 *   to the window start — so together they cover the window exactly once.
 *
 * Pure. A window of zero length gives `count` copies of it.
 */
export function planEvaluations(
  metric: Pick<MetricSpec, 'count' | 'intervalMs'>,
  window: AnalysisWindow,
): AnalysisWindow[] {
  const count = Math.max(1, Math.floor(metric.count));
  const length = window.endMs - window.startMs;
  if (count === 1 || length <= 0) return Array.from({ length: count }, () => ({ ...window }));
  const step = Math.min(metric.intervalMs, length / count);
  const ends = Array.from({ length: count }, (_, k) => Math.round(window.endMs - (count - 1 - k) * step));
  return ends.map((endMs, k) => ({ startMs: k === 0 ? window.startMs : (ends[k - 1] as number), endMs }));
}

/** The `before` window used when none is given: the same length, ending when `window` starts. */
export function defaultBeforeWindow(window: AnalysisWindow): AnalysisWindow {
  return { startMs: 2 * window.startMs - window.endMs, endMs: window.startMs };
}

/** Maps a sub-window of `window` onto the same relative span of `before`. */
export function mapToBefore(sub: AnalysisWindow, window: AnalysisWindow, before: AnalysisWindow): AnalysisWindow {
  const length = window.endMs - window.startMs;
  const ratio = length > 0 ? (before.endMs - before.startMs) / length : 1;
  return {
    startMs: Math.round(before.startMs + (sub.startMs - window.startMs) * ratio),
    endMs: Math.round(before.startMs + (sub.endMs - window.startMs) * ratio),
  };
}

/**
 * Opens an observation window: calls the provider's `beginWindow` with the
 * canary cohort and the baseline cohort (when it has targets). Call it when
 * the window starts. Never throws.
 *
 * @returns `undefined`, or the error message when the provider threw (its measurements will then report `error`).
 */
export async function beginAnalysisWindow(
  provider: MetricProvider,
  opts: { cohort: Cohort; baseline?: Cohort; window: AnalysisWindow },
): Promise<string | undefined> {
  if (!provider.beginWindow) return undefined;
  const cohorts = [opts.cohort, opts.baseline].filter((c): c is Cohort => c !== undefined && c.targets.length > 0);
  try {
    await provider.beginWindow(cohorts, opts.window);
    return undefined;
  } catch (err) {
    return `${provider.type}.beginWindow failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}

async function safeMeasure(provider: MetricProvider, run: () => Promise<ProviderResult>): Promise<ProviderResult> {
  try {
    return await run();
  } catch (err) {
    // Providers never throw for backend failures; this is a bug, but the gate still holds (`error` is never a pass).
    return {
      ok: false,
      verdict: 'error',
      message: `${provider.type} provider failed unexpectedly: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

function render(
  template: string,
  targets: Cohort,
  baseline: Cohort | undefined,
  window: AnalysisWindow,
): { query: string } | { error: string } {
  try {
    return {
      query: renderQuery(template, {
        targets: targets.targets,
        baseline: baseline?.targets ?? [],
        windowMs: window.endMs - window.startMs,
      }),
    };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

interface Task {
  metric: MetricSpec;
  sub: AnalysisWindow;
}

async function observe(
  task: Task,
  provider: MetricProvider,
  opts: AnalyzeOptions,
  before: AnalysisWindow,
): Promise<Observation> {
  const { metric, sub } = task;
  const { cohort, baseline } = opts;
  const ids = cohort.targets.map((t) => t.id);
  const rendered = render(metric.query, cohort, baseline, sub);
  const query = 'query' in rendered ? rendered.query : metric.query;

  const measureCanary = async (): Promise<ProviderResult> => {
    if ('error' in rendered) return { ok: false, verdict: 'error', message: rendered.error };
    if (cohort.targets.length === 0)
      return { ok: false, verdict: 'error', message: 'the canary cohort has no targets' };
    const q = rendered.query;
    return safeMeasure(provider, () =>
      provider.measure({ metric, query: q, cohort, window: sub, ...(opts.signal && { signal: opts.signal }) }),
    );
  };

  const needsComparison = metric.maxIncreasePercent !== undefined || metric.statistical !== undefined;
  const measureComparison = async (): Promise<Comparison | undefined> => {
    if (!needsComparison) return undefined;
    let kind = metric.baseline?.cohort ?? 'stable';
    let note: string | undefined;
    if (kind === 'stable' && (baseline === undefined || baseline.targets.length === 0)) {
      kind = 'before';
      note = 'no target left on the old version: compared with the same targets before the wave';
    }
    const withNote = (c: Comparison): Comparison => (note !== undefined ? { ...c, note } : c);
    if (kind === 'stable') {
      const base = baseline as Cohort;
      const r = render(metric.query, base, base, sub);
      if ('error' in r) return { kind, result: { ok: false, verdict: 'error', message: r.error } };
      const result = await safeMeasure(provider, () =>
        provider.measure({
          metric,
          query: r.query,
          cohort: base,
          window: sub,
          ...(opts.signal && { signal: opts.signal }),
        }),
      );
      return { kind, result, query: r.query, cohort: base.targets.map((t) => t.id) };
    }
    const beforeSub = mapToBefore(sub, opts.window, before);
    if ('error' in rendered)
      return withNote({ kind, result: { ok: false, verdict: 'error', message: rendered.error } });
    if (cohort.targets.length === 0)
      return withNote({ kind, result: { ok: false, verdict: 'error', message: 'the canary cohort has no targets' } });
    const r = render(metric.query, cohort, baseline, beforeSub);
    if ('error' in r) return withNote({ kind, result: { ok: false, verdict: 'error', message: r.error } });
    const result = await safeMeasure(provider, () =>
      provider.measure({
        metric,
        query: r.query,
        cohort,
        window: beforeSub,
        ...(opts.signal && { signal: opts.signal }),
      }),
    );
    return withNote({ kind, result, query: r.query, cohort: ids });
  };

  const [result, comparison] = await Promise.all([measureCanary(), measureComparison()]);
  return { window: sub, query, cohort: ids, result, ...(comparison && { comparison }), atMs: opts.now() };
}

function abortable(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** Looks per window of a sequential metric whose `interval` is longer than a tenth of the window. */
export const SEQUENTIAL_LOOKS_PER_WINDOW = 10;

/**
 * The looks of a sequential metric (a `maxIncrease` judged on event counts): every
 * `min(interval, window / 10)` from the window start, the last one at the window end. Each look
 * measures from the window start to its own end (`{{window}}` grows), so it judges everything
 * since the window opened — Prometheus' `increase` needs a range of a few scrapes, which short
 * consecutive sub-windows would not have. Pure.
 */
export function planSequentialLooks(metric: Pick<MetricSpec, 'intervalMs'>, window: AnalysisWindow): AnalysisWindow[] {
  const length = window.endMs - window.startMs;
  if (length <= 0) return [{ ...window }];
  const step = Math.min(metric.intervalMs, length / SEQUENTIAL_LOOKS_PER_WINDOW);
  const looks: AnalysisWindow[] = [];
  for (let k = 1; ; k++) {
    const end = Math.round(window.startMs + k * step);
    if (end >= window.endMs - step / 2) break;
    looks.push({ startMs: window.startMs, endMs: end });
  }
  looks.push({ startMs: window.startMs, endMs: window.endMs });
  return looks;
}

/** One metric's schedule while a window is analysed. */
interface MetricPlan {
  metric: MetricSpec;
  /** Sub-windows still to measure, in time order. */
  queue: AnalysisWindow[];
  /** Judged on cumulative counts at every look (see `assess-sequential.ts`). */
  sequential: boolean;
  /** With `noData: wait`: the latest time a look may end. */
  deadlineMs: number;
  /** The last sub-window measured. */
  last?: AnalysisWindow;
}

/** Default of `maxWait` (ms) for `noData: wait`. */
const DEFAULT_MAX_WAIT_MS = 60 * 60 * 1000;

function isSequentialCandidate(metric: MetricSpec, provider: MetricProvider, opts: AnalyzeOptions): boolean {
  if (metric.maxIncreasePercent === undefined || metric.statistical !== undefined || metric.count !== 1) return false;
  // `before` (also a `stable` baseline with no target left) compares with a window that has passed:
  // looks there would need samples that `scrape` never took; keep one measurement per planned sub-window.
  const stable = (metric.baseline?.cohort ?? 'stable') === 'stable' && (opts.baseline?.targets.length ?? 0) > 0;
  if (!stable || !provider.countable) return false;
  const rendered = render(metric.query, opts.cohort, opts.baseline, opts.window);
  return 'query' in rendered && provider.countable(rendered.query);
}

/**
 * Analyses one wave's observation window and returns the verdict with every
 * measurement (`AnalysisResult` plus per-metric verdicts).
 *
 * Measurements are due at each sub-window's end ({@link planEvaluations});
 * while `now()` is before a due time it waits with `sleep`, so an elapsed
 * window is measured at once. Metrics due at the same time are measured
 * together. A relative or statistical metric also measures its comparison:
 * `stable` → the same query over `baseline` (the query rendered with the
 * baseline as `{{targets}}`), same sub-window; `before` → the same targets
 * over the matching part of `opts.before` (default {@link defaultBeforeWindow}).
 * A `stable` metric with no baseline targets left falls back to `before`, and
 * says so in its message.
 *
 * Sequential metrics (`maxIncrease` over a `stable` baseline, `count` 1, a query the
 * provider reports event counts for) are measured at every look of
 * {@link planSequentialLooks} and decided by the anytime-valid rate-ratio test on the
 * sums. With `stopEarly` (default false), a decided metric (a sequential test that decided, or
 * any metric failed more than its `failureLimit`) is not measured again and the analysis returns
 * as soon as every metric is decided or a critical metric failed (`endedEarly`); the caller must
 * then treat the window as ending there (for `before` windows and health observation). A pass counts only from
 * `spec.minWindowMs` after the window start.
 *
 * `noData: wait`: a metric whose last measurement had no data (or fewer events than
 * `minSamples`) — or a sequential metric not yet decided — is measured again every `interval`
 * past the window's end (a sequential metric with one more cumulative look, another metric over
 * its sub-window stretched to the new end) until it has data (is decided) or `maxWait` has passed.
 *
 * Aborting `opts.signal` stops waiting; measurements not taken are recorded as
 * `error` (so the verdict is never a pass).
 *
 * @throws RangeError when the window ends before it starts.
 */
export async function analyzeWindow(
  spec: AnalysisSpec,
  provider: MetricProvider,
  opts: AnalyzeOptions,
): Promise<AnalysisAssessment> {
  const { window } = opts;
  if (!(window.endMs >= window.startMs))
    throw new RangeError(`analysis window ends before it starts (${window.startMs} > ${window.endMs})`);
  const before = opts.before ?? defaultBeforeWindow(window);
  const stopEarly = opts.stopEarly ?? false;
  const passNotBeforeMs = window.startMs + (spec.minWindowMs ?? 0);
  const plans: MetricPlan[] = spec.metrics.map((metric) => {
    const sequential = isSequentialCandidate(metric, provider, opts);
    const queue = sequential ? planSequentialLooks(metric, window) : planEvaluations(metric, window);
    const wait = metric.noData === 'wait' && !(sequential && window.endMs <= window.startMs);
    return {
      metric,
      queue,
      sequential,
      deadlineMs: window.endMs + (wait ? (metric.maxWaitMs ?? DEFAULT_MAX_WAIT_MS) : 0),
    };
  });
  const observations = new Map<string, Observation[]>(spec.metrics.map((m) => [m.name, []]));
  const settled = new Set<MetricPlan>();
  let assessment: AnalysisAssessment | undefined;
  let endedEarly = false;
  let lastMs = opts.now();

  for (;;) {
    const active = plans.filter((p) => !settled.has(p) && p.queue.length > 0);
    if (active.length === 0) break;
    const dueMs = Math.min(...active.map((p) => (p.queue[0] as AnalysisWindow).endMs));
    const wait = dueMs - opts.now();
    if (wait > 0 && !opts.signal?.aborted) await abortable(opts.sleep(wait), opts.signal);
    if (opts.signal?.aborted) {
      const atMs = opts.now();
      for (const p of active) {
        for (const sub of p.queue.splice(0)) {
          observations.get(p.metric.name)?.push({
            window: sub,
            query: p.metric.query,
            cohort: opts.cohort.targets.map((x) => x.id),
            result: { ok: false, verdict: 'error', message: 'the analysis was aborted before this measurement' },
            atMs,
          });
        }
      }
      break;
    }
    const group = active.filter((p) => (p.queue[0] as AnalysisWindow).endMs === dueMs);
    const tasks = group.map((p) => ({ metric: p.metric, sub: p.queue.shift() as AnalysisWindow }));
    const results = await Promise.all(tasks.map((t) => observe(t, provider, opts, before)));
    results.forEach((obs, i) => {
      const p = group[i] as MetricPlan;
      observations.get(p.metric.name)?.push(obs);
      p.last = obs.window;
    });
    lastMs = opts.now();
    assessment = assessAnalysis(spec, observations, { passNotBeforeMs });
    let criticalFailure = false;
    plans.forEach((p, i) => {
      const m = assessment?.metrics[i];
      if (!m || settled.has(p)) return;
      // Decided: not measured again when the analysis may return early. Otherwise every look is still
      // taken, so a provider that samples both ends (scrape) has the window's end for the next wave's `before`.
      // A metric judged per measurement is decided only by failing more than failureLimit: no later
      // measurement undoes that, so it ends its part of the window too.
      if (stopEarly && m.decided && (p.sequential || m.verdict === 'fail')) {
        settled.add(p);
        if (m.verdict === 'fail' && p.metric.severity === 'critical') criticalFailure = true;
        return;
      }
      // noData: wait — measure again past the window until data come or the deadline passes.
      const last = p.last;
      // A sequential metric waits while undecided (too few events to decide is not enough data either).
      const wants = p.sequential ? !m.decided : m.waiting === true;
      if (p.queue.length === 0 && wants && last && last.endMs < p.deadlineMs && last.endMs >= window.endMs) {
        const endMs = Math.min(p.deadlineMs, last.endMs + Math.max(1, p.metric.intervalMs));
        // A sequential look is cumulative already; another metric's no-data measurement is replaced.
        if (!p.sequential) observations.get(p.metric.name)?.pop();
        p.queue.push({ startMs: last.startMs, endMs });
      }
    });
    if (stopEarly && criticalFailure) {
      endedEarly = true;
      break;
    }
  }
  for (const list of observations.values()) list.sort((a, b) => a.window.endMs - b.window.endMs);
  assessment = assessAnalysis(spec, observations, { passNotBeforeMs });
  if (plans.some((p) => p.queue.length > 0) && !opts.signal?.aborted) endedEarly = true;
  const waitedUntilMs = Math.max(...plans.map((p) => p.last?.endMs ?? 0));
  return {
    ...assessment,
    ...(endedEarly && { endedEarly }),
    decidedAtMs: lastMs,
    ...(waitedUntilMs > window.endMs && { waitedUntilMs }),
  };
}

function clock(iso: string): string {
  return iso.length >= 19 ? iso.slice(11, 19) : iso;
}

/**
 * Formats measurements as a text table for the CLI (no colours): metric,
 * verdict, value, baseline, threshold, window (UTC clock times), targets and
 * message. Values use three significant digits (see `formatValue`).
 */
export function formatMeasurements(measurements: readonly Measurement[]): string {
  const table = new Table({
    head: ['Metric', 'Verdict', 'Value', 'Baseline', 'Threshold', 'Window (UTC)', 'Targets', 'Message'],
    style: { head: [], border: [] },
  });
  for (const m of measurements) {
    const targets = m.cohort.length <= 3 ? m.cohort.join(', ') : `${m.cohort.length} targets`;
    table.push([
      m.metric,
      m.verdict,
      m.value !== undefined ? formatValue(m.value) : '-',
      m.baselineValue !== undefined ? formatValue(m.baselineValue) : '-',
      m.threshold,
      `${clock(m.window.start)}–${clock(m.window.end)}`,
      targets,
      m.message,
    ]);
  }
  return table.toString();
}
