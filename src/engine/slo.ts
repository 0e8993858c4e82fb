/**
 * The error-budget gate (spec `slo`): the engine's side. Before a wave starts
 * and at the end of its observation window, the gate counts the service's bad
 * and total events through the analysis provider (PromQL, `{{window}}` filled
 * with each range) and decides with `assessSlo` (pure): the budget consumed
 * since the rollout began, and each fast/slow burn-rate pair. Over the limit →
 * pause `ErrorBudgetBurn`; not measured → pause `ErrorBudgetUnknown` (never a
 * pass). Each check is recorded in the wave's state (`slo.before`/`slo.after`).
 * The same pattern as the alert gate (`alerts.ts`). See docs/slo.md.
 */
import { assessSlo, sloRanges, type SloCounts } from '../analysis/slo/budget.js';
import type { SloCheck } from '../analysis/slo/types.js';
import { formatPromDuration } from '../analysis/query.js';
import type { MetricProvider } from '../analysis/types.js';
import type { PlannedWave } from '../plan/types.js';
import type { MetricSpec } from '../spec/types.js';
import type { SloSpec } from '../spec/slo.js';
import type { DecisionRecord, WaveState } from '../state/types.js';
import type { EngineCore } from './core.js';
import { Messages, Reasons } from './reasons.js';
import type { Transition } from './transitions.js';

/** What the error-budget gate may call for: a pause. */
export type SloTransition = Extract<Transition, { kind: 'pause' }>;

/** What one check of the gate means for the rollout (pure): `pass` → nothing; else a pause. */
export function decideOnSlo(check: SloCheck): SloTransition | undefined {
  if (check.verdict === 'pass') return undefined;
  if (check.verdict === 'inconclusive')
    return { kind: 'pause', reason: Reasons.ErrorBudgetUnknown, message: Messages.errorBudgetUnknown(check.message) };
  return { kind: 'pause', reason: Reasons.ErrorBudgetBurn, message: Messages.errorBudgetBurn(check.message) };
}

/**
 * Where the budget is counted from (ISO): when the rollout began, or — once an operator
 * answered a pause of this gate with `continue` — that decision (what was burnt before it was
 * accepted). A `continue` counts when it came after a failed check recorded in any wave; every
 * check records where it counted from, so a later check that replaced the failed one keeps it.
 */
export function sloSince(
  startedAt: string,
  waves: readonly WaveState[],
  decisions: readonly Pick<DecisionRecord, 'decision' | 'at'>[],
): string {
  const checks = waves.flatMap((w) => [w.slo?.before, w.slo?.after]).filter((c): c is SloCheck => c !== undefined);
  const failedAt = checks.filter((c) => c.verdict === 'fail').map((c) => c.at);
  let since = startedAt;
  for (const c of checks) if (c.since > since) since = c.since;
  for (const d of decisions) {
    if (d.decision !== 'continue' || d.at <= since) continue;
    if (failedAt.some((at) => at <= d.at)) since = d.at;
  }
  return since;
}

/** What the provider says for a query that matched no series (see `decodeApiResponse`). */
const EMPTY_RESULT = 'empty result';

/** The metric a query is measured as: an instant query of one value (no statistics, no counts). */
function sloMetric(name: string, query: string): MetricSpec {
  return {
    name,
    query,
    severity: 'warning',
    noData: 'pause',
    intervalMs: 0,
    count: 1,
    failureLimit: 0,
    inconclusiveLimit: 0,
  };
}

/** The query with `{{window}}` filled with the range (`[5m]`). */
export function renderSloQuery(template: string, rangeMs: number): string {
  return template.replace(/\{\{\s*window\s*\}\}/g, formatPromDuration(rangeMs));
}

/**
 * Counts bad and total events over `[nowMs - rangeMs, nowMs]` with the provider. A multi-series
 * answer is summed. An empty bad answer with total events counted is 0 bad events (`badEmpty`: a
 * counter of 5xx answers has no series before the first one); any other failure says why.
 */
export async function countSloEvents(
  provider: MetricProvider,
  slo: Pick<SloSpec, 'bad' | 'total'>,
  rangeMs: number,
  nowMs: number,
  signal?: AbortSignal,
): Promise<SloCounts> {
  const window = { startMs: nowMs - rangeMs, endMs: nowMs };
  const cohort = { name: 'canary' as const, targets: [] };
  const ask = (name: string, template: string) => {
    const query = renderSloQuery(template, rangeMs);
    return provider.measure({ metric: sloMetric(name, query), query, cohort, window, ...(signal && { signal }) });
  };
  const [bad, total] = await Promise.all([ask('slo.bad', slo.bad), ask('slo.total', slo.total)]);
  if (!total.ok) return { ok: false, message: `total (${renderSloQuery(slo.total, rangeMs)}): ${total.message}` };
  const totalCount = total.samples ? total.samples.reduce((a, b) => a + b, 0) : total.value;
  if (!bad.ok) {
    // No series at all (the provider's "empty result", as its own event counts read it) is 0 bad
    // events once total counted something; a NaN, an error or a timeout is not.
    if (bad.verdict === 'inconclusive' && bad.message === EMPTY_RESULT && totalCount > 0)
      return { ok: true, bad: 0, total: totalCount, badEmpty: true };
    // Nothing counted at all: no events (assessSlo says so), whatever bad answered.
    if (totalCount === 0) return { ok: true, bad: 0, total: 0 };
    return { ok: false, message: `bad (${renderSloQuery(slo.bad, rangeMs)}): ${bad.message}` };
  }
  const badCount = bad.samples ? bad.samples.reduce((a, b) => a + b, 0) : bad.value;
  return { ok: true, bad: badCount, total: totalCount };
}

export class SloGuard {
  /** Waves whose check before they start passed in this run (a re-plan visits a wave again). */
  private readonly passedBefore = new Set<string>();

  constructor(private readonly c: EngineCore) {}

  /** True when the spec has an `slo` section. */
  get enabled(): boolean {
    return this.c.spec.slo !== undefined;
  }

  /**
   * Runs one check of the gate for `wave` (before it starts, or at the end of its window) and
   * records it in the wave's state (`slo.before` / `slo.after`).
   * @returns the pause it calls for (undefined: go on, or the gate is off)
   */
  async gate(wave: PlannedWave, when: 'before' | 'after'): Promise<SloTransition | undefined> {
    const slo = this.c.spec.slo;
    if (!slo) return undefined;
    const c = this.c;
    const ws = c.state.waves.find((w) => w.id === wave.id);
    if (!ws) return undefined;
    if (when === 'before' && this.passedBefore.has(wave.id)) return undefined;
    const check = await this.check(slo, wave.id, when);
    if (!check)
      return { kind: 'pause', reason: Reasons.Interrupted, message: 'interrupted during the error-budget gate' };
    ws.slo = { ...ws.slo, [when]: check };
    c.emit('slo_checked', {
      wave: wave.id,
      when,
      verdict: check.verdict,
      message: check.message,
      ...(check.budget.consumed !== undefined && { budgetConsumed: check.budget.consumed }),
    });
    await c.persist();
    if (when === 'before' && check.verdict === 'pass') this.passedBefore.add(wave.id);
    return decideOnSlo(check);
  }

  /**
   * Read-only, for `preflight`: what the gate would find before the next wave now. For a rollout
   * in progress (Progressing, Paused) the budget is counted as a run would count it; otherwise as
   * for a rollout starting now (burn rates only). Records nothing.
   * @returns the check, or undefined when the gate is off, nothing is planned, or the run stopped
   */
  async preview(): Promise<SloCheck | undefined> {
    const slo = this.c.spec.slo;
    const s = this.c.state;
    const next =
      this.c.plan.waves.find((w) => s.waves.find((x) => x.id === w.id)?.phase !== 'Completed') ?? this.c.plan.waves[0];
    if (!slo || !next) return undefined;
    const inProgress = s.phase === 'Progressing' || s.phase === 'Paused';
    return this.check(slo, next.id, 'before', !inProgress);
  }

  /**
   * Asks the provider for every range one check needs, concurrently, and decides. Records nothing.
   * @returns undefined when the run stopped while asking
   */
  private async check(
    slo: SloSpec,
    waveId: string,
    when: 'before' | 'after',
    fresh = false,
  ): Promise<SloCheck | undefined> {
    const c = this.c;
    const nowMs = c.nowMs();
    const startedAt = (!fresh && c.state.startedAt) || c.now();
    const sinceMs = fresh ? nowMs : Date.parse(sloSince(startedAt, c.state.waves, c.state.decisions));
    // Before the rollout changed anything it consumed nothing: only the burn rates are asked for.
    const changed = !fresh && Object.values(c.state.targets).some((t) => t.phase !== 'Pending' && t.skipped !== true);
    const ageMs = Math.max(0, nowMs - Date.parse(startedAt));
    const ranges = sloRanges(slo, ageMs, changed ? Math.max(0, nowMs - sinceMs) : undefined);
    const provider = c.d.analysis?.provider;
    const counts = new Map<number, SloCounts>();
    if (!provider || provider.type !== 'prometheus') {
      const message = `no prometheus provider to query (analysis.provider is ${provider?.type ?? 'absent'})`;
      for (const r of ranges) counts.set(r, { ok: false, message });
    } else {
      const answers = await Promise.all(ranges.map((r) => countSloEvents(provider, slo, r, nowMs, c.d.signal)));
      ranges.forEach((r, i) => counts.set(r, answers[i]!));
    }
    if (c.aborted) return undefined;
    return assessSlo({
      slo,
      when,
      wave: waveId,
      sinceMs,
      nowMs,
      ageMs,
      changed,
      counts,
      formatRange: formatPromDuration,
    });
  }
}
