/**
 * The GitHub state backend: `rollouts/<name>.state.yaml` committed through the
 * contents API with the blob `sha` as compare-and-swap, on the default branch or
 * on a dedicated state branch (created when missing).
 *
 * - `read()` fetches the file from the branch (never the job's checkout, which is
 *   the commit the workflow started from, not the newest state) and mirrors it
 *   to the local path so later steps of the job see it.
 * - `write()` is the engine's frequent write (around the steps of every target):
 *   compare-and-swap on `revision` in memory, plus an atomic write of the local
 *   mirror. No API call.
 * - `commit()` (after every wave, pause and finish) sends the file with the blob
 *   sha this job last read or wrote. On 409/422 it re-reads: when the remote only
 *   appended approvals, or is another leg of a sharded wave that changed other targets than
 *   this one (`state-merge.ts`), it merges them in and retries; when the file is unchanged
 *   the branch itself refused the write (protection, a ruleset: GitHub answers 409
 *   for those too) and it throws `StateWriteError` naming the fix; otherwise it
 *   throws `StateConflictError` and writes nothing — never overwrites.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import type { Clock } from '../util/clock.js';
import type { StatePort } from '../state/port.js';
import { StateConflictError, StateWriteError } from '../errors.js';
import { serializeState } from '../state/format.js';
import { parseState } from '../state/parse.js';
import type { RolloutState } from '../state/types.js';
import { ScmConflictError } from './errors.js';
import type { RolloutScm } from './scm.js';
import { adoptMerged, mergeRemoteState } from './state-merge.js';

/** Options of {@link createGitHubStatePort}. */
export interface GitHubStatePortOptions {
  scm: RolloutScm;
  /** Repository-relative path of the state file (`rollouts/edge.state.yaml`). */
  path: string;
  /** Where the job's copy lives (the checkout's state file), kept in step with what is written. */
  localPath: string;
  /** Branch the state is committed to. */
  branch: string;
  /**
   * When `branch` is a dedicated state branch: the branch to create it from when
   * it does not exist yet (normally the default branch). Absent: the branch must exist.
   */
  createFrom?: string;
  clock: Clock;
  /** Merge attempts after a refused commit before giving up (default 3). */
  maxMergeAttempts?: number;
}

/** What the port did, for summaries and tests. */
export interface GitHubStatePortLog {
  commits: { sha: string; revision: number; message: string }[];
  merges: { remoteRevision: number; adopted: number }[];
  branchCreated?: string;
}

interface RemoteCopy {
  /** Blob sha; `undefined` while the file does not exist on the branch. */
  sha?: string;
  state?: RolloutState;
  text?: string;
}

async function writeMirror(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, text, 'utf8');
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}

/**
 * Creates the GitHub state port. Reads nothing until `read()`.
 *
 * On a merge, the approvals taken over from the remote are also pushed into the
 * state object last passed to `write()` (the engine's live state), and its
 * `revision` is moved past the remote's, so the engine's next compare-and-swap
 * and its gate checks see them.
 */
export function createGitHubStatePort(opts: GitHubStatePortOptions): StatePort & {
  readonly branch: string;
  readonly log: GitHubStatePortLog;
} {
  const { scm, path, branch } = opts;
  const log: GitHubStatePortLog = { commits: [], merges: [] };
  let remote: RemoteCopy | undefined;
  let current: RolloutState | undefined;
  let live: RolloutState | undefined;
  let branchChecked = false;

  /**
   * GitHub also answers 409 when the branch itself refuses the write (branch protection
   * requiring pull requests or status checks, a ruleset): the file is unchanged, so nobody
   * else wrote it. Says so, with GitHub's message, what this run touched and the fixes.
   */
  function refusedNotConflict(error: ScmConflictError, state: RolloutState): StateWriteError {
    const touched = Object.entries(state.targets)
      .filter(([, t]) => t.phase !== 'Pending')
      .map(([id, t]) => `${id} ${t.phase}`);
    return new StateWriteError(
      `GitHub refused to commit ${path} to ${branch} (${error.message.replace(/^GitHub API: /, '')}), but the file there is unchanged: this is not another run's write, the branch does not accept the commit (branch protection or a ruleset requiring pull requests or checks). ` +
        `This run's state (revision ${state.revision}: ${touched.length > 0 ? touched.join(', ') : 'no target touched'}) is in the job's copy ${opts.localPath}. ` +
        `Fix: keep the state on a dedicated branch (the reusable workflow's state-branch input, or the repository variable FLEETGATE_STATE_BRANCH, e.g. fleetgate-state), or let the token bypass the rule; then re-run to continue.`,
      { cause: error },
    );
  }

  async function fetchRemote(): Promise<RemoteCopy> {
    const file = await scm.readFile(path, branch);
    if (!file) return {};
    return { sha: file.sha, text: file.content, state: parseState(file.content, `${branch}:${path}`) };
  }

  async function ensureBranch(): Promise<void> {
    if (branchChecked) return;
    const exists = await scm.getBranch(branch);
    if (!exists) {
      if (!opts.createFrom)
        throw new StateConflictError(`state branch ${branch} does not exist and no branch to create it from`, 0, 0);
      const from = await scm.getBranch(opts.createFrom);
      if (!from) throw new StateConflictError(`branch ${opts.createFrom} does not exist`, 0, 0);
      try {
        await scm.createBranch(branch, from.sha);
        log.branchCreated = branch;
      } catch (error) {
        if (!(error instanceof ScmConflictError)) throw error; // created by a concurrent job: fine
      }
    }
    branchChecked = true;
  }

  const port = {
    location: `${scm.repository.owner}/${scm.repository.repo}@${branch}:${path}`,
    branch,
    log,
    // Runners share no lock file: the engine keeps runs apart with a lease in this state.
    shared: true,

    /** The other rollouts' states in the same folder of the same branch (one API read per file). */
    async siblings(): Promise<RolloutState[]> {
      const folder = posix.dirname(path);
      const own = posix.basename(path);
      const names = (await scm.listFiles(folder, branch)).filter((n) => n.endsWith('.state.yaml') && n !== own);
      const states = await Promise.all(
        names.map(async (name) => {
          const file = `${folder}/${name}`;
          try {
            const found = await scm.readFile(file, branch);
            return found ? parseState(found.content, `${branch}:${file}`) : undefined;
          } catch {
            return undefined; // unreadable: skipped, as the local backend does
          }
        }),
      );
      return states.filter((s): s is RolloutState => s !== undefined);
    },

    async read(): Promise<RolloutState | undefined> {
      if (opts.createFrom !== undefined && !(await scm.getBranch(branch))) {
        remote = {};
      } else {
        branchChecked = true;
        remote = await fetchRemote();
      }
      current = remote.state;
      if (remote.text !== undefined) await writeMirror(opts.localPath, remote.text);
      return remote.state ? structuredClone(remote.state) : undefined;
    },

    async write(state: RolloutState): Promise<RolloutState> {
      if (remote === undefined) await port.read();
      const actual = current?.revision ?? 0;
      if (state.revision !== actual) {
        throw new StateConflictError(
          `${port.location} changed under this run (revision ${actual}, expected ${state.revision}): another run of rollout "${state.name}" wrote it. Re-run to continue from the newer state.`,
          state.revision,
          actual,
        );
      }
      const next: RolloutState = {
        ...structuredClone(state),
        revision: state.revision + 1,
        updatedAt: opts.clock.now().toISOString(),
      };
      await writeMirror(opts.localPath, serializeState(next));
      current = next;
      live = state;
      return next;
    },

    async commit(message: string): Promise<void> {
      if (current === undefined) return;
      if (remote?.state !== undefined && remote.state.revision === current.revision) return;
      await ensureBranch();
      const attempts = opts.maxMergeAttempts ?? 3;
      for (let attempt = 0; ; attempt++) {
        const text = serializeState(current);
        try {
          const r = await scm.writeFile({ path, content: text, message, branch, sha: remote?.sha });
          remote = { sha: r.blobSha, state: current, text };
          log.commits.push({ sha: r.commitSha, revision: current.revision, message });
          return;
        } catch (error) {
          if (!(error instanceof ScmConflictError)) throw error;
          const fresh = await fetchRemote();
          if (fresh.sha === remote?.sha) throw refusedNotConflict(error, current);
          const verdict = mergeRemoteState(remote?.state, fresh.state, current);
          if (!verdict.ok || attempt + 1 >= attempts) {
            const why = verdict.ok ? `still refused after ${attempts} merges` : verdict.reason;
            throw new StateConflictError(
              `${port.location} changed on GitHub while this run held revision ${remote?.state?.revision ?? 0}: ${why}. Nothing was overwritten; this run stops here. Re-run to continue from the newer state.`,
              remote?.state?.revision ?? 0,
              fresh.state?.revision ?? 0,
            );
          }
          log.merges.push({ remoteRevision: fresh.state?.revision ?? 0, adopted: verdict.adopted.length });
          remote = fresh;
          current = verdict.merged;
          if (live) {
            for (const a of verdict.adopted) live.approvals.push(a);
            adoptMerged(live, current, verdict.fromRemote);
            live.revision = current.revision;
          }
          await writeMirror(opts.localPath, serializeState(current));
        }
      }
    },
  };
  return port;
}
