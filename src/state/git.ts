/**
 * Local-mode durability: commits the state file with the real `git` binary
 * (argv only, no shell). One commit per wave; a refused commit is an error
 * the engine stops on.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, readlink, rename, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { StateWriteError } from '../errors.js';

function git(cwd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // LC_ALL=C: the messages matched below (lock exists, nothing to commit) are git's English ones.
    execFile(
      'git',
      args,
      { cwd, env: { ...(env ?? process.env), LC_ALL: 'C' }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(Object.assign(error as Error, { stdout, stderr }));
        else resolve({ stdout, stderr });
      },
    );
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
   * @returns true when a commit was made, false when there was nothing to commit.
   * @throws StateWriteError when git refuses.
   */
  commit(file: string, message: string): Promise<boolean>;
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
  let gitDir: string | undefined;
  async function commonGitDir(e: NodeJS.ProcessEnv): Promise<string> {
    if (gitDir) return gitDir;
    const { stdout } = await git(repoRoot, ['rev-parse', '--git-common-dir'], e);
    const dir = stdout.trim();
    gitDir = isAbsolute(dir) ? dir : resolve(repoRoot, dir);
    return gitDir;
  }
  /**
   * One `git commit --only` of the file (one process: the commit stages it itself).
   * A file git does not know yet (the rollout's first commit) is added first.
   * @returns false when the file is unchanged since the last commit
   */
  async function commitOnce(rel: string, message: string): Promise<boolean> {
    const e = await env();
    // No automatic housekeeping (`git maintenance run --auto`, a process per commit): it runs with
    // the repository's next commit of another kind instead.
    const commit = () =>
      git(
        repoRoot,
        [
          '-c',
          'maintenance.auto=false',
          '-c',
          'gc.auto=0',
          'commit',
          '--quiet',
          '--no-verify',
          '-m',
          message,
          '--only',
          '--',
          rel,
        ],
        e,
      );
    try {
      await commit();
      return true;
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      if (NOTHING_TO_COMMIT.test(stdout)) return false;
      if (!UNTRACKED_PATH.test(stderr)) throw error;
    }
    await git(repoRoot, ['add', '--', rel], e);
    await commit();
    return true;
  }
  return {
    async commit(file, message) {
      const rel = relative(repoRoot, file);
      const removed: string[] = [];
      const deadline = Date.now() + LOCK_WAIT_MS;
      for (let attempt = 0; ; attempt++) {
        try {
          const note =
            removed.length === 0
              ? ''
              : `\n\nRemoved ${removed.map((l) => relative(repoRoot, l)).join(', ')}: left by a git process that was killed (no process had it open).`;
          return await commitOnce(rel, `${message}${note}`);
        } catch (error) {
          const stderr = (error as { stderr?: string }).stderr?.trim() ?? '';
          const lock = LOCK_EXISTS.exec(stderr)?.[1];
          let why = '';
          if (lock !== undefined) {
            const verdict = await lockVerdict(lock, await commonGitDir(await env()).catch(() => undefined));
            if (verdict.stale && removed.length < 3) {
              // Move it aside first, so two cleaners cannot both remove a fresh lock.
              const aside = `${lock}.stale.${process.pid}`;
              const moved = await rename(lock, aside).then(
                () => true,
                () => false,
              );
              if (moved) {
                await unlink(aside).catch(() => undefined);
                removed.push(lock);
              }
              continue;
            }
            why = ` (${verdict.why})`;
            if (Date.now() < deadline) {
              await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 1000)));
              continue;
            }
          }
          throw new StateWriteError(`git refused to commit ${rel}: ${stderr || (error as Error).message}${why}`, {
            cause: error,
          });
        }
      }
    },
  };
}

/** How long a commit waits for another git process's lock before giving up (ms). */
const LOCK_WAIT_MS = 5_000;
/** A lock file younger than this is never taken for stale (ms): git holds them for milliseconds. */
const STALE_LOCK_AGE_MS = 2_000;
/** `fatal: Unable to create '/repo/.git/index.lock': File exists.` (and the same for ref locks). */
const LOCK_EXISTS = /Unable to create '([^']+\.lock)': File exists/;
/** `git commit` of a file whose content is already committed (on stdout, exit 1). */
const NOTHING_TO_COMMIT = /nothing to commit|no changes added to commit/;
/** `git commit --only -- <path>` of a file git does not track yet. */
const UNTRACKED_PATH = /did not match any file\(s\) known to git/;

/**
 * Whether a git lock file is stale: left by a git process that was killed (a
 * `kill -9` of a job kills git mid-commit). Stale only when it is inside this
 * repository's git folder, is older than {@link STALE_LOCK_AGE_MS}, no process
 * on this host has it open and no `git` process works in this repository
 * (Linux `/proc`). Anywhere else, or when `/proc` cannot tell, it is live: git
 * does not remove such locks by itself either, and removing a live one corrupts
 * the index.
 */
async function lockVerdict(lock: string, gitDir: string | undefined): Promise<{ stale: boolean; why: string }> {
  const held = (reason: string) => ({ stale: false, why: `${lock} exists: ${reason}` });
  if (gitDir === undefined || !resolve(lock).startsWith(`${gitDir}${sep}`))
    return held("not in this repository's git folder");
  let age: number;
  try {
    age = Date.now() - (await stat(lock)).mtimeMs;
  } catch {
    return { stale: true, why: 'gone' };
  }
  if (age < STALE_LOCK_AGE_MS) return held('another git process is working in this repository');
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  } catch {
    return held(`cannot tell whether a git process still holds it; if none runs, remove it`);
  }
  const repo = dirname(gitDir);
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === 'git') {
      const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
      if (cwd === repo || cwd.startsWith(`${repo}${sep}`) || cwd.startsWith(`${gitDir}${sep}`) || cwd === gitDir)
        return held(`git process ${pid} is working in this repository`);
    }
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === resolve(lock))
        return held(`process ${pid} has it open`);
    }
  }
  return { stale: true, why: `no process has it open, ${Math.round(age / 1000)} s old` };
}
