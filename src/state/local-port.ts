/**
 * Local mode: the state file next to the spec, made durable with git commits
 * when the spec lives in a git work tree.
 */
import type { StatePort } from './port.js';
import type { Clock } from '../util/clock.js';
import { createGitCommitter, findRepoRoot, type StateCommitter } from './git.js';
import { readState, writeState } from './store.js';

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
  };
}
