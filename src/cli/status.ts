/** Text rendering of a rollout's state for `fleetgate status`. */
import Table from 'cli-table3';
import { alertChecksOf, formatFiringAlert } from '../analysis/alerts/format.js';
import { formatSloCheckLines, sloChecksOf } from '../analysis/slo/format.js';
import { formatMeasurements } from '../analysis/analyze.js';
import { describeObservedWindow, formatEvidenceLines } from '../analysis/evidence-format.js';
import type { PreflightReport } from '../engine/rollout.js';
import type { RolloutState } from '../state/types.js';
import type { LoadedRollout } from '../app/session.js';
import { colorsFor, type Colors } from './reporter.js';

function phaseColor(phase: string, pc: Colors): string {
  if (phase === 'Healthy' || phase === 'Completed' || phase === 'Succeeded') return pc.green(phase);
  if (phase === 'Paused' || phase === 'Observing' || phase === 'RollingBack') return pc.yellow(phase);
  if (phase === 'Degraded' || phase === 'Failed' || phase === 'RollbackFailed') return pc.red(phase);
  if (phase === 'RolledBack') return pc.cyan(phase);
  return phase;
}

/**
 * Renders phase, condition, versions, waves, failed targets, breaker trips, decisions, approvals and history.
 * @param pc colours (default: those for stdout: none unless it is a terminal, see `colorsFor`)
 */
export function formatStatus(
  loaded: LoadedRollout,
  state: RolloutState | undefined,
  pc: Colors = colorsFor(process.stdout),
): string {
  const { spec } = loaded;
  if (!state)
    return `${spec.name}: no state yet (${loaded.statePath} does not exist): run \`fleetgate run ${loaded.specPath}\``;
  const lines: string[] = [];
  lines.push(
    `${pc.bold(spec.name)} (${spec.component})  phase ${phaseColor(state.phase, pc)}  revision ${state.revision}`,
  );
  lines.push(
    `  versions: ${state.fromVersion ?? '?'} → ${state.toVersion ?? '?'}   last known good: ${state.lastKnownGood ?? 'none'}   spec wants: ${spec.version}`,
  );
  if (spec.config || state.toConfig !== undefined)
    lines.push(
      `  configuration: ${state.fromConfig ?? 'none'} → ${state.toConfig ?? 'none'}   last known good: ${state.lastKnownGoodConfig ?? 'none'}   spec wants: ${spec.config?.revision ?? 'none'}`,
    );
  if (state.condition) lines.push(`  ${state.condition.reason}: ${state.condition.message}`);
  if (state.currentWave) lines.push(`  current wave: ${state.currentWave}`);
  if (state.waves.length > 0) {
    // cli-table3 colours its head red and its borders grey by default (@colors/colors, which ignores
    // NO_COLOR and whether stdout is a terminal): no styles of its own, only ours.
    const table = new Table({
      head: ['wave', 'phase', 'targets', 'ok', 'failed', 'finished'],
      style: { head: [], border: [] },
    });
    for (const w of state.waves) {
      table.push([
        w.id,
        phaseColor(w.phase, pc),
        w.targets.length,
        w.succeeded ?? '',
        w.failed ?? '',
        w.finishedAt ?? '',
      ]);
    }
    lines.push(table.toString());
  }
  const notable = Object.entries(state.targets).filter(([, t]) => t.phase !== 'Succeeded' && t.phase !== 'Pending');
  if (notable.length > 0) {
    lines.push(pc.bold('  targets needing attention:'));
    for (const [id, t] of notable.slice(0, 50)) {
      lines.push(
        `    ${id}: ${phaseColor(t.phase, pc)}${t.step ? ` at ${t.step}` : ''} (runs ${t.version ?? t.versionUnknown ?? '?'}, was ${t.from ?? '?'})${t.message ? ` — ${t.message}` : ''}`,
      );
    }
    if (notable.length > 50) lines.push(`    … ${notable.length - 50} more`);
  }
  for (const w of state.waves) {
    if (!w.analysis) continue;
    lines.push(pc.bold(`  analysis of ${w.id}: ${w.analysis.verdict}`) + ` — ${w.analysis.message}`);
    const observed = describeObservedWindow(w, loaded.plan.waves.find((p) => p.id === w.id)?.observeMs);
    if (observed) lines.push(`    ${observed}`);
    lines.push(formatMeasurements(w.analysis.measurements));
    lines.push(
      '    evidence (rounded; exact in the state file):',
      ...formatEvidenceLines(w.analysis.measurements, '      '),
    );
  }
  for (const w of state.waves) {
    for (const check of alertChecksOf(w)) {
      lines.push(pc.bold(`  alerts ${check.when} ${w.id}: ${check.verdict}`) + ` — ${check.message}`);
      for (const a of check.alerts.slice(0, 10)) lines.push(`    ${formatFiringAlert(a)}`);
      if (check.firing > 10) lines.push(`    … ${check.firing - 10} more`);
    }
  }
  for (const w of state.waves) {
    for (const check of sloChecksOf(w)) {
      lines.push(pc.bold(`  error budget ${check.when} ${w.id}: ${check.verdict}`) + ` — ${check.message}`);
      lines.push(...formatSloCheckLines(check, '    '));
    }
  }
  if (state.silences && state.silences.length > 0)
    lines.push(
      `  silences not expired yet: ${state.silences.map((x) => `${x.id} (${x.target}, until ${x.endsAt})`).join(', ')}`,
    );
  for (const trip of state.breaker.trips) lines.push(`  breaker tripped ${trip.at} at ${trip.wave}: ${trip.reason}`);
  for (const d of state.decisions)
    lines.push(
      `  decision ${d.decision} by ${d.by} at ${d.at}${d.wave ? ` (${d.wave})` : ''}${d.reason ? `: ${d.reason}` : ''}`,
    );
  for (const a of state.approvals) lines.push(`  gate ${a.gate} approved by ${a.by} at ${a.at}`);
  if (state.history.length > 0) {
    lines.push(pc.bold('  history:'));
    for (const h of state.history.slice(0, 10)) {
      lines.push(`    ${h.from ?? '?'} → ${h.to}: ${h.phase}${h.reason ? ` (${h.reason})` : ''} ${h.finishedAt ?? ''}`);
      for (const a of h.approvals ?? []) lines.push(`      gate ${a.gate} approved by ${a.by} at ${a.at}`);
      for (const d of h.decisions ?? [])
        lines.push(`      decision ${d.decision} by ${d.by} at ${d.at}${d.reason ? `: ${d.reason}` : ''}`);
    }
  }
  return lines.join('\n');
}

/** Renders a preflight report: reachability, version skew, policy verdict. */
export function formatPreflight(r: PreflightReport): string {
  const pc = colorsFor(process.stdout);
  const lines = [`${pc.bold(r.rollout)} preflight: ${r.ok ? pc.green('ok') : pc.red('not ready')}`];
  lines.push(
    `  ${r.current ?? '?'} → ${r.desired}   last known good: ${r.lastKnownGood ?? 'none'}   phase: ${r.phase}`,
  );
  const skew = Object.entries(r.versions)
    .map(([v, n]) => `${v} ×${n}`)
    .join(', ');
  lines.push(
    `  ${r.targets} targets; versions reported: ${skew || 'none'}${Object.keys(r.versions).length > 1 ? pc.yellow(' (version skew)') : ''}`,
  );
  if (r.config) {
    const seen = Object.entries(r.config.revisions)
      .map(([v, n]) => `${v} ×${n}`)
      .join(', ');
    lines.push(`  configuration: spec wants ${r.config.desired ?? '?'}; revisions reported: ${seen || 'none'}`);
  }
  for (const p of r.problems ?? (r.policy.ok ? [] : [{ reason: r.policy.reason, message: r.policy.message }]))
    lines.push(pc.red(`  version policy (${p.reason}): ${p.message}`));
  for (const b of r.budgets ?? []) {
    const out = b.out.length > 0 ? `; out of service now: ${b.out.join(', ')}` : '';
    const line = `  tier ${b.tier}: ${b.budget} member(s) may be out at once${out}`;
    lines.push(b.budget === 0 || b.out.length >= b.budget ? pc.yellow(line) : line);
  }
  for (const u of (r.unhealthy ?? []).slice(0, 20)) lines.push(pc.yellow(`  ${u.id} is unhealthy: ${u.message}`));
  if ((r.excluded ?? []).length > 0) lines.push(`  left out (exclude): ${r.excluded.join(', ')}`);
  for (const u of r.unreachable.slice(0, 20)) lines.push(pc.red(`  ${u.id} did not answer: ${u.message}`));
  for (const l of r.leaders ?? [])
    lines.push(
      l.leader !== undefined
        ? `  tier ${l.tier}: ${l.leader} leads now (it goes last)`
        : pc.yellow(`  tier ${l.tier}: leader unknown (the rollout would pause before it): ${l.message ?? ''}`),
    );
  if (r.unreachable.length > 20) lines.push(pc.red(`  … ${r.unreachable.length - 20} more unreachable`));
  if (r.alerts) {
    const line = `  alerts now: ${r.alerts.verdict === 'pass' ? 'none firing' : r.alerts.verdict} — ${r.alerts.message}`;
    lines.push(r.alerts.verdict === 'pass' ? line : pc.yellow(line));
    for (const a of r.alerts.alerts.slice(0, 10)) lines.push(pc.yellow(`    ${formatFiringAlert(a)}`));
  }
  if (r.slo) {
    const line = `  error budget now: ${r.slo.verdict} — ${r.slo.message}`;
    lines.push(r.slo.verdict === 'pass' ? line : pc.yellow(line));
    lines.push(...formatSloCheckLines(r.slo, '    ').slice(3));
  }
  return lines.join('\n');
}
