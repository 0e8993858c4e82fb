/**
 * A small timeline of the rollout for the GitHub job summary, which renders mermaid:
 * a gantt chart on a real time axis with the same spans as the report (steps,
 * observation windows, pauses, a rollback) and its approvals, decisions and breaker
 * trips as milestones. Pure: state in, Markdown out.
 */
import type { RolloutState } from '../state/types.js';
import { buildReportModel } from './model.js';

/** Most rows drawn (the report has all of them). */
const MAX_ROWS = 14;

/** A task name mermaid accepts: no `:`, `#`, `;` or line breaks. */
function label(text: string): string {
  return (
    text
      .replace(/[:#;\n\r]/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 60) || '-'
  );
}

/**
 * The rollout as a mermaid gantt chart in a fenced block.
 * @returns `undefined` when nothing has a time yet (no wave started)
 */
export function renderMermaidTimeline(state: RolloutState | undefined, nowMs = Date.now()): string | undefined {
  if (!state) return undefined;
  const model = buildReportModel(state, {}, nowMs);
  if (model.spans.length === 0) return undefined;
  const rows = model.rows.filter((r) => model.spans.some((s) => s.row === r) || model.marks.some((m) => m.row === r));
  const shown = rows.length <= MAX_ROWS ? rows : [...rows.slice(0, MAX_ROWS - 1), rows[rows.length - 1]!];
  const lines = ['```mermaid', 'gantt', '  dateFormat x', '  axisFormat %H:%M:%S'];
  const milestones = new Set(['approval', 'decision', 'breaker trip']);
  for (const row of shown) {
    const spans = model.spans.filter((s) => s.row === row);
    const marks = model.marks.filter((m) => m.row === row && milestones.has(m.kind));
    if (spans.length === 0 && marks.length === 0) continue;
    lines.push(`  section ${label(row)}`);
    for (const s of spans) {
      const tag = s.kind === 'paused' || s.kind === 'rollback' ? 'crit, ' : s.kind === 'observation' ? 'active, ' : '';
      lines.push(`  ${label(s.kind)} :${tag}${Math.round(s.startMs)}, ${Math.round(Math.max(s.endMs, s.startMs + 1))}`);
    }
    for (const m of marks) lines.push(`  ${label(m.label)} :milestone, ${Math.round(m.atMs)}, 0s`);
  }
  if (shown.length < rows.length) lines.push(`  section … ${rows.length - shown.length} more rows in the report`);
  lines.push('```');
  return lines.join('\n');
}
