/**
 * Local mode: the state file next to the spec, made durable with git commits
 * when the spec lives in a git work tree.
 */
import type { StatePort } from './port.js';
import type { Clock } from '../util/clock.js';
import { createGitCommitter, findRepoRoot, type StateCommitter } from './git.js';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { readState, writeState } from './store.js';
import type { RolloutState } from './types.js';

export interface LocalStatePortOptions {
  /** Path of the state file (`rollouts/<name>.state.yaml`). */
  path: string;
  clock: Clock;
  /** Commit with git after every wave (default: when the file is inside a git work tree). */
  commit?: boolean;
}

/** Creates the local state port. Resolves the git repository once. */
export async function createLocalStatePort(opts: LocalStatePortOptions): Promise<StatePort & { repoRoot?: string }> {
  const repoRoot = opts.commit === false ? undefined : await findRepoRoot(opts.path);
  const committer: StateCommitter | undefined = repoRoot ? createGitCommitter(repoRoot) : undefined;
  return {
    location: opts.path,
    repoRoot,
    read: () => readState(opts.path),
    write: (state) => writeState(opts.path, state, state.revision, opts.clock.now()),
    async commit(message) {
      if (committer) await committer.commit(opts.path, message);
    },
    siblings: () => readSiblingStates(opts.path),
  };
}

/**
 * The states of the other rollouts in the folder of `statePath` (`*.state.yaml`), for the
 * rule that two rollouts never hold the same target. A state that cannot be read is skipped.
 */
export async function readSiblingStates(statePath: string): Promise<RolloutState[]> {
  const dir = dirname(resolve(statePath));
  const own = basename(statePath);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.state.yaml') && n !== own);
  const states = await Promise.all(names.map((n) => readState(join(dir, n)).catch(() => undefined)));
  return states.filter((s): s is RolloutState => s !== undefined);
}
