/**
 * `fleetgate github plan`: plan outputs for the rollout workflow, its job summary and the sticky pull-request comment.
 */
import type { Command } from 'commander';
import type { Issue } from '../../spec/issue.js';
import { readSpecFile } from '../../spec/parse.js';
import { loadRollout, type LoadedRollout } from '../../app/session.js';
import { createScmFromEnv, readActionsContext } from '../actions-env.js';
import { emitIssueAnnotations } from '../annotations.js';
import { addStateBackendOptions, readStateWithBackend, type StateBackendFlags } from '../backend.js';
import { upsertStickyComment } from '../comment.js';
import { auditEnvironments } from '../environments.js';
import { GitHubApiError } from '../errors.js';
import { PLAN_COMMENT_MARKER, code, renderPlanComment, type PlanReport } from '../markdown.js';
import { estimateCell, suggestionLines } from '../learning-markdown.js';
import { learnFromHistory } from '../../app/plan-learning.js';
import { describeSafeguards, planSafeguards } from '../../plan/safeguards.js';
import type { RolloutScm } from '../scm.js';
import { annotate, setOutputs, writeSummary } from '../runner-io.js';
import { planWorkflowRun, SHORT_WINDOW_MS } from '../workflow-plan.js';
import { EXIT, preflightOf, maxObserveMs } from './shared.js';

/**
 * `name` when its wait timer (read from GitHub) covers the spec's long observation windows, or
 * when they are all short enough to wait out on a runner; else `''`, with a warning: the run is
 * planned as without a wait-timer environment (one wave per run, no job waiting on it), instead
 * of a matrix whose every job would find the window still open (issue 12, items 3 and 8).
 */
async function observeEnvironmentThatCovers(scm: RolloutScm, loaded: LoadedRollout, name: string): Promise<string> {
  if (!name || maxObserveMs(loaded) < SHORT_WINDOW_MS) return name;
  const [audit] = await auditEnvironments(scm, {}, { observeEnvironment: name, maxObserveMs: maxObserveMs(loaded) });
  if (audit?.covers) return name;
  annotate(
    'warning',
    `planned as without observe-environment ${name}: ${audit?.message ?? 'its wait timer could not be read'}`,
    `fleetgate: observe ${name}`,
  );
  return '';
}

/** Adds `plan` to the `github` command group. */
export function registerPlanCommand(gh: Command): void {
  addStateBackendOptions(
    gh
      .command('plan')
      .description('plan outputs for the rollout workflow; job summary; sticky pull-request comment with --comment')
      .argument('<specs...>', 'rollout spec files')
      .option('--comment', 'create or update the sticky plan comment on the pull request')
      .option('--preflight', 'also probe every target read-only (version skew, policy)')
      .option('--audit', 'also read the gates’ environments (needs actions: read)')
      .option('--observe-environment <env>', 'environment whose wait timer holds observation windows', '')
      .option(
        '--read-observe-timer',
        'read the observe environment’s wait timer (needs actions: read) and plan as without it when it does not cover the windows',
      )
      .option('--max-waves-per-run <n>', 'waves one run’s matrix holds (≤ 250)', '50')
      .option('--fallback-permission <permission>', 'permission a fallback approval needs', 'maintain'),
  ).action(
    async (
      specs: string[],
      flags: StateBackendFlags & {
        comment?: boolean;
        preflight?: boolean;
        audit?: boolean;
        readObserveTimer?: boolean;
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
      const needScm = flags.audit || flags.comment || (flags.readObserveTimer && flags.observeEnvironment);
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
        // Learning from history (docs/history.md): the estimate from past rollouts, suggestions never applied.
        const learning = learnFromHistory(loaded.plan, state?.history ?? []);
        reports.push({
          specPath,
          plan: loaded.plan,
          gates: loaded.spec.gates,
          state,
          preflight,
          audit,
          estimate: estimateCell(learning),
          learned: suggestionLines(learning),
          safeguards: describeSafeguards(planSafeguards(loaded.spec, loaded.plan, state)),
        });
        if (!first) {
          const observeEnvironment =
            flags.readObserveTimer && scm
              ? await observeEnvironmentThatCovers(scm, loaded, flags.observeEnvironment)
              : flags.observeEnvironment;
          first = planWorkflowRun(loaded.spec, loaded.plan, state, {
            maxWavesPerRun: Number(flags.maxWavesPerRun),
            observeEnvironment,
          });
        }
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
          // Runner labels from the tiers (`tiers[].runsOn`), a JSON array or '' (the workflow's runs-on).
          'canary-runs-on': first.canaryRunsOn,
          'analyze-runs-on': first.analyzeRunsOn,
          'promote-runs-on': first.promoteRunsOn,
          'finalize-runs-on': first.finalizeRunsOn,
          waves: first.waves,
          'wave-count': first.waves.length,
          'more-waves': first.moreWaves,
          // Big waves across runners (tiers[].strategy.shards): '' when this run holds none.
          'sharded-wave': first.sharded?.wave ?? '',
          'shard-legs': first.sharded?.legs ?? [],
          'shard-wait': first.sharded?.wait ?? false,
          'shard-count': first.sharded?.shards ?? 0,
          'shard-runs-on': first.sharded?.['runs-on'],
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
}
