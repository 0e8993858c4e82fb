/**
 * `fleetgate` — the CLI. Exit codes: 0 finished, 1 error or invalid spec,
 * 2 usage, 3 paused (gate or decision needed), 4 rolled back, 5 drift found.
 */
import { Command, CommanderError, Option } from 'commander';
import { createInterface } from 'node:readline/promises';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import {
  ConfigurationError,
  InventoryError,
  InvalidPhaseError,
  RolloutLockedError,
  RolloutPausedError,
  StateConflictError,
  StateReadError,
  StateWriteError,
  TargetHeldError,
  VersionPolicyError,
} from '../errors.js';
import { combineSinks, type EventSink } from '../engine/events.js';
import type { GateApprover, RunOptions, RunResult } from '../engine/rollout.js';
import { describePlan } from '../plan/plan.js';
import { describeSchedule } from '../plan/describe.js';
import { scheduleJson } from '../plan/schedule.js';
import { describeSafeguards, planSafeguards } from '../plan/safeguards.js';
import { formatIssue } from '../spec/issue.js';
import { readSpecFile } from '../spec/parse.js';
import { SpecValidationError } from '../spec/validation-error.js';
import { currentActor, loadRollout, openEngine, type LoadedRollout } from '../app/session.js';
import { colorsFor, createReporter } from './reporter.js';
import { redactSecrets } from '../util/secrets.js';
import { formatPreflight, formatStatus } from './status.js';
import { detectDrift, formatDrift } from '../app/drift.js';
import { judgeInventoryFile } from '../app/inventory-judge.js';
import { planConfig } from '../plan/config.js';
import { registerFleetLauncherCommands, runLocalFleetCommand } from './fleet-command.js';
import { registerReportCommand } from './report-command.js';
import { registerHistoryCommand } from './history-command.js';
import { describePlanLearning, learnFromHistory, planLearningJson } from '../app/plan-learning.js';
import { emitIssueAnnotations } from '../github/annotations.js';
import { addStateBackendOptions, createStateBackend, readStateWithBackend } from '../github/backend.js';
import { annotate } from '../github/runner-io.js';
import { statePathFor } from '../state/store.js';
import { MAX_SHARDS, parseShardRef } from '../engine/shard.js';
import { GITHUB_COMMAND_DESCRIPTION } from '../github/command-info.js';
import { GitHubApiError, NotAuthorizedError, ScmConflictError } from '../github/errors.js';
import type { Issue } from '../spec/issue.js';

export const ExitCode = { Ok: 0, Error: 1, Usage: 2, Paused: 3, RolledBack: 4, Drift: 5, Progressing: 6 } as const;

const ISSUES_URL = 'https://github.com/fleetgate/fleetgate/issues/new';

function isLiveTerminal(): boolean {
  return Boolean(process.stdout.isTTY) && !process.env.CI;
}

function outcomeCode(result: RunResult): number {
  switch (result.outcome) {
    case 'Healthy':
      return ExitCode.Ok;
    case 'Paused':
      return ExitCode.Paused;
    case 'RolledBack':
      return ExitCode.RolledBack;
    case 'Progressing':
      return ExitCode.Progressing;
    default:
      return ExitCode.Error;
  }
}

function gateApprover(yes: boolean, approved: string[] = []): GateApprover {
  return async (gate, ctx) => {
    const by = currentActor();
    if (yes) return { approved: true, by: `${by} (--yes)` };
    if (approved.includes(gate)) return { approved: true, by: `${by} (--approve ${gate})` };
    if (!process.stdin.isTTY || !process.stdout.isTTY) return { approved: false, by };
    // The question goes to stderr: with --json, stdout carries nothing but JSON.
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = await rl.question(`Approve gate "${gate}" before ${ctx.wave} of ${ctx.rollout}? [y/N] `);
      return { approved: /^y(es)?$/i.test(answer.trim()), by };
    } finally {
      rl.close();
    }
  };
}

interface RunFlags {
  yes?: boolean;
  approve?: string[];
  maxWaves?: string;
  deferObservation?: boolean;
  resultFile?: string;
  json?: boolean;
  events?: string;
  commit?: boolean;
  retryRolledBack?: boolean;
  /** `i/N`: run only that leg of the wave opened for N legs. */
  shard?: string;
  openShards?: string;
  stateBackend?: string;
  stateBranch?: string;
  exclude?: string[];
}

function sinkFor(flags: RunFlags): { sink: EventSink; close(): void } {
  const reporter = createReporter({ json: Boolean(flags.json), live: isLiveTerminal() });
  if (!flags.events) return reporter;
  // Opened once and written line by line, unbuffered: a rollout of 500 targets emits thousands of
  // events (an open and a close around each was most of their cost), and a killed run keeps every line.
  let fd: number | undefined = openSync(flags.events, 'a');
  return {
    sink: combineSinks(reporter.sink, (e) => {
      if (fd !== undefined) writeSync(fd, `${redactSecrets(JSON.stringify(e))}\n`);
    }),
    close: () => {
      reporter.close();
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/** Runs a state-changing command with signals wired to a graceful stop. */
async function withEngine(
  specPath: string,
  flags: RunFlags,
  act: (engine: Awaited<ReturnType<typeof openEngine>>['engine']) => Promise<RunResult>,
  opts: { fallbackToRecordedTargets?: boolean } = {},
): Promise<number> {
  // A rollback must work when discovery does not (the member it needs is the one that is down).
  const loaded = await loadRollout(
    specPath,
    opts.fallbackToRecordedTargets ? { recorded: () => readStateWithBackend(statePathFor(specPath), flags) } : {},
  );
  if (loaded.inventoryFallback) annotate('warning', redactSecrets(loaded.inventoryFallback));
  const out = sinkFor(flags);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const session = await openEngine(loaded, {
    emit: out.sink,
    gates: gateApprover(Boolean(flags.yes), flags.approve),
    commit: flags.commit,
    signal: controller.signal,
    store: await createStateBackend(loaded.statePath, flags),
    exclude: flags.exclude,
  });
  try {
    const result = await act(session.engine);
    // The last notification's warning (a dead webhook) still belongs in this run's output.
    await session.notified();
    out.close();
    if (flags.resultFile)
      writeFileSync(
        flags.resultFile,
        `${redactSecrets(JSON.stringify(summarizeResult(result, session.loaded), null, 2))}\n`,
      );
    if (!flags.json && result.message && result.outcome !== 'Healthy') process.stderr.write(`${outcomeLine(result)}\n`);
    return outcomeCode(result);
  } finally {
    out.close();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await session.close();
  }
}

/**
 * The run's outcome for stderr. A pause is said here, once, with its reason (the
 * reporter does not print the `rollout_paused` event as a line of its own).
 */
function outcomeLine(result: RunResult): string {
  const message = redactSecrets(result.message ?? '');
  if (result.outcome !== 'Paused') return message;
  const c = colorsFor(process.stderr);
  return c.yellow(c.bold(`⏸ paused (${result.reason}): ${message}`));
}

/**
 * A usage error found after commander parsed the flags: said on stderr here (`describeError`
 * prints nothing for a CommanderError, as commander has printed its own), exit code 2.
 */
function usageError(code: string, message: string): CommanderError {
  process.stderr.write(`error: ${message}\n`);
  return new CommanderError(ExitCode.Usage, code, message);
}

function runOptions(flags: RunFlags): RunOptions {
  let maxWaves: number | undefined;
  if (flags.maxWaves !== undefined) {
    maxWaves = Number(flags.maxWaves);
    if (!Number.isInteger(maxWaves) || maxWaves < 0) {
      throw usageError('fleetgate.maxWaves', `--max-waves must be a whole number ≥ 0 (got ${flags.maxWaves})`);
    }
  }
  return { maxWaves, deferObservation: flags.deferObservation, ...shardOptions(flags) };
}

/**
 * `--shard i/N` and `--open-shards N` (big waves across runners, `src/engine/shard.ts`).
 * @throws CommanderError (usage) when malformed, or when both are given
 */
function shardOptions(flags: RunFlags): Pick<RunOptions, 'shard' | 'openShards'> {
  if (flags.shard !== undefined && flags.openShards !== undefined)
    throw usageError('fleetgate.shard', '--shard and --open-shards go to different runs');
  if (flags.shard !== undefined) {
    const ref = parseShardRef(flags.shard);
    if ('error' in ref) throw usageError('fleetgate.shard', `--shard ${ref.error}`);
    return { shard: ref };
  }
  if (flags.openShards !== undefined) {
    const n = Number(flags.openShards);
    if (!Number.isInteger(n) || n < 1 || n > MAX_SHARDS)
      throw usageError(
        'fleetgate.openShards',
        `--open-shards must be a whole number from 1 to ${MAX_SHARDS} (got ${flags.openShards})`,
      );
    return { openShards: n };
  }
  return {};
}

/** The outcome of a run as written by `--result-file` (read by the composite actions). */
export function summarizeResult(result: RunResult, loaded: LoadedRollout) {
  const s = result.state;
  const done = new Set(s.waves.filter((w) => w.phase === 'Completed').map((w) => w.id));
  const current = s.waves.find((w) => w.id === s.currentWave);
  return {
    rollout: loaded.spec.name,
    outcome: result.outcome,
    phase: s.phase,
    reason: result.reason,
    message: result.message,
    revision: s.revision,
    fromVersion: s.fromVersion,
    toVersion: s.toVersion,
    lastKnownGood: s.lastKnownGood,
    currentWave: s.currentWave,
    observeUntil: current?.phase === 'Observing' ? current.observeUntil : undefined,
    remainingWaves: loaded.plan.waves.filter((w) => !done.has(w.id)).map((w) => w.id),
  };
}

/**
 * The CLI's commands. `fleetgate github …` (Octokit, `@actions/core`: most of the
 * bundle) is loaded only when `github` is among the arguments; otherwise the group
 * is listed by name for `--help` and never runs. A local `fleetgate run` starts in
 * about half the time this way (bench/RESULTS.md, rolling upgrade).
 * @param argv as `process.argv` (node, script, arguments)
 */
export async function buildProgram(argv: readonly string[] = process.argv): Promise<Command> {
  const program = new Command('fleetgate')
    .description('Upgrade a fleet safely from git: canary, waves, circuit breaker, analysis and rollback.')
    .version('0.1.0')
    // `fleetgate --version` is the CLI's; after a command name, `--version` is that command's
    // (`fleetgate fleet --version 2.0.0` starts agents on 2.0.0 instead of printing 0.1.0).
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();

  program
    .command('validate')
    .description('validate specs; report every problem with file:line:col')
    .argument('<specs...>', 'rollout spec files (rollouts/<name>.yaml)')
    .option('--json', 'print the issues as JSON')
    .addOption(
      new Option('--format <format>', 'also emit GitHub annotations (file, line, column)').choices(['text', 'github']),
    )
    .action(async (specs: string[], flags: { json?: boolean; format?: string }) => {
      let failed = false;
      const all = [];
      for (const file of specs) {
        const result = await readSpecFile(file);
        // Targets the spec names (listed canaries and waves) judged against an inventory file.
        const judged = result.ok ? await judgeInventoryFile(file, result.spec) : { errors: [], warnings: [] };
        const valid = result.ok && judged.errors.length === 0;
        const issues = result.ok
          ? [...judged.errors, ...result.warnings, ...judged.warnings]
          : [...result.errors, ...result.warnings];
        all.push(...issues);
        if (!valid) failed = true;
        if (!flags.json) {
          for (const i of issues) process.stdout.write(`${formatIssue(i)}\n`);
          if (valid) process.stdout.write(`${file}: valid\n`);
        }
      }
      // Once for all files: GitHub caps annotations per step.
      if (flags.format === 'github') await emitIssueAnnotations(all);
      if (flags.json) process.stdout.write(`${JSON.stringify({ ok: !failed, issues: all }, null, 2)}\n`);
      process.exitCode = failed ? ExitCode.Error : ExitCode.Ok;
    });

  addStateBackendOptions(
    program
      .command('plan')
      .description('show the waves a rollout would run (pure: touches no target)')
      .argument('<spec>', 'rollout spec file')
      .option('--json', 'print the plan as JSON'),
  ).action(async (spec: string, flags: { json?: boolean; stateBackend?: string; stateBranch?: string }) => {
    const loaded = await loadRollout(spec);
    const state = await readStateWithBackend(loaded.statePath, flags);
    const now = Date.now();
    // Learning from history (docs/history.md): estimates from past rollouts; suggestions, never applied.
    const learned = learnFromHistory(loaded.plan, state?.history ?? []);
    loaded.plan = learned.plan;
    // Config rollouts (docs/config-rollouts.md): the revision's change, hot reload or full cycle.
    const config = planConfig(loaded.spec, state);
    if (flags.json) {
      process.stdout.write(
        `${JSON.stringify({ ...loaded.plan, from: state?.toVersion, lastKnownGood: state?.lastKnownGood, phase: state?.phase ?? 'Pending', ...scheduleJson(loaded.plan, loaded.spec.schedule, now), ...planSafeguards(loaded.spec, loaded.plan, state), ...planLearningJson(learned), ...(config && { config }) }, null, 2)}\n`,
      );
    } else {
      process.stdout.write(`${describePlan(loaded.plan)}\n`);
      if (config) process.stdout.write(`Configuration: ${config.text}\n`);
      const schedule = describeSchedule(loaded.plan, loaded.spec.schedule, now);
      if (schedule) process.stdout.write(`\n${schedule}\n`);
      // Gates, analysis and what a rollback restores, with its configuration (src/plan/safeguards.ts).
      process.stdout.write(`\n${describeSafeguards(planSafeguards(loaded.spec, loaded.plan, state))}\n`);
      process.stdout.write(`\n${describePlanLearning(learned)}\n`);
    }
  });

  const runFlags = (cmd: Command) =>
    addStateBackendOptions(cmd)
      .option('-y, --yes', 'approve every gate without asking')
      .option('--approve <gate...>', 'approve these gates only (e.g. the GitHub environment this job waited on)')
      .option('--max-waves <n>', 'complete at most n waves, then stop with exit 6 (one job per wave)')
      .option(
        '--defer-observation',
        'do not wait observation windows out: stop with exit 6; a later run evaluates them',
      )
      .option('--result-file <file>', 'write the outcome as JSON (for actions and scripts)')
      .option('--json', 'print events as JSON lines')
      .option('--events <file>', 'append events as JSON lines to a file')
      .option('--no-commit', 'write the state file but do not commit it with git')
      .option(
        '--exclude <targets>',
        'leave targets out of the rollout: comma-separated ids, repeatable (never touched; recorded in the state)',
        (value: string, previous: string[] = []) => [
          ...previous,
          ...value
            .split(',')
            .map((id) => id.trim())
            .filter((id) => id !== ''),
        ],
      );

  runFlags(
    program
      .command('run')
      .description('roll out the spec version, or continue the rollout in progress')
      .argument('<spec>', 'rollout spec file')
      .option('--retry-rolled-back', 'roll out a version that was rolled back before')
      .option(
        '--open-shards <n>',
        'open the next wave for n legs on n runners and stop with exit 6 (its gate and hooks run here)',
      )
      .option(
        '--shard <i/N>',
        "run only leg i of the N the wave was opened for (exit 6); a later run without --shard takes the wave's verdict",
      ),
  ).action(async (spec: string, flags: RunFlags) => {
    process.exitCode = await withEngine(spec, flags, (e) =>
      e.run({ retryRolledBack: flags.retryRolledBack, ...runOptions(flags) }),
    );
  });

  runFlags(
    program
      .command('resume')
      .description('answer a paused rollout: continue, roll back the touched targets, or abort')
      .argument('<spec>', 'rollout spec file')
      .addOption(
        new Option('--decision <decision>', 'what to do')
          .choices(['continue', 'rollback', 'abort'])
          .makeOptionMandatory(),
      )
      .option('--reason <text>', 'why (recorded in state)'),
  ).action(async (spec: string, flags: RunFlags & { decision: 'continue' | 'rollback' | 'abort'; reason?: string }) => {
    process.exitCode = await withEngine(spec, flags, (e) => e.resume(flags.decision, flags.reason, runOptions(flags)), {
      fallbackToRecordedTargets: flags.decision === 'rollback',
    });
  });

  runFlags(
    program
      .command('rollback')
      .description('roll the fleet back to the last known good version (or --to)')
      .argument('<spec>', 'rollout spec file')
      .option('--to <version>', 'version to restore (default: last known good)')
      .option('--reason <text>', 'why (recorded in state)'),
  ).action(async (spec: string, flags: RunFlags & { to?: string; reason?: string }) => {
    process.exitCode = await withEngine(spec, flags, (e) => e.rollbackTo(flags.to, flags.reason), {
      fallbackToRecordedTargets: true,
    });
  });

  addStateBackendOptions(
    program
      .command('preflight')
      .description('read-only checks before a rollout: every target answers, version policy, version skew')
      .argument('<spec>', 'rollout spec file')
      .option('--json', 'print the report as JSON'),
  ).action(async (spec: string, flags: { json?: boolean; stateBackend?: string; stateBranch?: string }) => {
    const loaded = await loadRollout(spec);
    const session = await openEngine(loaded, {
      emit: () => undefined,
      gates: gateApprover(false),
      lock: false,
      store: await createStateBackend(loaded.statePath, flags),
    });
    try {
      const report = await session.engine.preflightReport();
      if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else process.stdout.write(`${formatPreflight(report)}\n`);
      process.exitCode = report.ok ? ExitCode.Ok : ExitCode.Error;
    } finally {
      await session.close();
    }
  });

  addStateBackendOptions(
    program
      .command('status')
      .description('show phase, waves, targets, decisions and history from the state file')
      .argument('<spec>', 'rollout spec file')
      .option('--json', 'print the state as JSON'),
  ).action(async (spec: string, flags: { json?: boolean; stateBackend?: string; stateBranch?: string }) => {
    const loaded = await loadRollout(spec, { judgeTargets: false });
    const state = await readStateWithBackend(loaded.statePath, flags);
    if (flags.json)
      process.stdout.write(`${JSON.stringify(state ?? { phase: 'Pending', name: loaded.spec.name }, null, 2)}\n`);
    else process.stdout.write(`${formatStatus(loaded, state)}\n`);
    process.exitCode = state?.phase === 'Paused' ? ExitCode.Paused : ExitCode.Ok;
  });

  addStateBackendOptions(
    program
      .command('drift')
      .description('compare what each target reports with what the state says it runs')
      .argument('<spec>', 'rollout spec file')
      .option('--json', 'print the report as JSON'),
  ).action(async (spec: string, flags: { json?: boolean; stateBackend?: string; stateBranch?: string }) => {
    const loaded = await loadRollout(spec, { judgeTargets: false });
    const state = await readStateWithBackend(loaded.statePath, flags);
    const report = await detectDrift(loaded, state);
    process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDrift(report)}\n`);
    process.exitCode = report.drifted.length > 0 ? ExitCode.Drift : ExitCode.Ok;
  });

  registerReportCommand(program);
  registerHistoryCommand(program);

  const fleet = program
    .command('fleet')
    .description('start an embedded local fleet of agent processes on loopback (until Ctrl-C)')
    .option('--count <n>', 'number of agents', '20')
    .option('--version <version>', 'version they start on', '1.0.0')
    .option('--inventory <file>', 'write the inventory here (YAML or JSON)', 'fleet-inventory.yaml')
    .option('--id-prefix <prefix>', 'target id prefix', 'agent-')
    .action(async (flags: { count: string; version: string; inventory: string; idPrefix: string }) => {
      await runLocalFleetCommand({
        count: Number(flags.count),
        version: flags.version,
        inventory: flags.inventory,
        idPrefix: flags.idPrefix,
      });
    });
  registerFleetLauncherCommands(fleet);

  if (argv.slice(2).includes('github')) {
    const { registerGitHubCommands } = await import('../github/commands.js');
    registerGitHubCommands(program);
  } else {
    program.command('github').description(GITHUB_COMMAND_DESCRIPTION);
  }

  return program;
}

/** `--json`'s error object: printed as `{"error": …}`, one line on stdout. */
export interface JsonError {
  /** The error's class (`SpecValidationError`, `RolloutLockedError`, …; `CommanderError` for usage). */
  name: string;
  /** A stable code to branch on (`SpecInvalid`, `Locked`, `Paused`, `Downgrade`, …). */
  reason: string;
  message: string;
  /** The process's exit code, the same as without `--json`. */
  exitCode: number;
  /** Spec or inventory problems, each with file, line and column. */
  issues?: Issue[];
  [field: string]: unknown;
}

/**
 * The `name` and `reason` of a typed error, most specific class first. The names
 * are spelled out: the bundle renames classes (`error.name` reads `_RolloutLockedError`).
 */
function errorKind(error: unknown): { name: string; reason: string } | undefined {
  if (error instanceof SpecValidationError) return { name: 'SpecValidationError', reason: 'SpecInvalid' };
  if (error instanceof InventoryError) return { name: 'InventoryError', reason: 'InventoryInvalid' };
  if (error instanceof VersionPolicyError) return { name: 'VersionPolicyError', reason: error.reason };
  if (error instanceof ConfigurationError) return { name: 'ConfigurationError', reason: 'InvalidConfiguration' };
  if (error instanceof RolloutPausedError) return { name: 'RolloutPausedError', reason: 'Paused' };
  if (error instanceof TargetHeldError) return { name: 'TargetHeldError', reason: 'TargetHeld' };
  if (error instanceof InvalidPhaseError) return { name: 'InvalidPhaseError', reason: 'InvalidPhase' };
  if (error instanceof RolloutLockedError) return { name: 'RolloutLockedError', reason: 'Locked' };
  if (error instanceof StateConflictError) return { name: 'StateConflictError', reason: 'StateConflict' };
  if (error instanceof StateWriteError) return { name: 'StateWriteError', reason: 'StateWriteFailed' };
  if (error instanceof StateReadError) return { name: 'StateReadError', reason: 'StateUnreadable' };
  if (error instanceof ScmConflictError) return { name: 'ScmConflictError', reason: 'ScmConflict' };
  if (error instanceof GitHubApiError) return { name: 'GitHubApiError', reason: 'GitHubApiFailed' };
  if (error instanceof NotAuthorizedError) return { name: 'NotAuthorizedError', reason: 'NotAuthorized' };
  return undefined;
}

/** What the CLI says about an error: its exit code, the lines for stderr, and the same as `--json`'s object. */
export function describeError(error: unknown): { exitCode: number; text: string[]; json: JsonError } {
  if (error instanceof CommanderError) {
    // commander has printed its message (and the help) on stderr already.
    const exitCode = error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    return {
      exitCode,
      text: [],
      json: { name: 'CommanderError', reason: error.code, message: error.message, exitCode },
    };
  }
  const kind = errorKind(error);
  if (kind && (error instanceof SpecValidationError || error instanceof InventoryError)) {
    const message = `${error.message}; no target was touched`;
    const exitCode = ExitCode.Error;
    const located =
      error instanceof SpecValidationError
        ? { file: error.file, issues: error.issues, warnings: error.warnings.length > 0 ? error.warnings : undefined }
        : { issues: error.issues };
    return {
      exitCode,
      text: [...error.issues.map(formatIssue), message],
      json: { ...kind, message, exitCode, ...located },
    };
  }
  if (kind && error instanceof Error) {
    const message = redactSecrets(error.message);
    const paused = error instanceof RolloutPausedError;
    const exitCode = paused ? ExitCode.Paused : ExitCode.Error;
    const extra =
      error instanceof StateConflictError
        ? { expectedRevision: error.expectedRevision, actualRevision: error.actualRevision }
        : error instanceof GitHubApiError
          ? { status: error.status }
          : {};
    return {
      exitCode,
      text: [paused ? message : `fleetgate: ${message}`],
      json: { ...kind, message, exitCode, ...extra },
    };
  }
  const message = redactSecrets(error instanceof Error ? error.message : String(error));
  return {
    exitCode: ExitCode.Error,
    text: [
      `fleetgate: internal error: ${message}`,
      `This is a bug in Fleetgate; please report it with the output above at ${ISSUES_URL}`,
    ],
    json: { name: 'InternalError', reason: 'InternalError', message, exitCode: ExitCode.Error, report: ISSUES_URL },
  };
}

/**
 * Prints an error the way a user can act on it; returns the exit code. With
 * `json`, the error is one JSON line on stdout (`{"error": {name, reason,
 * message, exitCode, issues?…}}`) and nothing goes to stderr.
 */
export function reportError(error: unknown, opts: { json?: boolean } = {}): number {
  const { exitCode, text, json } = describeError(error);
  if (opts.json) {
    if (exitCode !== ExitCode.Ok) process.stdout.write(`${redactSecrets(JSON.stringify({ error: json }))}\n`);
  } else {
    for (const line of text) process.stderr.write(`${line}\n`);
  }
  if (process.env.FLEETGATE_DEBUG && json.reason === 'InternalError' && error instanceof Error)
    process.stderr.write(`${error.stack ?? ''}\n`);
  return exitCode;
}

/**
 * Whether the arguments ask a command that takes `--json` for it. For errors
 * before commander has parsed them (usage); afterwards the parsed flag decides.
 */
function jsonRequested(program: Command, argv: readonly string[]): boolean {
  const args = argv.slice(2);
  if (!args.includes('--json')) return false;
  const name = args.find((a) => !a.startsWith('-'));
  const command = program.commands.find((c) => c.name() === name);
  return command?.options.some((o) => o.long === '--json') ?? false;
}

/** Entry point: parses argv, runs the command, sets the exit code. */
export async function main(argv: string[] = process.argv): Promise<number> {
  let json = false;
  try {
    // Named secrets passed as one JSON secret (the reusable workflow's FLEETGATE_SECRETS): exported and masked first.
    if (process.env.FLEETGATE_SECRETS) {
      const { createRunnerMask, expandSecretBundle } = await import('../github/secret-bundle.js');
      expandSecretBundle(process.env, createRunnerMask());
    }
    const program = await buildProgram(argv);
    json = jsonRequested(program, argv);
    program.hook('preAction', (_program, command) => {
      json = command.opts<{ json?: boolean }>().json === true;
    });
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.Ok;
  } catch (error) {
    return reportError(error, { json });
  }
}
