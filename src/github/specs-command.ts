/**
 * `fleetgate github specs`: prints (and sets as step outputs) the specs a workflow run is
 * about, chosen by {@link selectSpecs} from the event. Used by the `specs` action, so every
 * workflow picks specs the same way.
 */
import type { Command } from 'commander';
import { loadRollout } from '../app/session.js';
import { readActionsContext } from './actions-env.js';
import { addStateBackendOptions, readStateWithBackend, type StateBackendFlags } from './backend.js';
import { code } from './markdown.js';
import { setOutputs, writeSummary } from './runner-io.js';
import { assessScheduleTick } from './schedule-idle.js';
import { selectSpecs } from './specs.js';
import { planWorkflowRun } from './workflow-plan.js';

/**
 * The specs among `specs` a schedule tick can skip, and why ({@link assessScheduleTick}). A
 * spec that does not load is kept: its rollout run reports the problem.
 */
async function idleSpecs(specs: string[], flags: StateBackendFlags, nowMs: number): Promise<Map<string, string>> {
  const idle = new Map<string, string>();
  for (const path of specs) {
    let loaded: Awaited<ReturnType<typeof loadRollout>>;
    try {
      loaded = await loadRollout(path);
    } catch {
      continue;
    }
    const state = await readStateWithBackend(loaded.statePath, flags);
    const tick = assessScheduleTick(planWorkflowRun(loaded.spec, loaded.plan, state), state, nowMs);
    if (tick.idle) idle.set(path, tick.why ?? 'idle');
  }
  return idle;
}

/** Adds `specs` to the `github` command group. */
export function registerSpecsCommand(gh: Command): void {
  addStateBackendOptions(
    gh
      .command('specs')
      .description(
        'list the rollout specs this run is about (push: before..after; pull request; dispatch input; schedule: all)',
      )
      .option('--event <name>', 'event name (default: GITHUB_EVENT_NAME)')
      .option('--before <sha>', "push: the commit before the push (default: the event's before)")
      .option('--after <sha>', 'push: the commit after it (default: GITHUB_SHA)')
      .option('--spec <path>', 'workflow_dispatch: the spec input')
      .option('--skip-idle', 'leave out specs with nothing to do now (finished, waiting for a person, window open)')
      .option('--json', 'print the list as JSON'),
  ).action(
    async (
      flags: StateBackendFlags & {
        event?: string;
        before?: string;
        after?: string;
        spec?: string;
        skipIdle?: boolean;
        json?: boolean;
      },
    ) => {
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
      const idle = flags.skipIdle ? await idleSpecs(selection.specs, flags, Date.now()) : new Map<string, string>();
      selection.specs = selection.specs.filter((s) => !idle.has(s));
      process.stdout.write(
        flags.json ? `${JSON.stringify(selection)}\n` : selection.specs.map((s) => `${s}\n`).join(''),
      );
      if (process.env.GITHUB_ACTIONS === 'true') {
        const skipped = selection.skipped.map((s) => `- ${code(s.path)}: ${s.why}`).join('\n');
        const idleLines = [...idle].map(([path, why]) => `- ${code(path)}: ${why}`).join('\n');
        writeSummary(
          `**Specs**: ${selection.how}: ${selection.specs.length === 0 ? 'none' : selection.specs.map(code).join(', ')}.${idleLines ? `\n\nNothing to do now (no rollout run started):\n${idleLines}` : ''}${skipped ? `\n\nNot specs:\n${skipped}` : ''}`,
        );
      }
      setOutputs({
        specs: selection.specs,
        list: selection.specs.join('\n'),
        count: selection.specs.length,
        idle: [...idle.keys()],
      });
    },
  );
}
