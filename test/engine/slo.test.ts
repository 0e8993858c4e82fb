/**
 * The engine's error-budget gate (spec `slo`) on the in-memory kit, with a fake Prometheus-type
 * MetricProvider that answers only the spec's two queries (any other query fails the test) from a
 * request rate and an error ratio that may depend on what the fleet runs: the gate before each
 * wave and at the end of each window, pause `ErrorBudgetBurn` with its evidence, the budget
 * counted since the rollout began (and from a `continue`), and `ErrorBudgetUnknown` when the
 * provider does not answer.
 */
import { describe, expect, it } from 'vitest';
import type { MeasureRequest, MetricProvider, ProviderResult } from '../../src/analysis/types.js';
import { decideOnSlo, renderSloQuery, sloSince } from '../../src/engine/slo.js';
import { Reasons } from '../../src/engine/reasons.js';
import type { SloSpec } from '../../src/spec/slo.js';
import type { RolloutSpec } from '../../src/spec/types.js';
import type { SloCheck } from '../../src/analysis/slo/types.js';
import { engineSpec, fleet, scenario, size, tier } from './kit/engine.js';

const MIN = 60_000;
const H = 60 * MIN;
const BAD = 'sum(increase(http_requests_total{code=~"5.."}[{{window}}]))';
const TOTAL = 'sum(increase(http_requests_total[{{window}}]))';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: MIN, h: H };

/** A fake Prometheus: `rps` requests a second of which `ratio()` fail, over whatever range is asked. */
function fakePrometheus(ratio: () => number, rps = 100) {
  const p = {
    type: 'prometheus',
    queries: [] as string[],
    down: false,
    /** No series for the bad query (no 5xx ever answered). */
    noBadSeries: false,
    /** The bad query answers NaN. */
    badNaN: false,
    measure(req: MeasureRequest): Promise<ProviderResult> {
      p.queries.push(req.query);
      if (p.down)
        return Promise.resolve({
          ok: false,
          verdict: 'error',
          message: 'prometheus at http://prom.test: connection refused',
        });
      const m = /\[(\d+)(ms|s|m|h)\]/.exec(req.query);
      const template = req.query.replace(/\[\d+(?:ms|s|m|h)\]/, '[{{window}}]');
      if (!m || (template !== BAD && template !== TOTAL)) throw new Error(`unexpected query ${req.query}`);
      const rangeMs = Number(m[1]) * UNITS[m[2]!]!;
      expect(req.window.endMs - req.window.startMs).toBe(rangeMs);
      const total = (rps * rangeMs) / 1000;
      if (template === BAD && p.badNaN)
        return Promise.resolve({ ok: false, verdict: 'inconclusive', message: 'value is NaN for {}' });
      if (template === BAD && p.noBadSeries)
        return Promise.resolve({ ok: false, verdict: 'inconclusive', message: 'empty result' });
      return Promise.resolve({ ok: true, value: template === BAD ? total * ratio() : total });
    },
  };
  return p satisfies MetricProvider;
}

function sloSpec(over: Partial<SloSpec> = {}): SloSpec {
  return {
    objective: 0.999,
    windowMs: 30 * 24 * H,
    bad: BAD,
    total: TOTAL,
    maxBudgetConsumed: 0.5,
    burnRates: [
      { longMs: H, shortMs: 5 * MIN, rate: 14.4 },
      { longMs: 6 * H, shortMs: 30 * MIN, rate: 6 },
    ],
    ...over,
  };
}

function given(n: number, slo: SloSpec, ratio: (s: ReturnType<typeof scenario>) => number, observeMs = 10 * MIN) {
  const spec: RolloutSpec = engineSpec(
    [tier('edge', {}, { canary: size(1), waves: size(2), observeMs, maxUnavailable: size(1) })],
    { slo },
  );
  const s = scenario({ spec, targets: fleet('edge', n) });
  const prom = fakePrometheus(() => ratio(s));
  s.analysis = prom;
  return { s, prom };
}

/** How many targets run the new version. */
function upgraded(s: ReturnType<typeof scenario>): number {
  return [...s.fleet.targets.values()].filter((t) => t.version === '1.1.0').length;
}

describe('the error-budget gate (engine)', () => {
  it('lets a good version through, checking before each wave and at the end of each window', async () => {
    const { s, prom } = given(3, sloSpec(), () => 0.0002);
    const r = await s.engine().run();
    expect(r.outcome).toBe('Healthy');
    const waves = s.state().waves;
    for (const w of waves) {
      expect(w.slo?.before?.verdict).toBe('pass');
      expect(w.slo?.after?.verdict).toBe('pass');
    }
    // Before the canary nothing was changed: no budget query, the long windows shortened to the short ones.
    const first = waves[0]!.slo!.before!;
    expect(first.budget).toEqual({ limit: 0.5, consumed: 0 });
    expect(first.burnRates.map((p) => [p.long.window, p.short.window])).toEqual([
      ['5m', '5m'],
      ['30m', '30m'],
    ]);
    // At the end of the canary's 10-minute window: the budget over the rollout's age, and 1h shortened to it.
    const after = waves[0]!.slo!.after!;
    expect(after.budget.measure?.window).toMatch(/^(10m|60\ds)$/);
    expect(after.budget.consumed).toBeCloseTo((0.2 * after.budget.measure!.windowMs) / (30 * 24 * H), 12);
    expect(after.burnRates[0]!.long.window).toBe(after.budget.measure!.window);
    expect(after.queries).toEqual({ bad: BAD, total: TOTAL });
    expect(prom.queries).toContain(renderSloQuery(BAD, 5 * MIN));
    expect(s.events.filter((e) => e.event === 'slo_checked')).toHaveLength(2 * waves.length);
  });

  it('pauses ErrorBudgetBurn at the end of the canary’s window when the new version burns 20× the budget', async () => {
    const { s } = given(3, sloSpec(), (sc) => (upgraded(sc) > 0 ? 0.02 : 0.0002));
    const r = await s.engine().run();
    expect([r.outcome, r.reason]).toEqual(['Paused', Reasons.ErrorBudgetBurn]);
    expect(r.message).toMatch(
      /error budget at the end of edge\/canary's window \(objective 99\.9% over 30d\): burn rate 20\.0× over/,
    );
    expect(r.message).toMatch(/--decision rollback/);
    const st = s.state();
    expect(st.condition?.reason).toBe('ErrorBudgetBurn');
    const canary = st.waves[0]!;
    expect(canary.slo?.after).toMatchObject({ verdict: 'fail', objective: 0.999, when: 'after' });
    expect(canary.slo?.after?.burnRates.map((p) => p.verdict)).toEqual(['fail', 'fail']);
    // The next wave did not start.
    expect(st.waves[1]?.phase ?? 'Pending').toBe('Pending');
    expect(upgraded(s)).toBe(1);
  });

  it('pauses when the rollout consumed more than maxBudgetConsumed since it began, below every burn rate (seed 004)', async () => {
    // A 1-hour objective at 99%: 3× burn for 10 minutes is half the budget; at 20 minutes, all of it.
    const slo = sloSpec({ objective: 0.99, windowMs: H, burnRates: [] });
    const { s } = given(3, slo, (sc) => (upgraded(sc) > 0 ? 0.04 : 0));
    const r = await s.engine().run();
    expect([r.outcome, r.reason]).toEqual(['Paused', Reasons.ErrorBudgetBurn]);
    const check = s.state().waves[0]!.slo!.after!;
    expect(check.budget.consumed).toBeGreaterThan(0.5);
    expect(check.message).toMatch(/the rollout consumed 6\d% of the error budget since/);
  });

  it('a continue accepts what was burnt: the budget is counted from the decision and the rollout goes on', async () => {
    const slo = sloSpec({ objective: 0.99, windowMs: H, burnRates: [] });
    let burning = true;
    const { s } = given(3, slo, (sc) => (burning && upgraded(sc) > 0 ? 0.04 : 0));
    const r = await s.engine().run();
    expect(r.reason).toBe(Reasons.ErrorBudgetBurn);
    burning = false;
    const resumed = await s.engine().resume('continue');
    expect(resumed.outcome).toBe('Healthy');
    const st = s.state();
    const decision = st.decisions.find((d) => d.decision === 'continue')!;
    const later = st.waves.at(-1)!.slo!.after!;
    expect(later.since).toBe(decision.at);
    expect(later.verdict).toBe('pass');
  });

  it('pauses ErrorBudgetUnknown before the canary when Prometheus does not answer, touching nothing; continue asks again', async () => {
    const { s, prom } = given(2, sloSpec(), () => 0);
    prom.down = true;
    const r = await s.engine().run();
    expect([r.outcome, r.reason]).toEqual(['Paused', Reasons.ErrorBudgetUnknown]);
    expect(r.message).toMatch(/error budget not measured before edge\/canary starts .*connection refused/);
    expect(upgraded(s)).toBe(0);
    expect(s.state().waves[0]!.phase).toBe('Pending');
    prom.down = false;
    expect((await s.engine().resume('continue')).outcome).toBe('Healthy');
  });

  it('preflight says what the gate would find now, recording nothing', async () => {
    const { s, prom } = given(2, sloSpec(), () => 0.02);
    const report = await s.engine().preflightReport();
    expect(report.slo).toMatchObject({ verdict: 'fail', when: 'before', budget: { limit: 0.5, consumed: 0 } });
    expect(report.slo?.message).toMatch(/before edge\/canary starts/);
    expect(prom.queries.length).toBeGreaterThan(0);
    // Nothing was written: preflight touches neither the fleet nor the state.
    expect(() => s.store.current()).toThrow(/nothing stored/);
    expect(upgraded(s)).toBe(0);
  });

  it('counts a bad query without series as 0 bad events when total has data, and says so', async () => {
    const { s, prom } = given(2, sloSpec(), () => 0);
    prom.noBadSeries = true;
    const r = await s.engine().run();
    expect(r.outcome).toBe('Healthy');
    expect(s.state().waves[0]!.slo!.after!.burnRates[0]!.short).toMatchObject({ bad: 0, badEmpty: true, burnRate: 0 });
  });

  it('never reads a NaN from the bad query as 0: ErrorBudgetUnknown', async () => {
    const { s, prom } = given(2, sloSpec(), () => 0);
    prom.badNaN = true;
    const r = await s.engine().run();
    expect([r.outcome, r.reason]).toEqual(['Paused', Reasons.ErrorBudgetUnknown]);
    expect(r.message).toMatch(/bad \(sum\(increase\(http_requests_total\{code=~"5\.\."\}\[5m\]\)\)\): value is NaN/);
  });
});

describe('decideOnSlo and sloSince (pure)', () => {
  const check = (verdict: SloCheck['verdict'], at = '2026-01-01T12:10:00.000Z') =>
    ({ verdict, at, message: 'm' }) as SloCheck;

  it('pass → nothing; fail → ErrorBudgetBurn; not measured → ErrorBudgetUnknown', () => {
    expect(decideOnSlo(check('pass'))).toBeUndefined();
    expect(decideOnSlo(check('fail'))).toMatchObject({ kind: 'pause', reason: 'ErrorBudgetBurn' });
    expect(decideOnSlo(check('inconclusive'))).toMatchObject({ kind: 'pause', reason: 'ErrorBudgetUnknown' });
  });

  it('counts from the rollout’s start, or from the last continue that followed a failed check', () => {
    const start = '2026-01-01T12:00:00.000Z';
    const waves = [{ id: 'w', phase: 'Failed' as const, targets: [], slo: { after: check('fail') } }];
    expect(sloSince(start, waves, [])).toBe(start);
    // A continue before the failure, or after a mere inconclusive check, does not move it.
    expect(sloSince(start, waves, [{ decision: 'continue', at: '2026-01-01T12:05:00.000Z' }])).toBe(start);
    const inconclusive = [{ ...waves[0]!, slo: { after: check('inconclusive') } }];
    expect(sloSince(start, inconclusive, [{ decision: 'continue', at: '2026-01-01T12:20:00.000Z' }])).toBe(start);
    expect(
      sloSince(start, waves, [
        { decision: 'continue', at: '2026-01-01T12:20:00.000Z' },
        { decision: 'rollback', at: '2026-01-01T12:30:00.000Z' },
      ]),
    ).toBe('2026-01-01T12:20:00.000Z');
  });
});
