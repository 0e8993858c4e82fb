/**
 * `fleetgate github dispatch`: continuing a rollout in a new workflow run (`workflow_dispatch`).
 */
import type { Command } from 'commander';
import { createScmFromEnv, readActionsContext, workflowFileOf } from '../actions-env.js';
import { NotAuthorizedError } from '../errors.js';
import { code } from '../markdown.js';
import { setOutputs, writeSummary } from '../runner-io.js';

/** Adds `dispatch` to the `github` command group. */
export function registerDispatchCommand(gh: Command): void {
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
}
