/**
 * Big waves across runners on the GitHub backend (issue 12, item 18): two legs of a sharded wave,
 * each with its own state port (its own runner), commit at the same moment through the contents
 * API; the refused one re-reads and merges because the legs changed disjoint targets, so both
 * land, and each leg's live state takes the other's targets over. A write that changes a target
 * another leg changed, or a rollback's lease against a leg, is still refused.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StateConflictError } from '../../src/errors.js';
import { createGitHubStatePort } from '../../src/github/state-port.js';
import { mergeRemoteState } from '../../src/github/state-merge.js';
import { serializeState } from '../../src/state/format.js';
import { parseState } from '../../src/state/parse.js';
import { createEmptyState, type RolloutState, type ShardLeg } from '../../src/state/types.js';
import { FakeGitHub } from './fake-github.js';

const clock = { now: () => new Date('2026-12-03T08:00:00Z'), sleep: () => Promise.resolve() };
const PATH = 'rollouts/edge.state.yaml';
const WAVE = 'edge/1';
const IDS = ['edge-1', 'edge-2', 'edge-3', 'edge-4'];

let fake: FakeGitHub | undefined;
afterEach(async () => {
  fake?.assertClean();
  await fake?.close();
  fake = undefined;
});

/** The state after `run --open-shards 2`: the wave in progress, open for two legs, nothing touched. */
function opened(): RolloutState {
  return {
    ...createEmptyState('edge'),
    revision: 6,
    phase: 'Progressing',
    fromVersion: '1.0.0',
    toVersion: '1.1.0',
    currentWave: WAVE,
    waves: [{ id: WAVE, phase: 'Progressing', targets: IDS, shards: 2 }],
    targets: Object.fromEntries(IDS.map((id) => [id, { phase: 'Pending' as const, from: '1.0.0', version: '1.0.0' }])),
  };
}

function leg(shard: number, extra: Partial<ShardLeg> = {}): ShardLeg {
  return {
    wave: WAVE,
    shard,
    of: 2,
    holder: `github:ci run 7 job shards shard ${shard}/2 of ${WAVE}`,
    lease: {
      holder: `github:ci run 7 job shards shard ${shard}/2 of ${WAVE}`,
      key: `github:o/r:7:shards#${shard}/2`,
      acquiredAt: '2026-12-03T08:00:00.000Z',
      expiresAt: '2026-12-03T08:15:00.000Z',
    },
    startedAt: '2026-12-03T08:00:00.000Z',
    budget: 1,
    targets: 2,
    ...extra,
  };
}

/** What a leg's engine did to its live state: its entry, and its targets upgraded. */
function moved(s: RolloutState, shard: number, ids: string[]): void {
  (s.shardLegs ??= {})[`${WAVE}#${shard}/2`] = leg(shard, { succeeded: ids.length, failed: 0 });
  for (const id of ids)
    s.targets[id] = { phase: 'Succeeded', from: '1.0.0', version: '1.1.0', finishedAt: '2026-12-03T08:05:00.000Z' };
}

async function setup() {
  fake = await FakeGitHub.start({ files: { 'rollouts/edge.yaml': 'spec\n', [PATH]: serializeState(opened()) } });
  const f = fake;
  const port = () =>
    createGitHubStatePort({
      scm: f.scm(),
      path: PATH,
      localPath: join(mkdtempSync(join(tmpdir(), 'fleetgate-shard-')), PATH),
      branch: 'main',
      clock,
    });
  return { f, port };
}

/** A write as the engine's write chain makes it: the live state takes the revision written. */
async function persist(port: ReturnType<typeof createGitHubStatePort>, live: RolloutState): Promise<void> {
  live.revision = (await port.write(live)).revision;
}

async function remote(f: FakeGitHub): Promise<RolloutState> {
  return parseState((await f.scm().readFile(PATH, 'main'))!.content, PATH);
}

describe('legs of a sharded wave on the GitHub backend', () => {
  it('commit at the same moment and both land: the refused one merges the other leg’s targets', async () => {
    const { f, port } = await setup();
    const a = port();
    const b = port();
    const liveA = (await a.read())!;
    const liveB = (await b.read())!;
    moved(liveA, 1, ['edge-1', 'edge-3']);
    moved(liveB, 2, ['edge-2', 'edge-4']);
    await persist(a, liveA);
    await persist(b, liveB);
    await Promise.all([a.commit('leg 1 done'), b.commit('leg 2 done')]);

    const after = await remote(f);
    for (const id of IDS) expect(after.targets[id]).toMatchObject({ phase: 'Succeeded', version: '1.1.0' });
    expect(Object.keys(after.shardLegs ?? {}).sort()).toEqual([`${WAVE}#1/2`, `${WAVE}#2/2`]);
    expect(after.waves[0]).toMatchObject({ phase: 'Progressing', shards: 2 });
    expect(a.log.merges.length + b.log.merges.length).toBe(1);
    // The leg that merged goes on with the other's targets in its live state (its next write keeps them).
    const merged = a.log.merges.length === 1 ? liveA : liveB;
    for (const id of IDS) expect(merged.targets[id]?.phase).toBe('Succeeded');
    expect(Object.keys(merged.shardLegs ?? {})).toHaveLength(2);

    // Each leg then releases its lease: again concurrently, again both land.
    for (const [p, live, shard] of [
      [a, liveA, 1],
      [b, liveB, 2],
    ] as const) {
      delete live.shardLegs![`${WAVE}#${shard}/2`]!.lease;
      await persist(p, live);
    }
    await Promise.all([a.commit('leg 1 released'), b.commit('leg 2 released')]);
    const released = await remote(f);
    expect(Object.values(released.shardLegs ?? {}).map((l) => l.lease)).toEqual([undefined, undefined]);
    for (const id of IDS) expect(released.targets[id]?.phase).toBe('Succeeded');
  });

  it('still refuses a write that changed a target another leg changed, and a rollback lease against a leg', async () => {
    const { f, port } = await setup();
    const a = port();
    const c = port();
    const liveA = (await a.read())!;
    const liveC = (await c.read())!;
    moved(liveA, 1, ['edge-1', 'edge-3']);
    await persist(a, liveA);
    await a.commit('leg 1 done');
    // A second writer claiming leg 2 but touching edge-3 too (a wrong slice, a stale re-run).
    moved(liveC, 2, ['edge-2', 'edge-3']);
    liveC.targets['edge-3'] = { phase: 'Failed', from: '1.0.0', version: '1.0.0', message: 'upgrade failed' };
    await persist(c, liveC);
    const e = await c.commit('leg 2 done').catch((error: unknown) => error);
    expect(e).toBeInstanceOf(StateConflictError);
    expect((e as Error).message).toContain('edge-3');
    expect((await remote(f)).targets['edge-3']).toMatchObject({ phase: 'Succeeded' });

    // A dispatched rollback's lease (read before the leg's commit) never merges with a leg.
    const base = opened();
    const legOnly = structuredClone(base);
    moved(legOnly, 1, ['edge-1']);
    const rollback = {
      ...structuredClone(base),
      lease: { holder: 'github:bob run 8 job rollback', key: 'k', acquiredAt: 'a', expiresAt: 'b' },
    };
    expect(mergeRemoteState(base, legOnly, rollback)).toMatchObject({ ok: false });
    expect(mergeRemoteState(base, rollback, legOnly)).toMatchObject({ ok: false });
    // Nor does a leg's commit with another run's progress (a wave completed, a phase changed).
    const paused = { ...structuredClone(base), phase: 'Paused' as const };
    expect(mergeRemoteState(base, paused, legOnly)).toMatchObject({ ok: false });
    // And a commit that is no leg's (no shardLegs entry changed) is refused as before.
    const plain = structuredClone(base);
    plain.targets['edge-2'] = { phase: 'Succeeded', from: '1.0.0', version: '1.1.0' };
    expect(mergeRemoteState(base, legOnly, plain)).toMatchObject({ ok: false });
  });
});
