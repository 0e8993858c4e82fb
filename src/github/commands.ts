/**
 * `fleetgate github …`: the GitHub-only steps the composite actions call besides
 * `validate`, `run`, `resume` and `rollback` — plan outputs and the sticky PR
 * comment, preflight with the environment audit, gate checks, job summaries,
 * permission checks, dispatching a continuation run, and committing a state file
 * through the API. Each is a thin adapter in its own module under `commands/`:
 * read inputs, call the GitHub layer, write outputs and a summary.
 */
import type { Command } from 'commander';
import { GITHUB_COMMAND_DESCRIPTION } from './command-info.js';
import { registerAuthorizeCommand } from './commands/authorize.js';
import { registerCommitStateCommand } from './commands/commit-state.js';
import { registerDispatchCommand } from './commands/dispatch.js';
import { registerDriftCommand } from './commands/drift.js';
import { registerGateCommand } from './commands/gate.js';
import { registerPlanCommand } from './commands/plan.js';
import { registerPreflightCommand } from './commands/preflight.js';
import { registerSummaryCommand } from './commands/summary.js';
import { registerSpecsCommand } from './specs-command.js';

/** Registers `fleetgate github <command>` on the CLI program. */
export function registerGitHubCommands(program: Command): void {
  const gh = program.command('github').description(GITHUB_COMMAND_DESCRIPTION);
  registerSpecsCommand(gh);
  registerPlanCommand(gh);
  registerPreflightCommand(gh);
  registerGateCommand(gh);
  registerSummaryCommand(gh);
  registerAuthorizeCommand(gh);
  registerDispatchCommand(gh);
  registerCommitStateCommand(gh);
  registerDriftCommand(gh);
}
