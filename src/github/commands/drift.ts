/**
 * `fleetgate github drift`: the scheduled drift check. Reads the rollout's state through
 * the chosen backend (the state branch on GitHub), asks every target its version, and
 * keeps one issue per rollout in step with the result (src/github/drift-issue.ts). A
 * rollout in flight is not checked: its targets are moving on purpose.
 */
import type { Command } from 'commander';
import { detectDrift, formatDrift } from '../../app/drift.js';
import { loadRollout } from '../../app/session.js';
import { createScmFromEnv, readActionsContext } from '../actions-env.js';
import { addStateBackendOptions, readStateWithBackend, type StateBackendFlags } from '../backend.js';
import { syncDriftIssue } from '../drift-issue.js';
import { code } from '../markdown.js';
import { setOutputs, writeSummary } from '../runner-io.js';

/** Phases whose targets are being moved by the rollout itself: no drift check then. */
const MOVING = new Set(['Progressing', 'RollingBack']);

/** Adds `drift` to the `github` command group. */
export function registerDriftCommand(gh: Command): void {
  addStateBackendOptions(
    gh
      .command('drift')
      .description('compare every target with the state and open, update or close the rollout’s drift issue')
      .argument('<spec>', 'rollout spec file')
      .option('--no-issue', 'report only: do not touch issues'),
  ).action(async (spec: string, flags: StateBackendFlags & { issue: boolean }) => {
    const ctx = readActionsContext();
    const loaded = await loadRollout(spec, { judgeTargets: false });
    const state = await readStateWithBackend(loaded.statePath, flags);
    if (state && MOVING.has(state.phase)) {
      const why = `${loaded.spec.name} is ${state.phase} at ${state.currentWave ?? 'its start'}: its targets are moving, drift is not checked now`;
      process.stdout.write(`${why}\n`);
      writeSummary(`### Drift: ${code(loaded.spec.name)}\n\n${why}.`);
      setOutputs({ drifted: 0, checked: 0, 'issue-action': 'skipped', 'issue-url': '' });
      return;
    }
    const report = await detectDrift(loaded, state);
    process.stdout.write(`${formatDrift(report)}\n`);
    const synced = flags.issue
      ? await syncDriftIssue(await createScmFromEnv(ctx), report, { spec, runUrl: ctx.runUrl })
      : { action: 'none' as const };
    const issueLine =
      'issue' in synced && synced.issue
        ? ` Issue [#${synced.issue.number}](${synced.issue.htmlUrl}): ${synced.action}.`
        : '';
    writeSummary(
      `### Drift: ${code(loaded.spec.name)}\n\n${
        report.drifted.length === 0
          ? `All ${report.checked} targets report what the state says they run.`
          : `${report.drifted.length} of ${report.checked} targets drifted.`
      }${issueLine}`,
    );
    setOutputs({
      drifted: report.drifted.length,
      checked: report.checked,
      'issue-action': synced.action,
      'issue-url': 'issue' in synced && synced.issue ? synced.issue.htmlUrl : '',
    });
  });
}
