/**
 * `fleetgate history <spec> [--json]`: the spec's past rollouts from its state (newest first,
 * the state keeps 20): versions, outcome, when, how long (wall time, and the waves' own time),
 * each wave's duration, failures, pauses, analysis verdict and decision, who approved which
 * gate and who decided what (docs/history.md).
 */
import type { Command } from 'commander';
import { addStateBackendOptions, readStateWithBackend } from '../github/backend.js';
import { formatDurationMs } from '../plan/describe.js';
import { statePathFor } from '../state/store.js';
import type { HistoryEntry, RolloutState, WaveHistory } from '../state/types.js';

/** One past rollout as `history --json` prints it (durations in milliseconds). */
export interface HistoryRow extends HistoryEntry {
  /** 1 for the newest. */
  number: number;
  /** `startedAt` → `finishedAt` (ms): everything, the waits for gates and decisions included. */
  wallMs?: number;
  /** Σ of the waves' wall times (ms): steps and observation windows, not the waits between waves. */
  wavesMs?: number;
}

/** Milliseconds between two ISO times, when both parse and the second is not earlier. */
function between(from: string | undefined, to: string | undefined): number | undefined {
  if (from === undefined || to === undefined) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** The history of a state as rows, newest first, numbered from 1. */
function historyRows(state: RolloutState): HistoryRow[] {
  return state.history.map((h, i) => {
    const wall = between(h.startedAt, h.finishedAt);
    const waves = h.waves?.some((w) => w.durationMs !== undefined)
      ? h.waves.reduce((sum, w) => sum + (w.durationMs ?? 0), 0)
      : undefined;
    return {
      number: i + 1,
      ...h,
      ...(wall !== undefined && { wallMs: wall }),
      ...(waves !== undefined && { wavesMs: waves }),
    };
  });
}

function describeWave(w: WaveHistory): string {
  const parts = [
    `${w.id}`,
    `${w.size} target${w.size === 1 ? '' : 's'}`,
    w.durationMs === undefined ? 'not finished' : formatDurationMs(w.durationMs),
    w.phase,
  ];
  if (w.verdict) parts.push(`analysis ${w.verdict}`);
  if (w.failed) parts.push(`${w.failed} failed`);
  if (w.paused?.length) parts.push(`paused: ${w.paused.join(', ')}`);
  if (w.decision) parts.push(`decision ${w.decision}`);
  const t = w.steps?.target;
  if (t) parts.push(`per target median ${formatDurationMs(t.medianMs)}, max ${formatDurationMs(t.maxMs)}`);
  return parts.join(', ');
}

/**
 * The history as text (no trailing newline):
 *
 * ```text
 * svc: 2 past rollouts, newest first
 * #1 1.1.0 → 1.2.0  Healthy (RolloutCompleted)  started 2026-12-03T13:41:07.120Z  wall 3s, waves 2s
 *      all/canary, 1 target, 1s, Completed, analysis pass, per target median 120ms, max 120ms
 *      gate canary approved by alice (--approve canary) at 2026-12-03T13:41:07.300Z
 * ```
 */
function formatHistory(state: RolloutState | undefined, name: string): string {
  if (!state || state.history.length === 0) return `${name}: no past rollouts recorded yet`;
  const rows = historyRows(state);
  const lines = [`${name}: ${rows.length} past rollout${rows.length === 1 ? '' : 's'}, newest first`];
  for (const r of rows) {
    const took = [
      r.wallMs === undefined ? undefined : `wall ${formatDurationMs(r.wallMs)}`,
      r.wavesMs === undefined ? undefined : `waves ${formatDurationMs(r.wavesMs)}`,
    ].filter(Boolean);
    lines.push(
      `#${r.number} ${r.from ?? '?'} → ${r.to}${r.rollback ? ' (rollback)' : ''}  ${r.phase}${r.reason ? ` (${r.reason})` : ''}  started ${r.startedAt ?? '?'}${took.length > 0 ? `  ${took.join(', ')}` : ''}`,
    );
    for (const w of r.waves ?? []) lines.push(`     ${describeWave(w)}`);
    if (r.waveCount !== undefined && r.waves && r.waveCount > r.waves.length)
      lines.push(`     … ${r.waveCount - r.waves.length} more waves not kept`);
    for (const a of r.approvals ?? []) lines.push(`     gate ${a.gate} approved by ${a.by} at ${a.at}`);
    for (const d of r.decisions ?? [])
      lines.push(
        `     decision ${d.decision} by ${d.by} at ${d.at}${d.wave ? ` in ${d.wave}` : ''}${d.reason ? `: ${d.reason}` : ''}`,
      );
  }
  return lines.join('\n');
}

/** Registers `history` on the CLI. */
export function registerHistoryCommand(program: Command): void {
  addStateBackendOptions(
    program
      .command('history')
      .description("show the spec's past rollouts: durations, outcomes, analysis verdicts, approvals and decisions")
      .argument('<spec>', 'rollout spec file')
      .option('--json', 'print the history as JSON'),
  ).action(async (spec: string, flags: { json?: boolean; stateBackend?: string; stateBranch?: string }) => {
    const state = await readStateWithBackend(statePathFor(spec), flags);
    const name = state?.name ?? spec;
    if (flags.json) {
      process.stdout.write(
        `${JSON.stringify({ rollout: name, rollouts: state ? historyRows(state) : [] }, null, 2)}\n`,
      );
      return;
    }
    process.stdout.write(`${formatHistory(state, name)}\n`);
  });
}
