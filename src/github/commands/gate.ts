/**
 * `fleetgate github gate`: before a gated wave: whether the environment this job waited on counts as the gate's approval.
 */
import type { Command } from 'commander';
import { createScmFromEnv, readActionsContext } from '../actions-env.js';
import { GitHubApiError } from '../errors.js';
import { annotate, setOutputs } from '../runner-io.js';

/** Adds `gate` to the `github` command group. */
export function registerGateCommand(gh: Command): void {
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
}
