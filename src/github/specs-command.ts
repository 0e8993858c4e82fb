/**
 * `fleetgate github specs`: prints (and sets as step outputs) the specs a workflow run is
 * about, chosen by {@link selectSpecs} from the event. Used by the `specs` action, so every
 * workflow picks specs the same way.
 */
import type { Command } from 'commander';
import { readActionsContext } from './actions-env.js';
import { code } from './markdown.js';
import { setOutputs, writeSummary } from './runner-io.js';
import { selectSpecs } from './specs.js';

/** Adds `specs` to the `github` command group. */
export function registerSpecsCommand(gh: Command): void {
  gh.command('specs')
    .description(
      'list the rollout specs this run is about (push: before..after; pull request; dispatch input; schedule: all)',
    )
    .option('--event <name>', 'event name (default: GITHUB_EVENT_NAME)')
    .option('--before <sha>', "push: the commit before the push (default: the event's before)")
    .option('--after <sha>', 'push: the commit after it (default: GITHUB_SHA)')
    .option('--spec <path>', 'workflow_dispatch: the spec input')
    .option('--json', 'print the list as JSON')
    .action(async (flags: { event?: string; before?: string; after?: string; spec?: string; json?: boolean }) => {
      const ctx = readActionsContext();
      const event = flags.event ?? ctx.eventName ?? '';
      const before = flags.before ?? (typeof ctx.event.before === 'string' ? ctx.event.before : undefined);
      const after = flags.after ?? ctx.sha;
      const selection = await selectSpecs({
        event,
        ...(before !== undefined && { before }),
        ...(after !== undefined && { after }),
        ...(flags.spec !== undefined && { input: flags.spec }),
        cwd: process.cwd(),
      });
      process.stdout.write(
        flags.json ? `${JSON.stringify(selection)}\n` : selection.specs.map((s) => `${s}\n`).join(''),
      );
      if (process.env.GITHUB_ACTIONS === 'true') {
        const skipped = selection.skipped.map((s) => `- ${code(s.path)}: ${s.why}`).join('\n');
        writeSummary(
          `**Specs**: ${selection.how}: ${selection.specs.length === 0 ? 'none' : selection.specs.map(code).join(', ')}.${skipped ? `\n\nNot specs:\n${skipped}` : ''}`,
        );
      }
      setOutputs({ specs: selection.specs, list: selection.specs.join('\n'), count: selection.specs.length });
    });
}
