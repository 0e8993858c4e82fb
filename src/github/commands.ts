/**
 * `fleetgate github …`: the GitHub-only steps the composite actions call besides
 * `validate`, `run`, `resume` and `rollback` — plan outputs and the sticky PR
 * comment, preflight with the environment audit, gate checks, job summaries,
 * permission checks, dispatching a continuation run, and committing a state file
 * through the API. Each is a thin adapter: read inputs, call the GitHub layer,
 * write outputs and a summary.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import type { PreflightReport } from '../engine/rollout.js';
import { StateConflictError } from '../errors.js';
import { readSpecFile, type Issue } from '../spec/index.js';
import { parseState, readState, serializeState } from '../state/store.js';
import type { RolloutState } from '../state/types.js';
import { loadRollout, openEngine, type LoadedRollout } from '../app/session.js';
import { createScmFromEnv, readActionsContext, workflowFileOf, type ActionsContext } from './actions-env.js';
import { emitIssueAnnotations } from './annotations.js';
import { GITHUB_COMMAND_DESCRIPTION } from './command-info.js';
import { authorizeActor, findEnvironmentApproval, parsePermission } from './approvals.js';
import {
  addStateBackendOptions,
  createStateBackend,
  readStateWithBackend,
  resolveStateTarget,
  usesGitHubBackend,
  type StateBackendFlags,
} from './backend.js';
import { upsertStickyComment } from './comment.js';
import { auditEnvironments, type GateAudit } from './environments.js';
import { GitHubApiError, NotAuthorizedError, ScmConflictError } from './errors.js';
import { PLAN_COMMENT_MARKER, code, renderPlanComment, renderRunSummary, type PlanReport } from './markdown.js';
import type { DeploymentState, RolloutScm } from './scm.js';
import { annotate, setOutputs, writeSummary } from './runner-io.js';
import { mergeRemoteState } from './state-merge.js';
import { planWorkflowRun } from './workflow-plan.js';
import { registerSpecsCommand } from './specs-command.js';

/** Exit codes shared with the CLI (see `ExitCode` in src/cli/main.ts). */
const EXIT = { ok: 0, error: 1, paused: 3, rolledBack: 4, progressing: 6 } as const;

const noGates = () => Promise.resolve({ approved: false, by: 'nobody' });

function git(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => {
      if (error) reject(new Error(`git ${args.join(' ')}: ${error.message}`, { cause: error }));
      else resolve(stdout);
    });
  });
}

async function preflightOf(loaded: LoadedRollout, flags: StateBackendFlags): Promise<PreflightReport> {
  const session = await openEngine(loaded, {
    emit: () => undefined,
    gates: noGates,
    lock: false,
    store: await createStateBackend(loaded.statePath, flags),
  });
  try {
    return await session.engine.preflightReport();
  } finally {
    await session.close();
  }
}

function maxObserveMs(loaded: LoadedRollout): number {
  return Math.max(0, ...loaded.plan.waves.map((w) => w.observeMs));
}

/** Explains where the state will be committed and whether branch protection stands in the way. */
async function explainStateLocation(
  scm: RolloutScm,
  loaded: LoadedRollout,
  flags: StateBackendFlags,
  ctx: ActionsContext,
): Promise<{ severity: 'notice' | 'warning'; message: string }> {
  if (!usesGitHubBackend(flags)) {
    return {
      severity: 'notice',
      message: `state: ${loaded.statePath} on this runner, committed with git (local backend)`,
    };
  }
  const target = await resolveStateTarget(loaded.statePath, flags, ctx);
  const branch = await scm.getBranch(target.branch);
  if (target.createFrom) {
    return {
      severity: 'notice',
      message: `state: ${target.path} on the dedicated branch ${target.branch} (${branch ? 'exists' : `will be created from ${target.createFrom}`}), committed through the contents API; the default branch stays untouched.`,
    };
  }
  if (branch?.protected) {
    return {
      severity: 'warning',
      message: `state: ${target.path} on ${target.branch}, which is protected: state commits made with GITHUB_TOKEN are refused unless its rules let github-actions push. Set \`state-branch\` (e.g. fleetgate-state) to keep state on a dedicated branch created from ${target.branch}.`,
    };
  }
  return {
    severity: 'notice',
    message: `state: ${target.path} on ${target.branch} (not protected), committed through the contents API after every wave.`,
  };
}

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
  const review = await findEnvironmentApproval(scm, ctx.runId, gate);
  if (!review) return state;
  for (const a of pending) {
    Object.assign(a, {
      by: `github:${review.user}`,
      comment: review.comment,
      via: `environment ${gate}`,
      ...(ctx.runUrl ? { run: ctx.runUrl } : {}),
    });
  }
  const written = await port.write(state);
  await port.commit(`fleetgate: ${loaded.spec.name} gate ${gate} approved by ${review.user}`);
  return written;
}

/** Registers `fleetgate github <command>` on the CLI program. */
export function registerGitHubCommands(program: Command): void {
  const gh = program.command('github').description(GITHUB_COMMAND_DESCRIPTION);
  registerSpecsCommand(gh);

  addStateBackendOptions(
    gh
      .command('plan')
      .description('plan outputs for the rollout workflow; job summary; sticky pull-request comment with --comment')
      .argument('<specs...>', 'rollout spec files')
      .option('--comment', 'create or update the sticky plan comment on the pull request')
      .option('--preflight', 'also probe every target read-only (version skew, policy)')
      .option('--audit', 'also read the gates’ environments (needs actions: read)')
      .option('--observe-environment <env>', 'environment whose wait timer holds observation windows', '')
      .option('--max-waves-per-run <n>', 'waves one run’s matrix holds (≤ 250)', '50')
      .option('--fallback-permission <permission>', 'permission a fallback approval needs', 'maintain'),
  ).action(
    async (
      specs: string[],
      flags: StateBackendFlags & {
        comment?: boolean;
        preflight?: boolean;
        audit?: boolean;
        observeEnvironment: string;
        maxWavesPerRun: string;
        fallbackPermission: string;
      },
    ) => {
      const ctx = readActionsContext();
      const reports: PlanReport[] = [];
      // Annotated once for all specs after the loop: GitHub caps annotations per step.
      const toAnnotate: Issue[] = [];
      let failed = false;
      let first: ReturnType<typeof planWorkflowRun> | undefined;
      let scm: RolloutScm | undefined;
      const needScm = flags.audit || flags.comment;
      if (needScm) scm = await createScmFromEnv(ctx);
      for (const specPath of specs) {
        const parsed = await readSpecFile(specPath);
        if (!parsed.ok) {
          toAnnotate.push(...parsed.errors, ...parsed.warnings);
          reports.push({ specPath, issues: [...parsed.errors, ...parsed.warnings] });
          failed = true;
          continue;
        }
        let loaded: LoadedRollout;
        try {
          loaded = await loadRollout(specPath);
        } catch (error) {
          const issues = (error as { issues?: PlanReport['issues'] }).issues;
          if (issues) toAnnotate.push(...issues);
          reports.push({
            specPath,
            issues: issues ?? [
              { file: specPath, line: 0, col: 0, path: '', message: (error as Error).message, severity: 'error' },
            ],
          });
          failed = true;
          continue;
        }
        const state = await readStateWithBackend(loaded.statePath, flags);
        let preflight: PlanReport['preflight'];
        if (flags.preflight) {
          preflight = ctx.fromFork
            ? { skipped: 'pull request from a fork: the fleet is not probed from untrusted code' }
            : await preflightOf(loaded, flags);
        } else {
          preflight = { skipped: 'preflight not requested' };
        }
        const audit =
          flags.audit && scm
            ? await auditEnvironments(scm, loaded.spec.gates, {
                observeEnvironment: flags.observeEnvironment || undefined,
                maxObserveMs: maxObserveMs(loaded),
                fallbackPermission: flags.fallbackPermission,
              })
            : undefined;
        for (const a of audit ?? [])
          if (a.severity === 'warning') annotate('warning', a.message, `fleetgate: gate ${a.gate}`);
        reports.push({ specPath, plan: loaded.plan, gates: loaded.spec.gates, state, preflight, audit });
        first ??= planWorkflowRun(loaded.spec, loaded.plan, state, {
          maxWavesPerRun: Number(flags.maxWavesPerRun),
          observeEnvironment: flags.observeEnvironment,
        });
      }
      await emitIssueAnnotations(toAnnotate);
      const footer = ctx.runUrl
        ? `Planned by [Fleetgate](${ctx.runUrl}) for ${ctx.sha ? code(ctx.sha.slice(0, 7)) : 'this commit'}.`
        : undefined;
      const body = renderPlanComment(reports, footer);
      writeSummary(body.replace(PLAN_COMMENT_MARKER, ''));
      let commentUrl = '';
      if (flags.comment) {
        if (!ctx.pullRequest) {
          annotate('notice', 'not a pull request: no plan comment');
        } else if (ctx.fromFork) {
          annotate(
            'notice',
            'pull request from a fork: its token is read-only, so the plan is in the job summary instead of a comment',
          );
        } else {
          try {
            const r = await upsertStickyComment(scm!, ctx.pullRequest, PLAN_COMMENT_MARKER, body);
            commentUrl = r.comment.htmlUrl;
            process.stdout.write(`plan comment ${r.action}: ${commentUrl}\n`);
          } catch (error) {
            if (!(error instanceof GitHubApiError) || error.status !== 403) throw error;
            annotate(
              'warning',
              `cannot comment (${error.message}): grant pull-requests: write; the plan is in the job summary`,
            );
          }
        }
      }
      if (first) {
        setOutputs({
          rollout: first.rollout,
          version: first.version,
          phase: first.phase,
          'has-work': first.hasWork,
          'idle-reason': first.idleReason ?? '',
          'canary-wave': first.canaryWave,
          'canary-environment': first.canaryEnvironment,
          'canary-wait': first.canaryWait,
          'promote-environment': first.promoteEnvironment,
          'observe-environment': first.observeEnvironment,
          waves: first.waves,
          'wave-count': first.waves.length,
          'more-waves': first.moreWaves,
          'short-windows': first.shortWindows,
          'max-observe-seconds': first.maxObserveSeconds,
          'last-known-good': first.lastKnownGood ?? '',
        });
      }
      setOutputs({ 'comment-url': commentUrl, valid: !failed });
      if (flags.preflight) {
        for (const r of reports) {
          if (r.preflight && !('skipped' in r.preflight) && !r.preflight.ok) failed = true;
        }
      }
      process.exitCode = failed ? EXIT.error : EXIT.ok;
    },
  );

  addStateBackendOptions(
    gh
      .command('preflight')
      .description('read-only: targets answer, version policy and skew, gate environments, where state is committed')
      .argument('<spec>', 'rollout spec file')
      .option('--no-probe', 'do not probe the targets')
      .option('--no-audit', 'do not read the environments')
      .option('--observe-environment <env>', 'environment whose wait timer holds observation windows', '')
      .option('--fallback-permission <permission>', 'permission a fallback approval needs', 'maintain'),
  ).action(
    async (
      spec: string,
      flags: StateBackendFlags & {
        probe: boolean;
        audit: boolean;
        observeEnvironment: string;
        fallbackPermission: string;
      },
    ) => {
      const ctx = readActionsContext();
      const loaded = await loadRollout(spec);
      const report = flags.probe ? await preflightOf(loaded, flags) : undefined;
      const needScm = flags.audit || usesGitHubBackend(flags);
      const scm = needScm ? await createScmFromEnv(ctx) : undefined;
      let audit: GateAudit[] = [];
      if (flags.audit && scm) {
        audit = await auditEnvironments(scm, loaded.spec.gates, {
          observeEnvironment: flags.observeEnvironment || undefined,
          maxObserveMs: maxObserveMs(loaded),
          fallbackPermission: flags.fallbackPermission,
        });
      }
      const location = scm
        ? await explainStateLocation(scm, loaded, flags, ctx)
        : { severity: 'notice' as const, message: `state: ${loaded.statePath} (local backend)` };
      for (const a of audit) annotate(a.severity, a.message, `fleetgate: gate ${a.gate}`);
      annotate(location.severity, location.message, 'fleetgate: state');
      if (report && !report.policy.ok) annotate('error', report.policy.message, 'fleetgate: version policy');
      for (const u of report?.unreachable.slice(0, 20) ?? [])
        annotate('error', `${u.id} did not answer: ${u.message}`, 'fleetgate: preflight');
      const state = await readStateWithBackend(loaded.statePath, flags);
      const section = renderPlanComment([
        {
          specPath: spec,
          plan: loaded.plan,
          gates: loaded.spec.gates,
          state,
          preflight: report ?? { skipped: '--no-probe' },
          audit,
        },
      ]).replace(PLAN_COMMENT_MARKER, '');
      const gateLines = audit.map((a) => `- ${a.severity === 'warning' ? '⚠️' : '✅'} ${a.message}`);
      writeSummary(
        [
          `## Fleetgate preflight: ${code(loaded.spec.name)} — ${report ? (report.ok ? '✅ ready' : '❌ not ready') : 'targets not probed'}`,
          '',
          ...(gateLines.length > 0 ? ['### Gates', '', ...gateLines, ''] : []),
          '### State',
          '',
          `- ${location.severity === 'warning' ? '⚠️' : 'ℹ️'} ${location.message}`,
          '',
          section,
        ].join('\n'),
      );
      setOutputs({
        ok: report ? report.ok : true,
        'gates-protected': audit.filter((a) => a.gate !== 'observe').every((a) => a.verdict === 'protected'),
        audit,
        'state-location': location.message,
        versions: report?.versions ?? {},
      });
      if (report && !report.ok) process.stderr.write(`preflight: ${loaded.spec.name} is not ready\n`);
      process.exitCode = report && !report.ok ? EXIT.error : EXIT.ok;
    },
  );

  gh.command('gate')
    .description(
      'before a gated wave: is the environment this job waited on an approval? (outputs approve=<env> or empty)',
    )
    .argument('<spec>', 'rollout spec file')
    .requiredOption('--gate <environment>', 'the environment the job named')
    .action(async (_spec: string, flags: { gate: string }) => {
      const ctx = readActionsContext();
      const scm = await createScmFromEnv(ctx);
      let approve = '';
      let how: string;
      try {
        const env = await scm.getEnvironment(flags.gate);
        if (env && env.reviewers.length > 0) {
          approve = flags.gate;
          how = `environment ${flags.gate} requires reviewers and this job passed it`;
        } else {
          how = `environment ${flags.gate} ${env ? 'has no required reviewers' : 'does not exist'}: the gate needs a fallback approval (decide workflow, continue)`;
        }
      } catch (error) {
        if (!(error instanceof GitHubApiError)) throw error;
        how = `cannot read environment ${flags.gate} (${error.message}); not treating the job as approved`;
      }
      annotate(approve ? 'notice' : 'warning', how, `fleetgate: gate ${flags.gate}`);
      setOutputs({ approve, how });
    });

  addStateBackendOptions(
    gh
      .command('summary')
      .description('job summary of a phase (wave table, diagram, approvals) and its outputs; exits by --fail-on')
      .argument('<spec>', 'rollout spec file')
      .requiredOption('--phase <name>', 'phase name for the title (wave, analyze, decide, rollback)')
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
        phase: string;
        resultFile?: string;
        exitCode: string;
        failOn: string;
        recordGate?: string;
        deploymentEnvironment?: string;
      },
    ) => {
      const ctx = readActionsContext();
      const exitCode = Number(flags.exitCode);
      const loaded = await loadRollout(spec);
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
      writeSummary(
        renderRunSummary({
          phase: flags.phase,
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
        const depState: DeploymentState =
          outcome === 'Healthy'
            ? 'success'
            : outcome === 'Progressing' || outcome === 'Paused'
              ? 'in_progress'
              : 'failure';
        try {
          const dep = await scm.createDeployment({
            ref: ctx.sha,
            environment: flags.deploymentEnvironment,
            description:
              `${loaded.spec.name} ${state?.toVersion ?? loaded.spec.version}: ${flags.phase} ${state?.currentWave ?? ''}`.trim(),
            payload: { rollout: loaded.spec.name, wave: state?.currentWave ?? '', outcome },
            productionEnvironment: outcome === 'Healthy',
          });
          await scm.createDeploymentStatus(dep.id, {
            state: depState,
            description: `${outcome}${result?.reason ? ` (${result.reason})` : ''}`,
            logUrl: ctx.runUrl,
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
      });
      process.exitCode = failingCodes(flags.failOn).has(exitCode) ? EXIT.error : EXIT.ok;
    },
  );

  gh.command('authorize')
    .description('refuse unless the user has the permission (collaborator-permission API) or is in a listed team')
    .addOption(new Option('--permission <permission>', 'least repository permission').default('maintain'))
    .option('--team <org/team...>', 'teams whose members are accepted too (token needs org members: read)')
    .option('--user <login>', 'user to check (default: who triggered this run)')
    .action(async (flags: { permission: string; team?: string[]; user?: string }) => {
      const ctx = readActionsContext();
      const user = flags.user || ctx.triggeringActor || '';
      try {
        const auth = await authorizeActor(await createScmFromEnv(ctx), user, {
          permission: parsePermission(flags.permission),
          teams: flags.team,
        });
        process.stdout.write(
          `${auth.user} may decide (${auth.team ? `member of ${auth.team}` : `${auth.permission} permission`})\n`,
        );
        setOutputs({ user: auth.user, permission: auth.permission, team: auth.team ?? '' });
      } catch (error) {
        if (!(error instanceof NotAuthorizedError)) throw error;
        annotate('error', error.message, 'fleetgate: not authorized');
        process.stderr.write(`fleetgate: ${error.message}\n`);
        process.exitCode = EXIT.error;
      }
    });

  gh.command('dispatch')
    .description('continue in a new workflow run (workflow_dispatch, returning the run id)')
    .option('--workflow <file>', 'workflow file (default: the running workflow, or its caller in a reusable workflow)')
    .option('--ref <ref>', 'branch the run uses (default: the default branch)')
    .option('--input <key=value...>', 'workflow inputs (at most 25)')
    .action(async (flags: { workflow?: string; ref?: string; input?: string[] }) => {
      const ctx = readActionsContext();
      const workflow = flags.workflow || workflowFileOf(ctx.workflowRef);
      const ref = flags.ref || ctx.defaultBranch || process.env.GITHUB_REF_NAME;
      if (!workflow || !ref) throw new NotAuthorizedError('dispatch: pass --workflow and --ref');
      const inputs: Record<string, string> = {};
      for (const pair of flags.input ?? []) {
        const eq = pair.indexOf('=');
        if (eq <= 0) throw new NotAuthorizedError(`--input must be key=value (got ${pair})`);
        inputs[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      if (Object.keys(inputs).length > 25) throw new NotAuthorizedError('workflow_dispatch takes at most 25 inputs');
      const run = await (await createScmFromEnv(ctx)).dispatchWorkflow({ workflow, ref, inputs });
      process.stdout.write(`dispatched ${workflow} on ${ref}${run.htmlUrl ? `: ${run.htmlUrl}` : ''}\n`);
      writeSummary(
        `Continues in a new run of ${code(workflow)}${run.htmlUrl ? `: [run ${run.runId}](${run.htmlUrl})` : ' (the server did not return the run id)'}.`,
      );
      setOutputs({ 'run-id': run.runId ?? '', 'run-url': run.runUrl ?? '', 'html-url': run.htmlUrl ?? '' });
    });

  addStateBackendOptions(
    gh
      .command('commit-state')
      .description('commit the state file through the contents API against the revision the job started from')
      .argument('<spec>', 'rollout spec file')
      .option('--base-ref <ref>', 'git revision holding the state this job started from', 'HEAD')
      .option('--message <text>', 'commit message'),
  ).action(async (spec: string, flags: StateBackendFlags & { baseRef: string; message?: string }) => {
    const ctx = readActionsContext();
    const loaded = await loadRollout(spec);
    const scm = await createScmFromEnv(ctx);
    const target = await resolveStateTarget(loaded.statePath, flags, ctx);
    const local = await readState(loaded.statePath);
    if (!local) throw new StateConflictError(`${loaded.statePath} does not exist: nothing to commit`, 0, 0);
    const root = (await git('.', ['rev-parse', '--show-toplevel'])).trim();
    let base: { state: RolloutState; sha: string } | undefined;
    try {
      const text = await git(root, ['show', `${flags.baseRef}:${target.path}`]);
      const sha = (await git(root, ['rev-parse', `${flags.baseRef}:${target.path}`])).trim();
      base = { state: parseState(text, `${flags.baseRef}:${target.path}`), sha };
    } catch {
      base = undefined;
    }
    if (target.createFrom && !(await scm.getBranch(target.branch))) {
      const from = await scm.getBranch(target.createFrom);
      if (from)
        await scm.createBranch(target.branch, from.sha).catch((e: unknown) => {
          if (!(e instanceof ScmConflictError)) throw e;
        });
    }
    const message = flags.message ?? `fleetgate: ${loaded.spec.name} state at revision ${local.revision}`;
    let toWrite = local;
    let expectedSha = base?.sha;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const r = await scm.writeFile({
          path: target.path,
          content: serializeState(toWrite),
          message,
          branch: target.branch,
          sha: expectedSha,
        });
        process.stdout.write(
          `committed ${target.path} (revision ${toWrite.revision}) on ${target.branch}: ${r.commitSha}\n`,
        );
        setOutputs({ 'commit-sha': r.commitSha, revision: toWrite.revision, merged: toWrite !== local });
        return;
      } catch (error) {
        if (!(error instanceof ScmConflictError)) throw error;
        const remote = await scm.readFile(target.path, target.branch);
        const remoteState = remote ? parseState(remote.content, `${target.branch}:${target.path}`) : undefined;
        const verdict = mergeRemoteState(base?.state, remoteState, local);
        if (!verdict.ok) {
          throw new StateConflictError(
            `${target.path} on ${target.branch} changed since this job started (revision ${base?.state.revision ?? 0} → ${remoteState?.revision ?? 0}): ${verdict.reason}. Not overwritten.`,
            base?.state.revision ?? 0,
            remoteState?.revision ?? 0,
          );
        }
        toWrite = verdict.merged;
        expectedSha = remote?.sha;
      }
    }
    throw new StateConflictError(`${target.path}: still refused after 3 merges; not overwritten`, local.revision, 0);
  });
}
