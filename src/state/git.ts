/**
 * Local-mode durability: commits the state file with the real `git` binary
 * (argv only, no shell). One commit per wave; a refused commit is an error
 * the engine stops on.
 */
import { execFile } from 'node:child_process';
import { dirname, relative } from 'node:path';
import { StateWriteError } from '../errors.js';

function git(cwd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env: env ?? process.env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error as Error, { stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

/** Top folder of the git work tree holding `path`, or `undefined` when it is not in one. */
export async function findRepoRoot(path: string): Promise<string | undefined> {
  try {
    const { stdout } = await git(dirname(path), ['rev-parse', '--show-toplevel']);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

export interface StateCommitter {
  /**
   * Commits `file` (only that file) with `message`. Does nothing when the file is unchanged.
   * @returns the new commit id, or `undefined` when there was nothing to commit.
   * @throws StateWriteError when git refuses.
   */
  commit(file: string, message: string): Promise<string | undefined>;
}

/**
 * Creates a committer for the repository at `repoRoot`. When the repository
 * has no `user.email`, commits are authored as `Fleetgate <fleetgate@localhost>`.
 */
export function createGitCommitter(repoRoot: string): StateCommitter {
  let identity: NodeJS.ProcessEnv | undefined;
  async function env(): Promise<NodeJS.ProcessEnv> {
    if (identity) return identity;
    let configured = true;
    try {
      await git(repoRoot, ['config', 'user.email']);
    } catch {
      configured = false;
    }
    identity = configured
      ? process.env
      : {
          ...process.env,
          GIT_AUTHOR_NAME: 'Fleetgate',
          GIT_AUTHOR_EMAIL: 'fleetgate@localhost',
          GIT_COMMITTER_NAME: 'Fleetgate',
          GIT_COMMITTER_EMAIL: 'fleetgate@localhost',
        };
    return identity;
  }
  return {
    async commit(file, message) {
      const rel = relative(repoRoot, file);
      try {
        const e = await env();
        await git(repoRoot, ['add', '--', rel], e);
        const { stdout } = await git(repoRoot, ['status', '--porcelain', '--', rel], e);
        if (stdout.trim() === '') return undefined;
        await git(repoRoot, ['commit', '--quiet', '--no-verify', '-m', message, '--only', '--', rel], e);
        const { stdout: sha } = await git(repoRoot, ['rev-parse', 'HEAD'], e);
        return sha.trim();
      } catch (error) {
        const stderr = (error as { stderr?: string }).stderr?.trim();
        throw new StateWriteError(`git refused to commit ${rel}: ${stderr || (error as Error).message}`, {
          cause: error,
        });
      }
    },
  };
}
