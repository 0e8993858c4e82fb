/**
 * How the error-budget gate's evidence reads for people (`status`, the job
 * summary): percents and burn rates rounded, windows as sent to Prometheus.
 * The state keeps the exact ratios and counts.
 */
import { formatDuration } from '../../spec/duration.js';
import { formatObjective } from './budget.js';
import type { SloCheck, SloWindowMeasure } from './types.js';

/** The checks recorded for a wave, in the order they ran. */
export function sloChecksOf(wave: { slo?: { before?: SloCheck; after?: SloCheck } }): SloCheck[] {
  return [wave.slo?.before, wave.slo?.after].filter((c): c is SloCheck => c !== undefined);
}

/** A ratio of the budget as a percent for people: `0.6667` → `66.7%`, `0.00023` → `0.023%`. */
export function formatBudgetShare(ratio: number): string {
  const p = ratio * 100;
  if (p === 0) return '0%';
  return `${p >= 10 ? Number(p.toFixed(1)) : Number(p.toPrecision(2))}%`;
}

/** `20.0× (120/6000 bad over 10m)`, `0 bad of 6000 over 5m (no series)`, or why not measured. */
export function formatSloWindow(m: SloWindowMeasure): string {
  if (m.burnRate === undefined) return `${m.window}: not measured (${m.problem ?? 'no answer'})`;
  const rate = m.burnRate >= 10 ? m.burnRate.toFixed(1) : Number(m.burnRate.toPrecision(3)).toString();
  return `${rate}× over ${m.window} (${m.bad}/${m.total} bad${m.badEmpty ? ', no series for the bad query' : ''})`;
}

/** The objective line: `objective 99.9% over 30d, budget counted since <ISO>`. */
export function formatSloHeader(check: SloCheck): string {
  return `objective ${formatObjective(check.objective)} over ${formatDuration(check.windowMs)}, budget counted since ${check.since}`;
}

/** The budget line: `budget consumed 12.3% (limit 50%) — 20.0× over 10m (…)`, or that nothing was changed yet. */
export function formatSloBudget(check: SloCheck): string {
  const limit = formatBudgetShare(check.budget.limit);
  if (!check.budget.measure) return `budget consumed 0% (limit ${limit}): nothing changed yet`;
  const consumed = check.budget.consumed === undefined ? 'not measured' : formatBudgetShare(check.budget.consumed);
  return `budget consumed ${consumed} (limit ${limit}) — ${formatSloWindow(check.budget.measure)}`;
}

/** One line per fast/slow pair: `1h/5m ×14.4 (long used 10m): fail — 20.0× over 10m (…); 20.0× over 5m (…)`. */
export function formatSloPairs(check: SloCheck): string[] {
  return check.burnRates.map((p) => {
    const used = p.usedLongMs !== p.longMs ? ` (long shortened to ${p.long.window})` : '';
    return `${formatDuration(p.longMs)}/${formatDuration(p.shortMs)} ×${p.rate}${used}: ${p.verdict} — ${formatSloWindow(p.long)}; ${formatSloWindow(p.short)}`;
  });
}

/** Every line of a check for `status`, indented by `indent`: header, queries, budget, pairs. */
export function formatSloCheckLines(check: SloCheck, indent: string): string[] {
  return [
    `${indent}${formatSloHeader(check)} (at ${check.at})`,
    `${indent}bad: ${check.queries.bad}`,
    `${indent}total: ${check.queries.total}`,
    `${indent}${formatSloBudget(check)}`,
    ...formatSloPairs(check).map((l) => `${indent}burn ${l}`),
  ];
}
