/**
 * `git` in a throw-away repository of a test or benchmark, with a fixed author
 * and committer (a fresh machine or CI runner has no git identity). Argv only.
 */
import { execFileSync } from 'node:child_process';

/** Runs `git args…` in `dir`; returns its stdout. @throws when git exits non-zero */
export function gitIn(dir: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'test',
      GIT_AUTHOR_EMAIL: 'test@localhost',
      GIT_COMMITTER_NAME: 'test',
      GIT_COMMITTER_EMAIL: 'test@localhost',
    },
  });
}
