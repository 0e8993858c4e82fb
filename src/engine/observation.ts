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
      const end = Date.parse(prevState.observeUntil);
      return { startMs: end - previous.observeMs, endMs: end };
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

  /**
   * Measures the wave's metrics over its observation window `[untilMs - observe, untilMs]`
   * (waiting while it is open; at once when it already elapsed).
   * @returns undefined when the spec has no analysis, the window is empty, or nothing was upgraded
   */
  async analyze(wave: PlannedWave, untilMs: number, signal: AbortSignal): Promise<AnalysisAssessment | undefined> {
    const c = this.c;
    const analysis = c.d.analysis;
    if (!analysis || !c.spec.analysis || wave.observeMs <= 0) return undefined;
    const { cohort, baseline } = this.cohorts(wave);
    if (cohort.targets.length === 0) return undefined;
    const window = { startMs: untilMs - wave.observeMs, endMs: untilMs };
    return analyzeWindow(c.spec.analysis, analysis.provider, {
      cohort,
      baseline,
      window,
      before: this.beforeWindow(wave),
      now: () => c.nowMs(),
      sleep: (ms) => c.d.clock.sleep(ms, signal),
      signal: c.d.signal ? AbortSignal.any([c.d.signal, signal]) : signal,
    });
  }

  /**
   * Keeps checking the wave's upgraded targets until `untilMs` (epoch ms) or until
   * `stop` aborts (the analysis concluded early).
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
    while (!c.aborted && !stop?.aborted) {
      const left = untilMs - c.nowMs();
      if (left <= 0) break;
      await c.d.clock.sleep(Math.min(interval, left), stop ?? c.d.signal);
      if (stop?.aborted) break;
      await check();
      checks++;
      if (turned.length > 0) break;
    }
    // A window that elapsed while no run was watching (deferred observation) gets one check at its end.
    if (checks === 0 && wave.observeMs > 0 && !c.aborted) await check();
    if (turned.length > 0) await c.persist();
    return turned;
  }
}
