/**
 * `fleetgate github gate`: before a gated wave, whether the environment this job waited on was
 * approved in this run (issue 12, item 6). Counted only when the run's approvals
 * (`GET …/actions/runs/{run_id}/approvals`) show an approval of that environment not already
 * recorded in the state; an environment that merely has reviewers is not an approval (an
 * administrator may have bypassed them, and on some plans they are not available). Without one
 * the wave runs without `--approve` and the rollout pauses with `GatePending`, for a fallback
 * approval through the decide workflow.
 */
import type { Command } from 'commander';
import { loadRollout } from '../../app/session.js';
import { createScmFromEnv, readActionsContext } from '../actions-env.js';
import { countRecordedRunApprovals, findEnvironmentApproval } from '../approvals.js';
import { addStateBackendOptions, readStateWithBackend, type StateBackendFlags } from '../backend.js';
import { GitHubApiError } from '../errors.js';
import { annotate, setOutputs } from '../runner-io.js';
import type { EnvironmentInfo, RolloutScm, RunApproval } from '../scm.js';

const FALLBACK =
  'the rollout pauses with GatePending until someone with the permission approves it (decide workflow, continue)';

/** Why an environment the job waited on is not this run's approval, for the annotation. */
async function whyNotApproved(scm: RolloutScm, gate: string, earlier: number): Promise<string> {
  let env: EnvironmentInfo | undefined;
  try {
    env = await scm.getEnvironment(gate);
  } catch (error) {
    if (!(error instanceof GitHubApiError)) throw error;
    return `this run has no approval of environment ${gate}, and the environment could not be read (${error.message}): ${FALLBACK}`;
  }
  const again =
    earlier > 0
      ? ` (the ${earlier} approval${earlier === 1 ? '' : 's'} of an earlier attempt of this run ${earlier === 1 ? 'is' : 'are'} already recorded and not counted again)`
      : '';
  if (!env)
    return `environment ${gate} does not exist (the job created it without rules), so nobody approved it${again}: ${FALLBACK}`;
  if (env.reviewers.length === 0)
    return `environment ${gate} has no required reviewers (none configured, or not available for private repositories on this plan), so nobody approved this run${again}: ${FALLBACK}`;
  return `environment ${gate} requires reviewers, but this run's approvals show none for it (an administrator bypassed the rule?)${again}: not counted; ${FALLBACK}`;
}

/** Adds `gate` to the `github` command group. */
export function registerGateCommand(gh: Command): void {
  addStateBackendOptions(
    gh
      .command('gate')
      .description(
        'before a gated wave: was the environment this job waited on approved in this run? (outputs approve=<env> or empty)',
      )
      .argument('<spec>', 'rollout spec file')
      .requiredOption('--gate <environment>', 'the environment the job named'),
  ).action(async (spec: string, flags: StateBackendFlags & { gate: string }) => {
    const ctx = readActionsContext();
    const gate = flags.gate;
    let approval: RunApproval | undefined;
    let how: string;
    if (!ctx.runId) {
      how = `not in a workflow run (GITHUB_RUN_ID unset): environment ${gate} is not treated as approved`;
    } else {
      const scm = await createScmFromEnv(ctx);
      try {
        const loaded = await loadRollout(spec);
        const state = await readStateWithBackend(loaded.statePath, flags);
        // Approvals of this rollout only: a state still holding a finished rollout to another
        // version is about to be replaced by this one.
        const sameRollout = state?.toVersion === loaded.spec.version;
        const earlier = sameRollout ? countRecordedRunApprovals(state.approvals, gate, ctx.runUrl) : 0;
        approval = await findEnvironmentApproval(scm, ctx.runId, gate, earlier);
        how = approval
          ? `${approval.user} approved environment ${gate} in this run${approval.comment ? `: "${approval.comment}"` : ''}`
          : await whyNotApproved(scm, gate, earlier);
      } catch (error) {
        if (!(error instanceof GitHubApiError)) throw error;
        how = `cannot read this run's approvals (${error.message}; the job needs actions: read): environment ${gate} is not treated as approved; ${FALLBACK}`;
      }
    }
    annotate(approval ? 'notice' : 'warning', how, `fleetgate: gate ${gate}`);
    setOutputs({
      approve: approval ? gate : '',
      'approved-by': approval?.user ?? '',
      comment: approval?.comment ?? '',
      how,
    });
  });
}
