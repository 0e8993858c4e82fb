/**
 * The GitHub state backend against the fake API and its real git repository:
 * commits with the blob sha, conflicts that merge (an appended approval) and
 * conflicts that are reported (another run's progress), and the dedicated
 * state branch.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGitHubStatePort } from '../../src/github/state-port.js';
import { mergeRemoteState } from '../../src/github/state-merge.js';
import { serializeState } from '../../src/state/format.js';
import { parseState } from '../../src/state/parse.js';
import { createEmptyState, type RolloutState } from '../../src/state/types.js';
import { FakeGitHub } from './fake-github.js';

const clock = { now: () => new Date('2026-11-23T10:00:00Z'), sleep: () => Promise.resolve() };
const PATH = 'rollouts/edge.state.yaml';

let fake: FakeGitHub | undefined;
afterEach(async () => {
  fake?.assertClean();
  await fake?.close();
  fake = undefined;
});

function progressing(revision: number): RolloutState {
  return {
    ...createEmptyState('edge'),
    revision,
    phase: 'Progressing',
    fromVersion: '1.0.0',
    toVersion: '1.1.0',
    currentWave: 'all/canary',
    waves: [{ id: 'all/canary', phase: 'Progressing', targets: ['t-1'] }],
    targets: { 't-1': { phase: 'Progressing', step: 'upgrade', from: '1.0.0' } },
  };
}

async function setup(
  opts: { branch?: string; createFrom?: string; files?: Record<string, string>; refuseDirectCommitsTo?: string[] } = {},
) {
  fake = await FakeGitHub.start({
    files: opts.files ?? { 'rollouts/edge.yaml': 'spec\n' },
    ...(opts.refuseDirectCommitsTo && {
      protectedBranches: opts.refuseDirectCommitsTo,
      refuseDirectCommitsTo: opts.refuseDirectCommitsTo,
    }),
  });
  const scm = fake.scm();
  const localPath = join(mkdtempSync(join(tmpdir(), 'fleetgate-port-')), PATH);
  const port = createGitHubStatePort({
    scm,
    path: PATH,
    localPath,
    branch: opts.branch ?? 'main',
    createFrom: opts.createFrom,
    clock,
  });
  return { scm, port, localPath, fake };
}

/** Another writer (a fallback approval, another run) commits straight to the repository. */
async function writeBehind(f: FakeGitHub, state: RolloutState, branch = 'main') {
  const scm = f.scm();
  const current = await scm.readFile(PATH, branch);
  await scm.writeFile({
    path: PATH,
    content: serializeState(state),
    message: 'other writer',
    branch,
    sha: current?.sha,
  });
}

describe('GitHub state port', () => {
  it('commits after a wave with the blob sha, mirrors to the checkout, and sends no author (Verified)', async () => {
    const { port, localPath, fake: f } = await setup();
    expect(await port.read()).toBeUndefined();
    const s = createEmptyState('edge');
    const w1 = await port.write(s);
    expect(w1.revision).toBe(1);
    expect(f.calls('repos/create-or-update-file-contents')).toHaveLength(0); // writes stay local
    await port.commit('fleetgate: edge started');
    s.revision = w1.revision;
    s.phase = 'Progressing';
    await port.write(s);
    await port.write({ ...s, revision: 2 });
    await port.commit('fleetgate: edge wave 1 healthy');
    const puts = f.calls('repos/create-or-update-file-contents');
    expect(puts).toHaveLength(2);
    expect(puts[0]!.body).not.toHaveProperty('sha');
    expect(puts[1]!.body).toHaveProperty('sha');
    for (const p of puts) {
      expect(p.body).not.toHaveProperty('author');
      expect(p.body).not.toHaveProperty('committer');
    }
    expect(f.commits.every((c) => c.verified)).toBe(true);
    const remote = parseState((await f.remote.read('main', PATH))!, PATH);
    expect(remote.revision).toBe(3);
    expect(parseState(readFileSync(localPath, 'utf8'), PATH).revision).toBe(3);
    expect((await f.remote.log('main')).map((c) => c.subject).slice(0, 2)).toEqual([
      'fleetgate: edge wave 1 healthy',
      'fleetgate: edge started',
    ]);
  });

  it('refuses a stale revision in memory (compare-and-swap on revision)', async () => {
    const { port } = await setup({ files: { [PATH]: serializeState(progressing(4)) } });
    const s = (await port.read())!;
    await expect(port.write({ ...s, revision: 3 })).rejects.toMatchObject({ name: 'StateConflictError' });
  });

  it('merges an approval another job appended meanwhile, keeping both writes', async () => {
    const { port, fake: f } = await setup({ files: { [PATH]: serializeState(progressing(4)) } });
    const live = (await port.read())!;
    // This job finishes the canary …
    live.waves[0]!.phase = 'Completed';
    live.targets['t-1'] = { phase: 'Succeeded', from: '1.0.0', version: '1.1.0' };
    const written = await port.write(live);
    live.revision = written.revision;
    // … while a fallback approval lands on GitHub.
    const other = progressing(5);
    other.approvals.push({ at: '2026-11-23T10:01:00Z', gate: 'edge-production', by: 'github:alice' });
    await writeBehind(f, other);
    await port.commit('fleetgate: edge canary healthy');
    const remote = parseState((await f.remote.read('main', PATH))!, PATH);
    expect(remote.waves[0]!.phase).toBe('Completed'); // this job's write
    expect(remote.approvals).toEqual(other.approvals); // the other writer's
    expect(remote.revision).toBe(6);
    // The engine's live state learns the approval and the new revision: its next write goes on.
    expect(live.approvals).toEqual(other.approvals);
    expect(live.revision).toBe(6);
    const again = await port.write(live);
    expect(again.revision).toBe(7);
    await port.commit('fleetgate: next');
    expect(parseState((await f.remote.read('main', PATH))!, PATH).approvals).toHaveLength(1);
  });

  it('reports, and never overwrites, a conflicting write by another run', async () => {
    const { port, fake: f } = await setup({ files: { [PATH]: serializeState(progressing(4)) } });
    const live = (await port.read())!;
    live.waves[0]!.phase = 'Completed';
    await port.write(live);
    const other = progressing(5);
    other.phase = 'Paused';
    other.decisions.push({ at: '2026-11-23T10:01:00Z', decision: 'abort', by: 'github:bob' });
    await writeBehind(f, other);
    const before = await f.remote.read('main', PATH);
    await expect(port.commit('fleetgate: edge canary healthy')).rejects.toThrow(
      /changed on GitHub .*another writer changed decisions, phase .*Nothing was overwritten/,
    );
    expect(await f.remote.read('main', PATH)).toBe(before);
  });

  // Issue 12, item 4: GitHub answers 409 for a protected branch too; that was reported as "someone
  // else wrote the state".
  it("tells a protected branch (409, file unchanged) from a conflict: GitHub's message, what was touched, the fix", async () => {
    const {
      port,
      localPath,
      fake: f,
    } = await setup({
      files: { [PATH]: serializeState(progressing(4)) },
      refuseDirectCommitsTo: ['main'],
    });
    const live = (await port.read())!;
    live.targets['t-1'] = { phase: 'Succeeded', from: '1.0.0', version: '1.1.0' };
    await port.write(live);
    const before = await f.remote.read('main', PATH);

    const refused = port.commit('fleetgate: edge canary healthy');

    await expect(refused).rejects.toMatchObject({ name: 'StateWriteError' });
    await expect(refused).rejects.toThrow(/Changes must be made through a pull request/);
    await expect(refused).rejects.toThrow(/not another run's write/);
    await expect(refused).rejects.toThrow(/t-1 Succeeded/);
    await expect(refused).rejects.toThrow(/state-branch|FLEETGATE_STATE_BRANCH/);
    expect(await f.remote.read('main', PATH)).toBe(before);
    expect(port.log.commits).toEqual([]);
    // Nothing is lost: the job's copy holds what this run did.
    expect(readFileSync(localPath, 'utf8')).toContain('phase: Succeeded');
  });

  it('keeps state on a dedicated branch, created from the default branch when missing', async () => {
    const { port, fake: f } = await setup({ branch: 'fleetgate-state', createFrom: 'main' });
    expect(await port.read()).toBeUndefined();
    await port.write(createEmptyState('edge'));
    await port.commit('fleetgate: edge started');
    expect(await f.remote.head('fleetgate-state')).toBeDefined();
    expect(await f.remote.read('fleetgate-state', PATH)).toContain('revision: 1');
    expect(await f.remote.read('main', PATH)).toBeUndefined();
    expect(f.calls('git/create-ref')).toHaveLength(1);
    expect(port.log.branchCreated).toBe('fleetgate-state');
  });
});

describe('mergeRemoteState', () => {
  const base = progressing(4);
  it('accepts appended approvals only', () => {
    const remote = { ...structuredClone(base), revision: 5, approvals: [{ at: 'x', gate: 'g', by: 'a' }] };
    const local = { ...structuredClone(base), revision: 9, phase: 'Paused' as const };
    const v = mergeRemoteState(base, remote, local);
    expect(v.ok && v.merged.revision).toBe(9);
    expect(v.ok && v.merged.approvals).toEqual(remote.approvals);
  });
  it('moves the revision past the remote one', () => {
    const remote = { ...structuredClone(base), revision: 8, approvals: [{ at: 'x', gate: 'g', by: 'a' }] };
    const v = mergeRemoteState(base, remote, { ...structuredClone(base), revision: 5 });
    expect(v.ok && v.merged.revision).toBe(9);
  });
  it('refuses rewritten approvals, a created file and a deleted one', () => {
    const withOne = { ...structuredClone(base), approvals: [{ at: 'x', gate: 'g', by: 'a' }] };
    expect(mergeRemoteState(withOne, { ...structuredClone(base), revision: 5 }, base).ok).toBe(false);
    expect(mergeRemoteState(undefined, base, base).ok).toBe(false);
    expect(mergeRemoteState(base, undefined, base).ok).toBe(false);
  });
});
