/**
 * `fleetgate github commit-state`: committing a state file through the contents API, merging appended approvals on a conflict.
 */
import { execFile } from 'node:child_process';
import type { Command } from 'commander';
import { StateConflictError } from '../../errors.js';
import { readState } from '../../state/store.js';
import { serializeState } from '../../state/format.js';
import { parseState } from '../../state/parse.js';
import type { RolloutState } from '../../state/types.js';
import { loadRollout } from '../../app/session.js';
import { createScmFromEnv, readActionsContext } from '../actions-env.js';
import { addStateBackendOptions, resolveStateTarget, type StateBackendFlags } from '../backend.js';
import { ScmConflictError } from '../errors.js';
import { setOutputs } from '../runner-io.js';
import { mergeRemoteState } from '../state-merge.js';

function git(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => {
      if (error) reject(new Error(`git ${args.join(' ')}: ${error.message}`, { cause: error }));
      else resolve(stdout);
    });
  });
}

/** Adds `commit-state` to the `github` command group. */
export function registerCommitStateCommand(gh: Command): void {
  addStateBackendOptions(
    gh
      .command('commit-state')
      .description('commit the state file through the contents API against the revision the job started from')
      .argument('<spec>', 'rollout spec file')
      .option('--base-ref <ref>', 'git revision holding the state this job started from', 'HEAD')
      .option('--message <text>', 'commit message'),
  ).action(async (spec: string, flags: StateBackendFlags & { baseRef: string; message?: string }) => {
    const ctx = readActionsContext();
    const loaded = await loadRollout(spec);
    const scm = await createScmFromEnv(ctx);
    const target = await resolveStateTarget(loaded.statePath, flags, ctx);
    const local = await readState(loaded.statePath);
    if (!local) throw new StateConflictError(`${loaded.statePath} does not exist: nothing to commit`, 0, 0);
    const root = (await git('.', ['rev-parse', '--show-toplevel'])).trim();
    let base: { state: RolloutState; sha: string } | undefined;
    try {
      const text = await git(root, ['show', `${flags.baseRef}:${target.path}`]);
      const sha = (await git(root, ['rev-parse', `${flags.baseRef}:${target.path}`])).trim();
      base = { state: parseState(text, `${flags.baseRef}:${target.path}`), sha };
    } catch {
      base = undefined;
    }
    if (target.createFrom && !(await scm.getBranch(target.branch))) {
      const from = await scm.getBranch(target.createFrom);
      if (from)
        await scm.createBranch(target.branch, from.sha).catch((e: unknown) => {
          if (!(e instanceof ScmConflictError)) throw e;
        });
    }
    const message = flags.message ?? `fleetgate: ${loaded.spec.name} state at revision ${local.revision}`;
    let toWrite = local;
    let expectedSha = base?.sha;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const r = await scm.writeFile({
          path: target.path,
          content: serializeState(toWrite),
          message,
          branch: target.branch,
          sha: expectedSha,
        });
        process.stdout.write(
          `committed ${target.path} (revision ${toWrite.revision}) on ${target.branch}: ${r.commitSha}\n`,
        );
        setOutputs({ 'commit-sha': r.commitSha, revision: toWrite.revision, merged: toWrite !== local });
        return;
      } catch (error) {
        if (!(error instanceof ScmConflictError)) throw error;
        const remote = await scm.readFile(target.path, target.branch);
        const remoteState = remote ? parseState(remote.content, `${target.branch}:${target.path}`) : undefined;
        const verdict = mergeRemoteState(base?.state, remoteState, local);
        if (!verdict.ok) {
          throw new StateConflictError(
            `${target.path} on ${target.branch} changed since this job started (revision ${base?.state.revision ?? 0} → ${remoteState?.revision ?? 0}): ${verdict.reason}. Not overwritten.`,
            base?.state.revision ?? 0,
            remoteState?.revision ?? 0,
          );
        }
        toWrite = verdict.merged;
        expectedSha = remote?.sha;
      }
    }
    throw new StateConflictError(`${target.path}: still refused after 3 merges; not overwritten`, local.revision, 0);
  });
}
