/**
 * `fleetgate github summary`: a stage's job summary and outputs, who approved a gate, an optional deployment, and the step's exit code.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { readState, statePathFor } from '../../state/store.js';
import type { RolloutState } from '../../state/types.js';
import { loadRollout, type LoadedRollout } from '../../app/session.js';
import { createScmFromEnv, readActionsContext, type ActionsContext } from '../actions-env.js';
import { countRecordedRunApprovals, findEnvironmentApproval } from '../approvals.js';
import {
  addStateBackendOptions,
  createStateBackend,
  readStateWithBackend,
  usesGitHubBackend,
  type StateBackendFlags,
} from '../backend.js';
import { GitHubApiError, NotAuthorizedError } from '../errors.js';
import { renderRunSummary } from '../markdown.js';
import type { RolloutScm } from '../scm.js';
import { isJobOutcome, recordDeployment } from '../deployments.js';
import { annotate, setOutputs, writeSummary } from '../runner-io.js';
import { EXIT } from './shared.js';
import { scheduleClosedUntil } from '../schedule-idle.js';

interface ResultFile {
  outcome?: string;
  phase?: string;
  reason?: string;
  message?: string;
  revision?: number;
  currentWave?: string;
  observeUntil?: string;
  remainingWaves?: string[];
  lastKnownGood?: string;
  toVersion?: string;
}

async function readResult(file: string | undefined): Promise<ResultFile | undefined> {
  if (!file) return undefined;
  try {
    return JSON.parse(await readFile(file, 'utf8')) as ResultFile;
  } catch {
    return undefined;
  }
}

const OUTCOME_OF_EXIT: Record<number, string> = { 0: 'Healthy', 3: 'Paused', 4: 'RolledBack', 6: 'Progressing' };

/** Maps `--fail-on` names to exit codes that fail the step. Errors (1, 2) always fail. */
function failingCodes(failOn: string): Set<number> {
  const codes = new Set<number>([1, 2]);
  for (const word of failOn.split(/[\s,]+/).filter(Boolean)) {
    if (word === 'paused') codes.add(EXIT.paused);
    else if (word === 'rolled-back') codes.add(EXIT.rolledBack);
    else if (word === 'progressing') codes.add(EXIT.progressing);
    else if (word !== 'none' && word !== 'error') throw new NotAuthorizedError(`--fail-on: unknown outcome ${word}`);
  }
  return codes;
}

/** Replaces `--approve` approvals of `gate` recorded this run with who approved the environment, and why. */
async function recordGateReviewer(
  flags: StateBackendFlags,
  loaded: LoadedRollout,
  scm: RolloutScm,
  ctx: ActionsContext,
  gate: string,
): Promise<RolloutState | undefined> {
  const port = await createStateBackend(loaded.statePath, flags, { scm, ctx });
  if (!port || !ctx.runId) return undefined;
  const state = await port.read();
  const marker = `(--approve ${gate})`;
  const pending = state?.approvals.filter((a) => a.gate === gate && a.by.endsWith(marker));
  if (!state || !pending || pending.length === 0) return state;
  // The same approval the gate step counted: the newest of the run's, unless earlier attempts used them all.
  const review = await findEnvironmentApproval(
    scm,
    ctx.runId,
    gate,
    countRecordedRunApprovals(state.approvals, gate, ctx.runUrl),
  );
  if (!review) return state;
  for (const a of pending) {
    // Who and their comment from the run's approvals; when: `at`, the moment the wave took it
    // (GitHub's approvals carry no time); which attempt of the run.
    Object.assign(a, {
      by: `github:${review.user}`,
      comment: review.comment,
      via: `environment ${gate}`,
      ...(ctx.runUrl ? { run: ctx.runUrl } : {}),
      ...(ctx.runAttempt ? { attempt: ctx.runAttempt } : {}),
    });
  }
  const written = await port.write(state);
  await port.commit(`fleetgate: ${loaded.spec.name} gate ${gate} approved by ${review.user}`);
  return written;
}

/** Adds `summary` to the `github` command group. */
export function registerSummaryCommand(gh: Command): void {
  addStateBackendOptions(
    gh
      .command('summary')
      .description('job summary of a stage (wave table, diagram, approvals) and its outputs; exits by --fail-on')
      .argument('<spec>', 'rollout spec file')
      .requiredOption('--stage <name>', 'the workflow stage (job) for the title: wave, analyze, decide, rollback')
      .option('--result-file <file>', 'the result file the run wrote')
      .option('--exit-code <n>', 'exit code of the run', '0')
      .option(
        '--fail-on <outcomes>',
        'outcomes that fail the step besides errors: paused, rolled-back, progressing',
        'paused,rolled-back',
      )
      .option('--record-gate <environment>', 'record who approved this environment in the run, in the state')
      .option('--deployment-environment <env>', 'also create a deployment with a status for this environment'),
  ).action(
    async (
      spec: string,
      flags: StateBackendFlags & {
        stage: string;
        resultFile?: string;
        exitCode: string;
        failOn: string;
        recordGate?: string;
        deploymentEnvironment?: string;
      },
    ) => {
      const ctx = readActionsContext();
      const exitCode = Number(flags.exitCode);
      // A summary is read-only: when discovery fails (a rollback's case), the recorded targets do.
      const loaded = await loadRollout(spec, {
        recorded: async () =>
          (await readState(statePathFor(spec))) ?? (await readStateWithBackend(statePathFor(spec), flags)),
      });
      const result = await readResult(flags.resultFile);
      const githubBackend = usesGitHubBackend(flags);
      const scm =
        githubBackend || flags.recordGate || flags.deploymentEnvironment ? await createScmFromEnv(ctx) : undefined;
      let state: RolloutState | undefined;
      if (flags.recordGate && scm && githubBackend) {
        try {
          state = await recordGateReviewer(flags, loaded, scm, ctx, flags.recordGate);
        } catch (error) {
          if (!(error instanceof GitHubApiError)) throw error;
          annotate('warning', `could not record who approved ${flags.recordGate}: ${error.message}`);
        }
      }
      // The job's own mirror holds what this run wrote (also after a refused commit).
      state ??= (await readState(loaded.statePath)) ?? (await readStateWithBackend(loaded.statePath, flags));
      const outcome = result?.outcome ?? OUTCOME_OF_EXIT[exitCode] ?? 'Error';
      const message = result?.message ?? (exitCode === 1 ? 'the run failed; see the log above' : undefined);
      const observeUntil =
        result?.observeUntil ??
        state?.waves.find((w) => w.id === state?.currentWave && w.phase === 'Observing')?.observeUntil;
      const closedUntil = scheduleClosedUntil(state, Date.now());
      writeSummary(
        renderRunSummary({
          stage: flags.stage,
          specPath: spec,
          plan: loaded.plan,
          gates: loaded.spec.gates,
          state,
          result: { outcome, reason: result?.reason, message, observeUntil, remainingWaves: result?.remainingWaves },
          runUrl: ctx.runUrl,
        }),
      );
      if (outcome === 'Paused')
        annotate('warning', `${loaded.spec.name} paused: ${message ?? state?.condition?.message ?? ''}`);
      if (outcome === 'RolledBack') annotate('warning', `${loaded.spec.name} rolled back: ${message ?? ''}`);
      if (outcome === 'Degraded' || outcome === 'Error')
        annotate(
          'error',
          `${loaded.spec.name} ${outcome.toLowerCase()}: ${message ?? state?.condition?.message ?? ''}`,
        );
      if (flags.deploymentEnvironment && scm && ctx.sha) {
        try {
          await recordDeployment(scm, {
            rollout: loaded.spec.name,
            environment: flags.deploymentEnvironment,
            sha: ctx.sha,
            outcome: isJobOutcome(outcome) ? outcome : 'Error',
            stage: flags.stage,
            state,
            reason: result?.reason,
            runUrl: ctx.runUrl,
          });
        } catch (error) {
          if (!(error instanceof GitHubApiError)) throw error;
          annotate('warning', `could not record a deployment (grant deployments: write): ${error.message}`);
        }
      }
      setOutputs({
        outcome,
        phase: state?.phase ?? result?.phase ?? 'Pending',
        reason: result?.reason ?? state?.condition?.reason ?? '',
        message: message ?? '',
        revision: state?.revision ?? result?.revision ?? 0,
        'current-wave': state?.currentWave ?? '',
        'observe-until': observeUntil ?? '',
        'window-open':
          outcome === 'Progressing' && (result?.reason === 'ObservationWindowOpen' || Boolean(observeUntil)),
        'remaining-waves': result?.remainingWaves ?? [],
        'last-known-good': state?.lastKnownGood ?? '',
        'analysis-verdict': [...(state?.waves ?? [])].reverse().find((w) => w.analysis)?.analysis?.verdict ?? '',
        'exit-code': exitCode,
        // Held by the schedule (outside the deploy windows or in a freeze): later jobs skip their
        // wave and finalize does not dispatch a run that would only be held again.
        'schedule-closed': closedUntil !== undefined,
        'opens-at': closedUntil === 'unknown' ? '' : (closedUntil ?? ''),
      });
      process.exitCode = failingCodes(flags.failOn).has(exitCode) ? EXIT.error : EXIT.ok;
    },
  );
}
