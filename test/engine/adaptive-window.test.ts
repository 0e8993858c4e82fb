/**
 * Adaptive observation windows (issue 11, part 2) and minimum samples through the engine (part 3),
 * on the in-memory kit: the tier's `observe` is the most a window lasts; it ends as soon as every
 * metric is decided (a 20%-error canary within its first look, a good one once a 2x regression is
 * ruled out), never before `analysis.minWindow`; inconclusive at the maximum pauses. The fake
 * provider answers any window, as Prometheus' range queries do, from event rates per cohort.
 */
import { describe, expect, it } from 'vitest';
import type {
  AnalysisWindow,
  Cohort,
  MeasureRequest,
  MetricProvider,
  ProviderResult,
} from '../../src/analysis/types.js';
import { observedUntilMs } from '../../src/engine/observation.js';
import { Reasons } from '../../src/engine/reasons.js';
import type { AnalysisSpec, MetricSpec, StrategySpec } from '../../src/spec/types.js';
import { engineSpec, fleet, scenario, size, tier } from './kit/engine.js';

const MIN = 60_000;
/** The tier's observe: the most a window lasts. */
const OBSERVE_MS = 10 * MIN;

/** Requests per second of each target, and the share of them that fail. */
interface Traffic {
  rps: number;
  errorRatio: number;
}

/**
 * A counting provider (a ratio of counters, like `sum(rate(5xx)) / sum(rate(all))`): each cohort's
 * events over a window are its targets × rps × seconds × errorRatio, exact. `traffic` may depend on
 * the window (traffic that starts late). `history: false` plays `scrape`: it can measure only windows
 * whose start it sampled itself (`beginWindow` in this process).
 */
function countingProvider(
  traffic: (cohort: Cohort['name'], window: AnalysisWindow) => Traffic,
  opts: { history?: boolean } = {},
): MetricProvider & { measured: MeasureRequest[]; begun: number[] } {
  const p = {
    type: 'fake',
    measured: [] as MeasureRequest[],
    begun: [] as number[],
    countable: () => true,
    beginWindow: (_cohorts: Cohort[], window: AnalysisWindow) => {
      p.begun.push(window.startMs);
      return Promise.resolve();
    },
    measure: (req: MeasureRequest): Promise<ProviderResult> => {
      p.measured.push(req);
      const t = traffic(req.cohort.name, req.window);
      const seconds = Math.max(0, (req.window.endMs - req.window.startMs) / 1000);
      const exposure = Math.round(t.rps * req.cohort.targets.length * seconds);
      const events = Math.round(exposure * t.errorRatio);
      return Promise.resolve({ ok: true, value: exposure > 0 ? events / exposure : 0, counts: { events, exposure } });
    },
    ...(opts.history === false && {
      canMeasure: (_cohorts: Cohort[], window: AnalysisWindow) => p.begun.includes(window.startMs),
    }),
  };
  return p;
}

const steady = (canary: Traffic, baseline: Traffic) => (cohort: Cohort['name']) =>
  cohort === 'canary' ? canary : baseline;

/** Seed 000's canary criterion as written: 5xx share, no increase > 10%, critical. */
function errorRate(overrides: Partial<MetricSpec> = {}): MetricSpec {
  return {
    name: 'error-rate',
    query: 'ratio(errors, requests)',
    maxIncreasePercent: 10,
    baseline: { cohort: 'stable' },
    severity: 'critical',
    noData: 'pause',
    intervalMs: 30_000,
    count: 1,
    failureLimit: 0,
    inconclusiveLimit: 0,
    ...overrides,
  };
}

function analysis(metrics: MetricSpec[], overrides: Partial<AnalysisSpec> = {}): AnalysisSpec {
  return { provider: { type: 'fake', config: {} }, noData: 'pause', metrics, ...overrides };
}

/** 10 targets in one tier: a canary of 1, then waves of 3; 10-minute windows, health every 30 s. */
function edge(a: AnalysisSpec, provider: MetricProvider, strategy: Partial<StrategySpec> = {}) {
  return scenario({
    spec: engineSpec(
      [
        tier(
          'edge',
          {},
          { canary: size(1), waves: size(3), observeMs: OBSERVE_MS, observeIntervalMs: 30_000, ...strategy },
        ),
      ],
      { analysis: a },
    ),
    targets: fleet('edge', 10),
    analysis: provider,
  });
}

/** The wave's window as the state records it: opened, planned end, real end, decided — ms since it opened. */
function windowOf(s: ReturnType<typeof edge>, id: string) {
  const ws = s.state().waves.find((w) => w.id === id)!;
  const end = Date.parse(ws.observeUntil!);
  const start = end - OBSERVE_MS;
  return {
    ws,
    observedMs: ws.observedUntil ? Date.parse(ws.observedUntil) - start : undefined,
    decidedMs: ws.decidedAt ? Date.parse(ws.decidedAt) - start : undefined,
  };
}

const GOOD = { rps: 200, errorRatio: 0.01 };

describe('adaptive observation windows', () => {
  it('given a 20%-error canary, then its window ends at the first look and it is rolled back well before the maximum', async () => {
    const s = edge(analysis([errorRate()]), countingProvider(steady({ rps: 200, errorRatio: 0.2 }, GOOD)));

    const r = await s.engine().run();

    expect(r).toMatchObject({ outcome: 'RolledBack' });
    expect(s.state().condition?.message).toMatch(/critical metric failed at edge\/canary: error-rate/);
    const w = windowOf(s, 'edge/canary');
    // interval 30 s: the first look, 30 s into a 10-minute window
    expect(w.observedMs).toBe(30_000);
    expect(w.decidedMs).toBe(30_000);
    const done = s.events.find((e) => e.event === 'analysis_completed' && e.wave === 'edge/canary')!;
    expect(done).toMatchObject({ verdict: 'fail', endedEarly: true, observedMs: 30_000, observeMs: OBSERVE_MS });
    expect(w.ws.analysis?.measurements[0]?.evidence).toMatchObject({ decision: 'fail', looks: 1 });
    // The canary's health was checked for the time observed: once, at its end.
    const checks = s.events.filter((e) => e.event === 'target_health_check' && e.during === 'observe');
    expect(checks.map((e) => e.target)).toEqual(['edge-1']);
    // Rolled back within a minute of the window opening, not after its 10 minutes.
    expect(s.clock.nowMs() - Date.parse(w.ws.observeUntil!)).toBeLessThan(-8 * MIN);
  });

  it('given a good canary with enough traffic, then each window with a baseline ends once a 2x regression is ruled out, before the maximum', async () => {
    const s = edge(analysis([errorRate()]), countingProvider(steady(GOOD, GOOD)));

    const r = await s.engine().run();

    expect(r.outcome).toBe('Healthy');
    const canary = windowOf(s, 'edge/canary');
    expect(canary.ws.analysis?.verdict).toBe('pass');
    expect(canary.observedMs).toBeGreaterThan(0);
    expect(canary.observedMs).toBeLessThan(OBSERVE_MS);
    expect(canary.ws.analysis?.measurements[0]?.evidence?.decision).toBe('pass');
    // The last wave has no baseline left (compared with `before`, one measurement at the end): full window.
    const last = windowOf(s, 'edge/3');
    expect(last.observedMs).toBe(OBSERVE_MS);
    const early = s.events.filter((e) => e.event === 'analysis_completed' && e.endedEarly === true);
    expect(early.map((e) => e.wave)).toEqual(['edge/canary', 'edge/1', 'edge/2']);
  });

  it('given a wave that ended early, then the next wave compares `before` with the window that was observed, not the planned one', async () => {
    const before = errorRate({ name: 'before-rate', baseline: { cohort: 'before' }, severity: 'warning' });
    const provider = countingProvider(steady(GOOD, GOOD));
    const s = edge(analysis([before]), provider);
    expect((await s.engine().run({ maxWaves: 1 })).reason).toBe(Reasons.WaveBoundary);
    // As if the canary's analysis had decided 4 minutes into its window.
    const opened = Date.parse(s.state().waves[0]!.observeUntil!) - OBSERVE_MS;
    s.store.overwrite((st) => {
      st.waves[0]!.observedUntil = new Date(opened + 4 * MIN).toISOString();
    });
    provider.measured.length = 0;

    expect((await s.engine().run({ maxWaves: 1 })).reason).toBe(Reasons.WaveBoundary);

    // edge/1's targets were measured over the canary's observed 4 minutes (their `before` window).
    const wave1 = s.state().waves.find((w) => w.id === 'edge/1')!.targets;
    const beforeWindows = provider.measured
      .filter((m) => m.cohort.targets.map((t) => t.id).join() === wave1.join() && m.window.endMs <= opened + OBSERVE_MS)
      .map((m) => m.window);
    expect(beforeWindows).toEqual([{ startMs: opened, endMs: opened + 4 * MIN }]);
  });

  it('given too little traffic to decide, then the window runs to its maximum and the rollout pauses (AnalysisInconclusive, never a pass)', async () => {
    const s = edge(
      analysis([errorRate()]),
      countingProvider(steady({ rps: 0.2, errorRatio: 0.001 }, { rps: 0.2, errorRatio: 0.001 })),
    );

    const r = await s.engine().run();

    expect(r).toMatchObject({ outcome: 'Paused', reason: Reasons.AnalysisInconclusive });
    const w = windowOf(s, 'edge/canary');
    expect(w.ws.analysis?.verdict).toBe('inconclusive');
    expect(w.observedMs).toBe(OBSERVE_MS);
    expect(s.state().waves.find((x) => x.id === 'edge/1')?.phase ?? 'Pending').toBe('Pending');
    // Health was checked every 30 s for the whole window.
    const checks = s.events.filter((e) => e.event === 'target_health_check' && e.during === 'observe');
    expect(checks.length).toBe(OBSERVE_MS / 30_000);
  });

  it('given minWindow, then a pass does not end the window before it, and a fail still ends it at once', async () => {
    const good = edge(analysis([errorRate()], { minWindowMs: 5 * MIN }), countingProvider(steady(GOOD, GOOD)));
    expect((await good.engine().run()).outcome).toBe('Healthy');
    const passed = windowOf(good, 'edge/canary');
    expect(passed.observedMs).toBe(5 * MIN);
    expect(passed.ws.analysis?.verdict).toBe('pass');

    const bad = edge(
      analysis([errorRate()], { minWindowMs: 5 * MIN }),
      countingProvider(steady({ rps: 200, errorRatio: 0.2 }, GOOD)),
    );
    expect((await bad.engine().run()).outcome).toBe('RolledBack');
    expect(windowOf(bad, 'edge/canary').observedMs).toBe(30_000);
  });

  it('given stopEarly: false, then every window runs its full observe even when decided at the first look', async () => {
    const s = edge(
      analysis([errorRate()], { stopEarly: false }),
      countingProvider(steady({ rps: 200, errorRatio: 0.2 }, GOOD)),
    );

    expect((await s.engine().run()).outcome).toBe('RolledBack');
    const w = windowOf(s, 'edge/canary');
    expect(w.observedMs).toBe(OBSERVE_MS);
    expect(w.ws.analysis?.measurements[0]?.evidence?.looks).toBe(1);
    expect(s.events.find((e) => e.event === 'analysis_completed')?.endedEarly).toBeUndefined();
  });

  it('given a metric judged per measurement that fails more than failureLimit, then its window ends at that measurement', async () => {
    const latency: MetricSpec = {
      name: 'latency',
      query: 'p99',
      threshold: { op: '<', value: 0.5 },
      severity: 'critical',
      noData: 'pause',
      intervalMs: MIN,
      count: 5,
      failureLimit: 0,
      inconclusiveLimit: 0,
    };
    const slow: MetricProvider = { type: 'fake', measure: () => Promise.resolve({ ok: true, value: 2 }) };
    const s = edge(analysis([latency]), slow);

    expect((await s.engine().run()).outcome).toBe('RolledBack');
    // five 1-minute sub-windows ending at 10 min: the first ends at 6 min, and fails
    expect(windowOf(s, 'edge/canary').observedMs).toBe(6 * MIN);
  });
});

describe('deferred evaluation (one job per wave)', () => {
  it('given a deferred window, when a later run evaluates it after it elapsed, then it records the look that decided and goes on', async () => {
    const provider = countingProvider(steady(GOOD, GOOD));
    const s = edge(analysis([errorRate()]), provider);

    const first = await s.engine().run({ deferObservation: true, maxWaves: 1 });
    expect(first).toMatchObject({ outcome: 'Progressing', reason: Reasons.ObservationWindowOpen });
    s.clock.jump(OBSERVE_MS + 1);
    const evaluatedAt = s.clock.nowMs();

    const later = await s.engine().run({ deferObservation: true, maxWaves: 0 });

    expect(later.reason).toBe(Reasons.WaveBoundary);
    const w = windowOf(s, 'edge/canary');
    expect(w.ws.phase).toBe('Completed');
    expect(w.ws.analysis?.verdict).toBe('pass');
    // Decided on the looks of the elapsed window, stopping at the one that decided.
    expect(w.observedMs).toBeLessThan(OBSERVE_MS);
    expect(Date.parse(w.ws.decidedAt!)).toBe(evaluatedAt);
    expect(s.eventNames()).not.toContain('analysis_window_reopened');
  });

  it('given a deferred window still open, when a later run finds the looks due so far decided it, then the wave completes before the maximum', async () => {
    const s = edge(analysis([errorRate()]), countingProvider(steady({ rps: 200, errorRatio: 0.2 }, GOOD)));
    expect((await s.engine().run({ deferObservation: true, maxWaves: 1 })).reason).toBe(Reasons.ObservationWindowOpen);
    s.clock.jump(2 * MIN);

    const later = await s.engine().run({ deferObservation: true, maxWaves: 0 });

    expect(later.outcome).toBe('RolledBack');
    const w = windowOf(s, 'edge/canary');
    expect(w.observedMs).toBe(30_000);
    expect(w.decidedMs).toBe(2 * MIN);
  });

  it('given a deferred window still open, when the looks due so far decide nothing, then it stays open for a later run and records no verdict', async () => {
    const provider = countingProvider(steady(GOOD, GOOD));
    const s = edge(analysis([errorRate()]), provider);
    expect((await s.engine().run({ deferObservation: true, maxWaves: 1 })).reason).toBe(Reasons.ObservationWindowOpen);
    s.clock.jump(15_000);

    const early = await s.engine().run({ deferObservation: true, maxWaves: 0 });

    expect(early.reason).toBe(Reasons.ObservationWindowOpen);
    const w = windowOf(s, 'edge/canary');
    expect(w.ws.phase).toBe('Observing');
    expect(w.ws.analysis).toBeUndefined();
    expect(provider.measured).toEqual([]);
  });

  it('given stopEarly: false, when a deferred run finds its window still open, then it does not evaluate it before the maximum', async () => {
    const s = edge(
      analysis([errorRate()], { stopEarly: false }),
      countingProvider(steady({ rps: 200, errorRatio: 0.2 }, GOOD)),
    );
    await s.engine().run({ deferObservation: true, maxWaves: 1 });
    s.clock.jump(5 * MIN);

    expect((await s.engine().run({ deferObservation: true, maxWaves: 0 })).reason).toBe(Reasons.ObservationWindowOpen);
  });

  it('given a provider that keeps no history (scrape), when a later run finds the window it did not open, then it re-opens the window and waits it out instead of pausing', async () => {
    const s = edge(analysis([errorRate()]), countingProvider(steady(GOOD, GOOD), { history: false }));
    expect((await s.engine().run({ deferObservation: true, maxWaves: 1 })).reason).toBe(Reasons.ObservationWindowOpen);
    const firstUntil = s.state().waves[0]!.observeUntil!;
    // A new process (a new job): the provider holds nothing of the window. It runs after the window.
    s.analysis = countingProvider(steady(GOOD, GOOD), { history: false });
    s.clock.jump(OBSERVE_MS + 5_000);
    const reopenedAt = s.clock.nowMs();

    const later = await s.engine().run({ deferObservation: true, maxWaves: 0 });

    expect(later.reason).toBe(Reasons.WaveBoundary);
    const w = windowOf(s, 'edge/canary');
    expect(w.ws).toMatchObject({ phase: 'Completed', reopened: 1 });
    expect(w.ws.analysis?.verdict).toBe('pass');
    expect(Date.parse(w.ws.observeUntil!)).toBe(reopenedAt + OBSERVE_MS);
    const reopened = s.events.find((e) => e.event === 'analysis_window_reopened')!;
    expect(reopened).toMatchObject({ wave: 'edge/canary', previousUntil: firstUntil, until: w.ws.observeUntil });
    expect(s.state().condition?.reason).not.toBe(Reasons.AnalysisInconclusive);
  });

  it('given a provider that keeps no history, when the run that opened the window evaluates it, then nothing is re-opened', async () => {
    const s = edge(analysis([errorRate()]), countingProvider(steady(GOOD, GOOD), { history: false }));

    expect((await s.engine().run()).outcome).toBe('Healthy');
    expect(s.eventNames()).not.toContain('analysis_window_reopened');
    expect(s.state().waves.every((w) => w.reopened === undefined)).toBe(true);
  });
});

describe('minimum samples and noData: wait through the engine', () => {
  /** A per-measurement ratio with an absolute threshold: one measurement at the window end. */
  function share(overrides: Partial<MetricSpec> = {}): MetricSpec {
    return {
      name: 'error-share',
      query: 'ratio(errors, requests)',
      threshold: { op: '<', value: 0.05 },
      severity: 'critical',
      noData: 'pause',
      intervalMs: MIN,
      count: 1,
      failureLimit: 0,
      inconclusiveLimit: 0,
      minSamples: 10_000,
      ...overrides,
    };
  }

  /** 1% errors on 2 requests/s per target: the canary sees 1,200 requests in 10 minutes. */
  const thin = countingProvider(steady({ rps: 2, errorRatio: 0.01 }, { rps: 2, errorRatio: 0.01 }));

  it('given fewer events than minSamples at the maximum, then noData applies: pause (AnalysisInconclusive), never a verdict on the few', async () => {
    const s = edge(analysis([share()]), thin);

    const r = await s.engine().run();

    expect(r).toMatchObject({ outcome: 'Paused', reason: Reasons.AnalysisInconclusive });
    expect(windowOf(s, 'edge/canary').observedMs).toBe(OBSERVE_MS);
  });

  it('given noData: wait, then the window holds past its maximum until the traffic floor is reached, with health checked all along', async () => {
    // 20 requests/s per target: 10,000 requests after 500 s: but the metric is measured at the end.
    // Traffic starts only 12 minutes after the window opened (a quiet hour), at 20 requests/s.
    let opened: number | undefined;
    const late = countingProvider((_cohort, window) => {
      opened ??= window.startMs;
      return { rps: 0, errorRatio: 0 };
    });
    late.measure = (req) => {
      late.measured.push(req);
      const start = Math.max(req.window.startMs, (opened ?? req.window.startMs) + 12 * MIN);
      const seconds = Math.max(0, (req.window.endMs - start) / 1000);
      const exposure = Math.round(20 * req.cohort.targets.length * seconds);
      return Promise.resolve({ ok: true, value: 0.01, counts: { events: Math.round(exposure * 0.01), exposure } });
    };
    const s = edge(analysis([share({ noData: 'wait', maxWaitMs: 30 * MIN })]), late);

    const r = await s.engine().run({ maxWaves: 1 });

    expect(r.reason).toBe(Reasons.WaveBoundary);
    const w = windowOf(s, 'edge/canary');
    expect(w.ws.analysis?.verdict).toBe('pass');
    // 12 minutes of nothing, then 10,000 requests at 20/s = 500 s: measured each minute past the end → 21 min.
    expect(w.observedMs).toBe(21 * MIN);
    const done = s.events.find((e) => e.event === 'analysis_completed')!;
    expect(done.waitedUntil).toBe(w.ws.observedUntil);
    const checks = s.events.filter((e) => e.event === 'target_health_check' && e.during === 'observe');
    expect(checks.length).toBeGreaterThan(OBSERVE_MS / 30_000);
  });

  it('given noData: wait and traffic that never reaches the floor, then it stops at maxWait and pauses (AnalysisInconclusive)', async () => {
    const s = edge(analysis([share({ noData: 'wait', maxWaitMs: 5 * MIN })]), thin);

    const r = await s.engine().run();

    expect(r).toMatchObject({ outcome: 'Paused', reason: Reasons.AnalysisInconclusive });
    expect(windowOf(s, 'edge/canary').observedMs).toBe(OBSERVE_MS + 5 * MIN);
  });
});

describe('observedUntilMs', () => {
  const end = Date.UTC(2026, 0, 1, 12, 10);
  const at = (ms: number) => ({ window: { start: '', end: new Date(ms).toISOString() } });

  it('is the planned end unless the analysis ended early or waited past it', () => {
    expect(observedUntilMs({ measurements: [at(end - MIN)] as never }, end)).toBe(end);
    expect(observedUntilMs({ measurements: [at(end - 3 * MIN), at(end - MIN)] as never, endedEarly: true }, end)).toBe(
      end - MIN,
    );
    expect(observedUntilMs({ measurements: [] as never, endedEarly: true }, end)).toBe(end);
    expect(observedUntilMs({ measurements: [at(end)] as never, waitedUntilMs: end + 5 * MIN }, end)).toBe(
      end + 5 * MIN,
    );
  });

  it('never says a window that ran to its end ended early: a metric settled early with another still looking', async () => {
    const latency: MetricSpec = {
      name: 'latency',
      query: 'p99',
      threshold: { op: '<', value: 0.5 },
      severity: 'warning',
      noData: 'pause',
      intervalMs: MIN,
      count: 5,
      failureLimit: 0,
      inconclusiveLimit: 0,
    };
    const counting = countingProvider(steady({ rps: 0.2, errorRatio: 0.001 }, { rps: 0.2, errorRatio: 0.001 }));
    const provider: MetricProvider = {
      type: 'fake',
      countable: () => true,
      measure: (req) =>
        req.metric.name === 'latency' ? Promise.resolve({ ok: true, value: 2 }) : counting.measure(req),
    };
    const s = edge(analysis([errorRate(), latency]), provider);

    expect((await s.engine().run()).reason).toBe(Reasons.AnalysisFailed);
    expect(windowOf(s, 'edge/canary').observedMs).toBe(OBSERVE_MS);
    expect(s.events.find((e) => e.event === 'analysis_completed')?.endedEarly).toBeUndefined();
  });
});

describe('health during an adaptive window', () => {
  it('given a target that turns unhealthy while noData: wait holds the window, then the window ends at once (ObservationFailed)', async () => {
    const s = edge(
      analysis([errorRate({ noData: 'wait', maxWaitMs: 60 * MIN })]),
      countingProvider(steady({ rps: 0.2, errorRatio: 0.001 }, { rps: 0.2, errorRatio: 0.001 })),
    );
    s.fleet.on(
      (c) => c.kind === 'undrain' && c.target === 'edge-1',
      () => s.fleet.set('edge-1', { healthy: false }),
    );

    const r = await s.engine().run();

    expect(r).toMatchObject({ outcome: 'Paused', reason: Reasons.ObservationFailed });
    // Paused at the first health check (30 s), not after the window nor its hour of waiting.
    const opened = Date.parse(s.state().waves[0]!.observeUntil!) - OBSERVE_MS;
    expect(s.clock.nowMs() - opened).toBeLessThan(MIN);
  });
});
