/**
 * Turns rollout events into output: a live block of in-flight targets on a
 * terminal (log-update), plain lines in CI, or JSON lines with `--json`.
 */
import logUpdate from 'log-update';
import picocolors from 'picocolors';
import type { EventSink, RolloutEvent } from '../engine/events.js';
import { redactSecrets } from '../util/secrets.js';

export type Colors = ReturnType<typeof picocolors.createColors>;

/**
 * Whether to colour what goes to `stream`. picocolors' own detection decides:
 * NO_COLOR (or `--no-color`) is off, always; FORCE_COLOR is on; TERM=dumb is off.
 * But it looks at stdout only, and it also says yes for `CI` (or Windows) when
 * nothing is a terminal, which put escape codes into pipes and log files: so a
 * stream that is not a terminal gets colour only when FORCE_COLOR asks for it.
 */
export function colorEnabled(stream: { isTTY?: boolean }): boolean {
  const { FORCE_COLOR } = process.env;
  const forced = FORCE_COLOR !== undefined && FORCE_COLOR !== '' && !/^(0|false)$/i.test(FORCE_COLOR);
  return picocolors.isColorSupported && (stream.isTTY === true || forced);
}

/** picocolors' formatters for `stream`; each returns its input unchanged when the stream gets no colour. */
export function colorsFor(stream: { isTTY?: boolean }): Colors {
  return picocolors.createColors(colorEnabled(stream));
}

export interface ReporterOptions {
  /** JSON lines on stdout instead of text. */
  json: boolean;
  /** Live redraw (a terminal that is not CI). */
  live: boolean;
  write?: (line: string) => void;
  /** Formatters (default: `colorsFor(process.stdout)`). */
  colors?: Colors;
}

/** ` after 4.2 s of 60 s` for a window the analysis ended early, ` after waiting until …` past it; else nothing. */
function observedSpan(e: RolloutEvent): string {
  const seconds = (ms: unknown) => `${Number((Number(ms) / 1000).toPrecision(3))} s`;
  if (e.endedEarly === true && typeof e.observedMs === 'number')
    return ` after ${seconds(e.observedMs)} of ${seconds(e.observeMs)}`;
  if (typeof e.waitedUntil === 'string') return ` after waiting until ${e.waitedUntil} (noData: wait)`;
  return '';
}

/**
 * One line per event worth showing. `rollout_paused` is not one of them: the CLI
 * prints the outcome of a run (paused, with its reason) once, when the run returns.
 */
function describe(e: RolloutEvent, pc: Colors): string | undefined {
  const t = e.target ? `${e.target}` : '';
  switch (e.event) {
    case 'rollout_started':
      return pc.bold(
        `▶ rollout ${e.rollout}: ${String(e.from)} → ${String(e.to)}${typeof e.toConfig === 'string' ? `, config ${typeof e.fromConfig === 'string' ? e.fromConfig : 'none'} → ${e.toConfig}` : ''} in ${String(e.waves)} waves`,
      );
    case 'preflight_completed':
      return `  preflight: ${String(e.targets)} targets answer; versions seen: ${(e.versions as string[]).join(', ')}`;
    case 'hook_started':
      return `  hook ${String(e.hook)} started`;
    case 'hook_completed':
      return `  hook ${String(e.hook)} ${e.ok ? pc.green('ok') : pc.red(`failed: ${String(e.message)}`)}`;
    case 'gate_pending':
      // A pause says so itself (GatePending), and a terminal asks: the event needs no line of its own.
      return undefined;
    case 'gate_approved':
      return pc.green(`  ✔ gate "${String(e.gate)}" approved by ${String(e.by)}`);
    case 'wave_started':
      return pc.bold(`● ${String(e.wave)}: ${String(e.targets)} target(s), ${String(e.maxUnavailable)} at a time`);
    case 'target_completed':
      return e.reloaded === true
        ? `  ${pc.green('✔')} ${t} reloaded config ${String(e.config)} on ${String(e.version)} (no restart)`
        : `  ${pc.green('✔')} ${t} on ${String(e.version)}${typeof e.config === 'string' ? ` (config ${e.config})` : ''}`;
    case 'target_skipped':
      return `  ${pc.green('✔')} ${t} already on ${String(e.version)} (not upgraded again)`;
    case 'target_failed':
      return `  ${pc.red('✖')} ${t} ${pc.red(String(e.message))}`;
    case 'target_rolled_back':
      return `  ${pc.cyan('↶')} ${t} back on ${String(e.version)}`;
    case 'target_health_check':
      return e.healthy === false && e.during === 'observe'
        ? `  ${pc.yellow('!')} ${t} unhealthy during observation`
        : undefined;
    case 'wave_observing':
      return Number(e.observeMs) > 0 ? `  observing ${String(e.wave)} until ${String(e.until)}` : undefined;
    case 'analysis_completed': {
      const span = observedSpan(e);
      return e.verdict === 'pass'
        ? pc.green(`  ✔ analysis of ${String(e.wave)}: pass${span} (${String(e.measurements)} measurements)`)
        : pc.red(
            `  ✖ analysis of ${String(e.wave)}: ${String(e.verdict)}${typeof e.severity === 'string' ? ` (${e.severity})` : ''}${span}: ${String(e.message)}`,
          );
    }
    case 'analysis_window_reopened':
      return pc.yellow(`  ! ${String(e.message)}`);
    case 'analysis_warning':
      return pc.yellow(`  ! analysis: ${String(e.message)}`);
    case 'wave_completed':
      return pc.green(`  ✔ ${String(e.wave)} healthy (${String(e.succeeded)} ok, ${String(e.failed)} failed)`);
    case 'wave_failed':
      return pc.red(`  ✖ ${String(e.wave)} failed: ${(e.failed as string[]).join(', ')}`);
    case 'circuit_breaker_tripped':
      // The full reason is the pause message that follows; here, when and on whom it tripped.
      return pc.red(
        pc.bold(
          `  ⚡ circuit breaker tripped in ${String(e.wave)}${Array.isArray(e.failedTargets) ? `: ${e.failedTargets.join(', ')} failed in a row` : ''}`,
        ),
      );
    case 'decision_recorded':
      return pc.bold(`  decision: ${String(e.decision)} by ${String(e.by)}`);
    case 'rollback_started':
      return pc.cyan(pc.bold(`↶ rolling back ${String(e.targets)} target(s) to ${String(e.to)}`));
    case 'rollout_rolled_back':
      return pc.cyan(
        pc.bold(`↶ rolled back: ${typeof e.summary === 'string' ? e.summary : `to ${String(e.version)}`}`),
      );
    case 'budget_wait':
      return pc.yellow(
        `  ⏳ ${t} waits for tier ${String(e.tier)}'s budget (${String(e.budget)} out at once): ${Array.isArray(e.out) ? e.out.join(', ') : ''} out of service`,
      );
    case 'target_observed':
      return pc.dim(
        `  ${t} ${typeof e.version === 'string' ? `now reports ${e.version}` : ''}${typeof e.message === 'string' ? ` ${e.message}` : ''}`,
      );
    case 'leader_observed':
      return pc.dim(
        `  leader of ${String(e.tier)}: ${String(e.leader)} (asked of ${String(e.askedOf)}), last in ${String(e.lastWave)}`,
      );
    case 'leadership_transferred':
      if (e.skipped === true) return pc.yellow(`  ${t}: ${String(e.message)}`);
      return e.ok === true
        ? `  leadership moved from ${t} to ${String(e.transferee)}${typeof e.leader === 'string' ? ` (${e.leader} leads)` : ''}`
        : pc.red(`  ✖ ${String(e.message)}`);
    case 'rollout_completed':
      return pc.green(
        pc.bold(`✔ ${e.rollout} ${typeof e.message === 'string' ? e.message : `healthy at ${String(e.version)}`}`),
      );
    case 'rollout_degraded':
      return pc.red(pc.bold(`✖ ${e.rollout} degraded (${String(e.reason)})`));
    case 'state_committed':
      return pc.dim(`  state r${String(e.revision)} committed: ${String(e.message)}`);
    case 'slo_checked':
      return e.verdict === 'pass' ? pc.green(`  ✔ ${String(e.message)}`) : pc.red(`  ✖ ${String(e.message)}`);
    case 'alerts_checked':
      return e.verdict === 'pass'
        ? pc.green(`  ✔ alerts ${e.when === 'before' ? 'before' : 'after'} ${String(e.wave)}: none firing`)
        : pc.red(`  ✖ alerts ${e.when === 'before' ? 'before' : 'after'} ${String(e.wave)}: ${String(e.message)}`);
    case 'silence_created':
      return pc.dim(`  ${t} alerts silenced until ${String(e.until)} (silence ${String(e.silence)})`);
    case 'silence_expired':
      return pc.dim(`  ${e.target === undefined ? '' : `${t} `}silence ${String(e.silence)} expired`);
    case 'alerts_warning':
      return pc.yellow(`  ! alerts: ${String(e.message)}`);
    case 'schedule_held':
      return pc.yellow(`  ⏸ ${String(e.message)}`);
    case 'notify_warning':
      return pc.yellow(`  ! ${String(e.message)}`);
    case 'target_provisioned':
      return `  ${pc.cyan('+')} ${t}: ${String(e.new)} provisioned at ${String(e.address)} on ${String(e.version)}`;
    case 'target_retired':
      return `  ${pc.dim('−')} ${t} retired${typeof e.replacedBy === 'string' ? ` (replaced by ${e.replacedBy})` : ''}`;
    case 'pool_switched':
      return pc.bold(
        `⇄ ${String(e.tier)}: traffic ${e.back === true ? 'switched back to the old pool' : `switched to the pool on ${String(e.version)}`} (${(e.pool as string[]).join(', ')})${typeof e.keepUntil === 'string' ? `; old pool kept until ${e.keepUntil}` : ''}`,
      );
    default:
      return undefined;
  }
}

/** Creates the event sink for the CLI. Call `close()` before printing the final summary. */
export function createReporter(opts: ReporterOptions): { sink: EventSink; close(): void } {
  const out = opts.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const write = (line: string) => out(redactSecrets(line));
  if (opts.json) return { sink: (e) => write(JSON.stringify(e)), close: () => undefined };
  const pc = opts.colors ?? colorsFor(process.stdout);
  if (!opts.live) {
    return {
      sink: (e) => {
        const line = describe(e, pc);
        if (line !== undefined) write(`${e.ts.slice(11, 19)} ${line}`);
      },
      close: () => undefined,
    };
  }
  const inFlight = new Map<string, string>();
  const render = () =>
    logUpdate(
      [...inFlight.entries()]
        .slice(0, 12)
        .map(([id, what]) => pc.dim(`  … ${id}: ${what}`))
        .join('\n'),
    );
  return {
    sink: (e) => {
      if (e.target) {
        if (e.event === 'target_started') inFlight.set(e.target, 'probing version');
        else if (e.event === 'target_step') inFlight.set(e.target, `${String(e.step)} done`);
        else if (e.event === 'target_health_check' && e.during !== 'observe')
          inFlight.set(e.target, `health check #${String(e.probe)} ${e.healthy ? 'ok' : 'not yet healthy'}`);
        else if (['target_completed', 'target_failed', 'target_skipped', 'target_rolled_back'].includes(e.event))
          inFlight.delete(e.target);
      }
      const line = describe(e, pc);
      if (line !== undefined) logUpdate.persist(redactSecrets(line));
      render();
    },
    close: () => logUpdate.done(),
  };
}
