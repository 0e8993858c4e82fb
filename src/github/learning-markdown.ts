/**
 * The pull request's plan comment learns from history like `fleetgate plan` (docs/history.md):
 * the estimated duration from the median of the spec's past rollouts, naming them, and any
 * wave-size suggestion (never applied), as Markdown.
 */
import type { PlanLearning } from '../app/plan-learning.js';
import { formatDurationMs } from '../plan/describe.js';
import { code, escapeMarkdown } from './markdown.js';

/**
 * The "Estimated duration" cell: `2s, from the median of 2 past rollouts (`1.2.0` on 2026-12-03, …)`,
 * or the spec's estimate saying so.
 */
export function estimateCell(l: PlanLearning): string {
  const e = l.estimate;
  if (!e)
    return `${formatDurationMs(l.specPlan.estimatedDurationMs)} (from the spec: no completed past rollout ran these waves as planned now)`;
  const n = e.rollouts.length;
  const named = e.rollouts
    .map((r) => `${code(r.to)}${r.startedAt ? ` on ${r.startedAt.slice(0, 10)}` : ''}`)
    .join(', ');
  const fromSpec = e.waves.filter((w) => w.source === 'spec').length;
  return `${formatDurationMs(e.estimatedDurationMs)}, from the median of ${n} past rollout${n === 1 ? '' : 's'} (${named})${
    fromSpec > 0 ? `; ${fromSpec} of ${e.waves.length} waves from the spec (new, or resized since)` : ''
  }; the spec's own: ${formatDurationMs(e.specDurationMs)}`;
}

/** One Markdown note per wave-size suggestion (empty when there are none). */
export function suggestionLines(l: PlanLearning): string[] {
  return l.suggestions.map((s) => `> [!TIP]\n> Wave size from history (not applied): ${escapeMarkdown(s.message)}`);
}
