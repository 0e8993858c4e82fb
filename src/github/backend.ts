/**
 * Chooses where the CLI keeps state: `local` (the file beside the spec, committed
 * with git) or `github` (the contents API, see state-port.ts). Used by
 * `src/cli/main.ts` for `--state-backend` / `--state-branch` (or the
 * `FLEETGATE_STATE_BACKEND` / `FLEETGATE_STATE_BRANCH` variables the actions set).
 */
import { relative, resolve, sep } from 'node:path';
import { Option, type Command } from 'commander';
import { systemClock, type Clock } from '../util/clock.js';
import type { StatePort } from '../state/port.js';
import { ConfigurationError } from '../errors.js';
import { findRepoRoot } from '../state/git.js';
import { readState } from '../state/store.js';
import type { RolloutState } from '../state/types.js';
import { createScmFromEnv, readActionsContext, type ActionsContext } from './actions-env.js';
import type { RolloutScm } from './scm.js';

/** The state options as the CLI parsed them. */
export interface StateBackendFlags {
  stateBackend?: string;
  stateBranch?: string;
}

/** Where the state of one rollout lives on GitHub. */
export interface GitHubStateTarget {
  /** Repository-relative path (`rollouts/edge.state.yaml`). */
  path: string;
  branch: string;
  /** Set when `branch` is a dedicated state branch: what to create it from. */
  createFrom?: string;
  defaultBranch?: string;
}

/** True when the flags (or the environment) ask for the GitHub backend. @throws ConfigurationError on an unknown value */
export function usesGitHubBackend(flags: StateBackendFlags): boolean {
  const backend = flags.stateBackend ?? 'local';
  if (backend !== 'local' && backend !== 'github') {
    throw new ConfigurationError(`--state-backend must be local or github (got ${backend})`);
  }
  return backend === 'github';
}

/** Repository-relative, `/`-separated path of a local file (relative to the git work tree, else the workspace). */
export async function repoRelativePath(localPath: string): Promise<string> {
  const abs = resolve(localPath);
  const root = (await findRepoRoot(abs)) ?? process.env.GITHUB_WORKSPACE ?? process.cwd();
  const rel = relative(root, abs);
  if (rel.startsWith('..')) throw new ConfigurationError(`${localPath} is outside the repository (${root})`);
  return rel.split(sep).join('/');
}

/**
 * Resolves path and branch: `--state-branch`, else the default branch named by the
 * event payload. A state branch other than the default branch is created from it.
 * @throws ConfigurationError when no branch can be determined
 */
export async function resolveStateTarget(
  statePath: string,
  flags: StateBackendFlags,
  ctx: ActionsContext = readActionsContext(),
): Promise<GitHubStateTarget> {
  const path = await repoRelativePath(statePath);
  const defaultBranch = ctx.defaultBranch;
  const branch = flags.stateBranch || defaultBranch;
  if (!branch) {
    throw new ConfigurationError(
      'cannot tell which branch holds the state: pass --state-branch (the action passes the default branch)',
    );
  }
  return {
    path,
    branch,
    defaultBranch,
    createFrom: defaultBranch && branch !== defaultBranch ? defaultBranch : undefined,
  };
}

/**
 * The state port for the flags: `undefined` for the local backend (the caller
 * keeps its default), the GitHub port otherwise.
 */
export async function createStateBackend(
  statePath: string,
  flags: StateBackendFlags,
  opts: { clock?: Clock; scm?: RolloutScm; ctx?: ActionsContext } = {},
): Promise<StatePort | undefined> {
  if (!usesGitHubBackend(flags)) return undefined;
  const ctx = opts.ctx ?? readActionsContext();
  const target = await resolveStateTarget(statePath, flags, ctx);
  const { createGitHubStatePort } = await import('./state-port.js');
  return createGitHubStatePort({
    scm: opts.scm ?? (await createScmFromEnv(ctx)),
    path: target.path,
    localPath: statePath,
    branch: target.branch,
    createFrom: target.createFrom,
    clock: opts.clock ?? systemClock,
  });
}

/** Reads the state through the chosen backend (the GitHub branch, or the local file). */
export async function readStateWithBackend(
  statePath: string,
  flags: StateBackendFlags,
): Promise<RolloutState | undefined> {
  const port = await createStateBackend(statePath, flags);
  return port ? port.read() : readState(statePath);
}

/**
 * Adds `--state-backend local|github` and `--state-branch <branch>` to a command
 * (also read from `FLEETGATE_STATE_BACKEND` / `FLEETGATE_STATE_BRANCH`).
 */
export function addStateBackendOptions<T extends Command>(cmd: T): T {
  cmd.addOption(
    new Option('--state-backend <backend>', 'where the state lives: local file + git, or the GitHub contents API')
      .choices(['local', 'github'])
      .env('FLEETGATE_STATE_BACKEND'),
  );
  cmd.addOption(
    new Option(
      '--state-branch <branch>',
      'with --state-backend github: branch holding the state (default: the default branch; another is created from it)',
    ).env('FLEETGATE_STATE_BRANCH'),
  );
  return cmd;
}
