/**
 * The observation window after a wave: the wave's upgraded targets are health
 * checked every `observeInterval`, and the spec's metrics are analysed over the
 * window (canary cohort against the baseline of the tier's untouched targets).
 */
import { analyzeWindow, beginAnalysisWindow } from '../analysis/analyze.js';
import type { AnalysisAssessment } from '../analysis/extra-types.js';
import type { AnalysisWindow, Cohort } from '../analysis/types.js';
import type { PlannedWave } from '../plan/types.js';
import type { EngineCore } from './core.js';
import { pool } from './pool.js';

/** Longest one health re-check of the observation window may take (ms). */
const OBSERVE_PROBE_TIMEOUT_MS = 10_000;

export class Observer {
  constructor(private readonly c: EngineCore) {}

  /** Canary cohort (the wave's upgraded targets) and baseline (its tier's targets not yet touched). */
  cohorts(wave: PlannedWave): { cohort: Cohort; baseline?: Cohort } {
    const c = this.c;
    const s = c.state;
    const cohort: Cohort = {
      name: 'canary',
      targets: wave.targets.filter((id) => s.targets[id]?.phase === 'Succeeded').map((id) => c.target(id)),
    };
    const tier = c.plan.tiers.find((t) => t.name === wave.tier);
    const excluded = new Set(tier?.excluded ?? []);
    const stable = (tier?.targets ?? []).filter(
      (id) => !excluded.has(id) && (s.targets[id]?.phase ?? 'Pending') === 'Pending',
    );
    return {
      cohort,
      baseline: stable.length > 0 ? { name: 'baseline', targets: stable.map((id) => c.target(id)) } : undefined,
    };
  }

  /**
   * The window `baseline: {cohort: before}` compares with: the previous wave's observation
   * window in the same tier (this wave's targets were in its baseline, and `scrape` kept those
   * samples), else the window of the same length ending when this wave started.
   */
  private beforeWindow(wave: PlannedWave): AnalysisWindow | undefined {
    const c = this.c;
    const previous = c.plan.waves.filter((w) => w.tier === wave.tier && w.index < wave.index).at(-1);
    const prevState = previous && c.state.waves.find((w) => w.id === previous.id);
    if (previous && prevState?.observeUntil && previous.observeMs > 0) {
      // Opened `observe` before its planned end; it may have ended early (or waited past it).
      const startMs = Date.parse(prevState.observeUntil) - previous.observeMs;
      const endMs = prevState.observedUntil ? Date.parse(prevState.observedUntil) : startMs + previous.observeMs;
      return { startMs, endMs };
    }
    const started = c.state.waves.find((w) => w.id === wave.id)?.startedAt;
    if (!started) return undefined;
    const start = Date.parse(started);
    return { startMs: start - wave.observeMs, endMs: start };
  }

  /** Opens the analysis window (providers that sample both ends take their first sample). */
  async beginAnalysis(wave: PlannedWave, untilMs: number): Promise<void> {
    const analysis = this.c.d.analysis;
    if (!analysis || wave.observeMs <= 0) return;
    const problem = await beginAnalysisWindow(analysis.provider, {
      ...this.cohorts(wave),
      window: { startMs: untilMs - wave.observeMs, endMs: untilMs },
    });
    if (problem) this.c.emit('analysis_warning', { wave: wave.id, message: problem });
  }

  /** Whether {@link analyze} will measure this wave (the spec has analysis, the window is not empty, something was upgraded). */
  analyzes(wave: PlannedWave): boolean {
    const c = this.c;
    return (
      c.d.analysis !== undefined &&
      c.spec.analysis !== undefined &&
      wave.observeMs > 0 &&
      this.cohorts(wave).cohort.targets.length > 0
    );
  }

  /**
   * Whether the provider can still measure the wave's window `[untilMs - observe, untilMs]` (epoch ms).
   * False only for a provider that keeps no history (`scrape`) and holds no sample of that window's
   * start, or of its end once the end passed: an earlier run opened it, then was interrupted or deferred it.
   */
  canMeasure(wave: PlannedWave, untilMs: number): boolean {
    const provider = this.c.d.analysis?.provider;
    if (!provider?.canMeasure || !this.analyzes(wave)) return true;
    const { cohort, baseline } = this.cohorts(wave);
    const cohorts = baseline ? [cohort, baseline] : [cohort];
    return provider.canMeasure(cohorts, { startMs: untilMs - wave.observeMs, endMs: untilMs });
  }

  /**
   * Measures the wave's metrics over its observation window `[untilMs - observe, untilMs]`
   * (waiting while it is open; at once when it already elapsed). Unless the spec says
   * `analysis.stopEarly: false`, it returns as soon as every metric is decided (`endedEarly`;
   * see {@link observedUntilMs} for where the window then ended).
   * @returns undefined when the spec has no analysis, the window is empty, or nothing was upgraded
   */
  async analyze(wave: PlannedWave, untilMs: number, signal: AbortSignal): Promise<AnalysisAssessment | undefined> {
    const c = this.c;
    const analysis = c.d.analysis;
    if (!analysis || !c.spec.analysis || !this.analyzes(wave)) return undefined;
    const { cohort, baseline } = this.cohorts(wave);
    const window = { startMs: untilMs - wave.observeMs, endMs: untilMs };
    return analyzeWindow(c.spec.analysis, analysis.provider, {
      cohort,
      baseline,
      window,
      before: this.beforeWindow(wave),
      now: () => c.nowMs(),
      sleep: (ms) => c.d.clock.sleep(ms, signal),
      signal: c.d.signal ? AbortSignal.any([c.d.signal, signal]) : signal,
      stopEarly: c.spec.analysis.stopEarly !== false,
    });
  }

  /**
   * For a window still open when a run would defer it: analyses the looks already due (never waits)
   * and returns the assessment only when they decided every metric, as a live run would have
   * (`analysis.stopEarly`, default true). Undefined otherwise — also for a provider that keeps no
   * history (`scrape`: it measures only live) — and the window stays open for a later run.
   */
  async decidedSoFar(wave: PlannedWave, untilMs: number): Promise<AnalysisAssessment | undefined> {
    const c = this.c;
    const analysis = c.d.analysis;
    if (!analysis || !c.spec.analysis || c.spec.analysis.stopEarly === false || !this.analyzes(wave)) return undefined;
    if (analysis.provider.canMeasure) return undefined;
    // The first look not due yet ends this evaluation: it would have to wait.
    const notDue = new AbortController();
    const { cohort, baseline } = this.cohorts(wave);
    const result = await analyzeWindow(c.spec.analysis, analysis.provider, {
      cohort,
      baseline,
      window: { startMs: untilMs - wave.observeMs, endMs: untilMs },
      before: this.beforeWindow(wave),
      now: () => c.nowMs(),
      sleep: () => {
        notDue.abort();
        return Promise.resolve();
      },
      signal: c.d.signal ? AbortSignal.any([c.d.signal, notDue.signal]) : notDue.signal,
      stopEarly: true,
    });
    return !notDue.signal.aborted && !c.aborted && result.endedEarly === true ? result : undefined;
  }

  /**
   * Keeps checking the wave's upgraded targets until `untilMs` (epoch ms; `Infinity` while an
   * analysis decides when the window ends) or until `stop` aborts (the analysis concluded).
   * @returns ids that turned unhealthy (marked Failed, left as they are for a decision)
   */
  async observe(wave: PlannedWave, desired: string, untilMs: number, stop?: AbortSignal): Promise<string[]> {
    const c = this.c;
    const s = c.state;
    const interval = c.tierOf(wave).strategy.observeIntervalMs;
    const ids = wave.targets.filter((id) => s.targets[id]?.phase === 'Succeeded');
    const turned: string[] = [];
    const probeStep = (id: string) => {
      const verify = c.stepsFor(id).verify;
      return { ...verify, retries: 0, timeoutMs: Math.min(verify.timeoutMs, OBSERVE_PROBE_TIMEOUT_MS) };
    };
    const check = async () => {
      await pool(
        ids,
        c.d.probeConcurrency ?? 16,
        () => false,
        async (id) => {
          if (turned.includes(id)) return;
          const r = await c.d.runner.run(probeStep(id), c.vars(c.target(id), desired), { signal: c.d.signal });
          c.emit('target_health_check', {
            wave: wave.id,
            target: id,
            healthy: r.ok,
            during: 'observe',
            message: r.ok ? undefined : r.message,
          });
          if (!r.ok) {
            turned.push(id);
            const ts = s.targets[id]!;
            ts.step = 'observe';
            ts.phase = 'Failed';
            ts.message = `unhealthy during the observation window: ${r.message}`;
            ts.finishedAt = c.now();
            c.emit('target_failed', { wave: wave.id, target: id, step: 'observe', message: ts.message });
          }
        },
      );
    };
    let checks = 0;
    let lastCheckMs = -Infinity;
    while (!c.aborted && !stop?.aborted) {
      const left = untilMs - c.nowMs();
      if (left <= 0) break;
      await c.d.clock.sleep(Math.min(interval, left), stop ?? c.d.signal);
      if (stop?.aborted) break;
      await check();
      checks++;
      lastCheckMs = c.nowMs();
      if (turned.length > 0) break;
    }
    // The window's end gets a check of its own: one that elapsed while no run was watching (deferred
    // observation), and one the analysis ended (early, or at its end) between two checks.
    const endedBetweenChecks = stop?.aborted === true && lastCheckMs < c.nowMs();
    if ((checks === 0 || endedBetweenChecks) && turned.length === 0 && wave.observeMs > 0 && !c.aborted) await check();
    if (turned.length > 0) await c.persist();
    return turned;
  }
}

/**
 * Where an analysed window really ended (epoch ms): when the analysis decided early, the end of
 * the latest measurement its verdict covers; when `noData: wait` held it past the planned end,
 * where the waiting stopped; else the planned end. Pure.
 */
export function observedUntilMs(
  analysis: Pick<AnalysisAssessment, 'measurements' | 'endedEarly' | 'waitedUntilMs'>,
  plannedEndMs: number,
): number {
  if (analysis.waitedUntilMs !== undefined) return analysis.waitedUntilMs;
  if (!analysis.endedEarly) return plannedEndMs;
  const ends = analysis.measurements.map((m) => Date.parse(m.window.end)).filter((t) => Number.isFinite(t));
  return ends.length > 0 ? Math.min(plannedEndMs, Math.max(...ends)) : plannedEndMs;
}
