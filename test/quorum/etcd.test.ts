/**
 * Quorum rollouts against real etcd (Debian `etcd-server`, `etcd-client`): 3- and
 * 5-member clusters on 127.0.0.1, rolled by the runnable recipe
 * `rollouts/examples/etcd.yaml` (copied unchanged, with its scripts, into a temporary
 * git repository; only `etcd/cluster.json` names this cluster's addresses), through the
 * bundled CLI. For the whole rollout a bounded writer puts ≥ 5 keys/s and a sampler
 * counts healthy members every 100 ms. Then: no write failed, a majority was healthy at
 * every sample (members serving their Raft status; `/health` figures printed too), no
 * member went down while leading, and the member the recipe's `leader` step found leading
 * right before the last wave went last, after the engine's `transferLeadership` step had
 * moved leadership to a member already upgraded (read from the run's events, and from the
 * member script's own log of who led when each member went down); every member passed its
 * `caughtUp` check. With a member down before the run, the rollout pauses
 * (BudgetExhausted) before taking another down.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { gitIn } from '../helpers/git.js';
import {
  locateEtcd,
  startEtcdCluster,
  startSampler,
  startWriter,
  type EtcdCluster,
  type SamplerFigures,
  type WriterFigures,
} from '../helpers/etcd.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli.js');
const EXAMPLES = join(ROOT, 'rollouts/examples');
const WRITES_PER_SECOND = 10;

const binaries = locateEtcd();

interface RunFigures {
  code: number;
  output: string;
  ms: number;
  writer: WriterFigures;
  sampler: SamplerFigures;
  state: string;
  /** The run's events (`--events`), in order. */
  events: { event: string; [key: string]: unknown }[];
}

/** A git repository holding the recipe (unchanged) and this cluster's `etcd/cluster.json`. */
function recipeRepo(cluster: EtcdCluster): string {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-etcd-repo-'));
  cpSync(join(EXAMPLES, 'etcd.yaml'), join(dir, 'rollouts/etcd.yaml'), { recursive: true });
  cpSync(join(EXAMPLES, 'etcd'), join(dir, 'rollouts/etcd'), { recursive: true });
  cpSync(cluster.clusterFile, join(dir, 'rollouts/etcd/cluster.json'));
  writeFileSync(join(dir, '.gitignore'), '.fleetgate/\n');
  gitIn(dir, 'init', '--quiet', '--initial-branch=main');
  gitIn(dir, 'add', '.');
  gitIn(dir, 'commit', '--quiet', '-m', 'initial');
  return dir;
}

/** Runs `fleetgate run rollouts/etcd.yaml --yes` under the writer and the sampler. */
async function rollUnderWrites(cluster: EtcdCluster, repo: string, extra: string[] = []): Promise<RunFigures> {
  const writer = startWriter(cluster.members, WRITES_PER_SECOND);
  const sampler = startSampler(cluster.members, 100);
  const started = Date.now();
  const eventsFile = join(mkdtempSync(join(tmpdir(), 'fleetgate-etcd-events-')), 'events.jsonl');
  const { code, output } = await new Promise<{ code: number; output: string }>((done) => {
    const args = [CLI, 'run', 'rollouts/etcd.yaml', '--yes', '--events', eventsFile, ...extra];
    const child = spawn(process.execPath, args, {
      cwd: repo,
      env: { ...process.env, CI: '1', NO_COLOR: '1' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (c) => done({ code: c ?? 1, output: out }));
  });
  const ms = Date.now() - started;
  const [w, s] = await Promise.all([writer.stop(), sampler.stop()]);
  let state = '';
  try {
    state = readFileSync(join(repo, 'rollouts/etcd.state.yaml'), 'utf8');
  } catch {
    state = '(no state file)';
  }
  let events: RunFigures['events'] = [];
  try {
    events = readFileSync(eventsFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as RunFigures['events'][number]);
  } catch {
    events = [];
  }
  rmSync(dirname(eventsFile), { recursive: true, force: true });
  return { code, output, ms, writer: w, sampler: s, state, events };
}

function describeRun(label: string, n: number, r: RunFigures): string {
  return (
    `${label}: ${n} members, exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s; writes ${r.writer.attempted} ` +
    `(${r.writer.rate.toFixed(1)}/s), failed ${r.writer.failed}, failed over ${r.writer.failedOver}; ` +
    `samples ${r.sampler.samples} (every 100 ms), fewest serving ${r.sampler.minServing}/${n}, without a serving majority ${r.sampler.withoutMajority}, ` +
    `fewest passing /health ${r.sampler.minHealthy}/${n} (${r.sampler.healthWithoutMajority} samples without a /health majority)`
  );
}

describe.skipIf(binaries === undefined)('quorum rollout of a real etcd cluster (rollouts/examples/etcd.yaml)', () => {
  let cluster: EtcdCluster | undefined;
  let repo: string | undefined;

  afterEach(async () => {
    await cluster?.stop();
    if (repo) rmSync(repo, { recursive: true, force: true });
    cluster = undefined;
    repo = undefined;
  });

  for (const n of [3, 5]) {
    it(`${n} members: no failed write, a majority at every 100 ms sample, the leader last after a transfer`, async () => {
      cluster = await startEtcdCluster(binaries!.etcd, n);
      repo = recipeRepo(cluster);
      const leaderBefore = cluster.leader();
      expect(leaderBefore).toBeDefined();
      const r = await rollUnderWrites(cluster, repo);
      const moves = cluster.moves();
      // Before each wave (a reading during a wave, naming a target that leads now, has `target`).
      const observed = r.events.filter((e) => e.event === 'leader_observed' && e.target === undefined);
      const transfers = r.events.filter((e) => e.event === 'leadership_transferred');
      const caughtUp = r.events.filter(
        (e) => e.event === 'target_health_check' && e.check === 'caughtUp' && e.healthy === true,
      );
      process.stdout.write(
        `\n[etcd] ${describeRun('rollout', n, r)}; leader at start ${leaderBefore}; ` +
          `leader observed before each wave: ${observed.map((e) => `${String(e.wave)}=${String(e.leader)}`).join(', ')}; ` +
          `transfers: ${transfers.map((e) => `${String(e.target)} → ${String(e.transferee)} (ok ${String(e.ok)}, leader then ${String(e.leader)}, ${String(e.durationMs)} ms)`).join(', ')}; ` +
          `went down: ${moves.map((m) => `${m.member} (leader then: ${m.leader})`).join(', ')}\n`,
      );
      expect(r.code, `${r.output}\n${r.state}`).toBe(0);
      expect(r.writer.rate).toBeGreaterThanOrEqual(5);
      expect(r.writer.failed).toBe(0);
      expect(r.sampler.samples).toBeGreaterThan(20);
      expect(r.sampler.withoutMajority).toBe(0);
      expect(moves.map((m) => m.member).sort()).toEqual(cluster.members.map((m) => m.id).sort());
      // The leader step was asked before every wave; the one it found before the last wave
      // went last, after the transfer step had moved leadership to an upgraded member.
      const waves = r.events.filter((e) => e.event === 'wave_started').map((e) => e.wave);
      expect(observed.map((e) => e.wave)).toEqual(waves);
      const last = observed.at(-1)!;
      expect(last.wave).toBe('etcd/leader');
      expect(moves.at(-1)!.member).toBe(last.leader);
      // (Another transfer runs only if leadership moved onto a member while its wave ran.)
      const final = transfers.at(-1)!;
      expect(transfers.every((e) => e.ok === true)).toBe(true);
      expect(final).toMatchObject({ target: last.leader, wave: 'etcd/leader' });
      expect(final.transferee).not.toBe(last.leader);
      expect(moves.slice(0, -1).map((m) => m.member)).toContain(final.transferee);
      expect(final.leader).not.toBe(last.leader);
      // No member was leading when it went down.
      for (const m of moves) expect(m.leader, `${m.member} went down while leading`).not.toBe(m.member);
      // Each member caught up before the next went down.
      expect(new Set(caughtUp.map((e) => e.target))).toEqual(new Set(cluster.members.map((m) => m.id)));
      for (const m of cluster.members)
        expect(readFileSync(join(m.dir, 'version'), 'utf8').trim(), m.id).toBe('3.4.0-b');
    }, 150_000);
  }

  it('3 members, one down before the run: pauses (BudgetExhausted) before taking another down', async () => {
    cluster = await startEtcdCluster(binaries!.etcd, 3);
    repo = recipeRepo(cluster);
    const leader = cluster.leader();
    // The second follower in plan order: the first one's take-down is then judged with it out.
    const followers = cluster.members.map((m) => m.id).filter((id) => id !== leader);
    cluster.stopMember(followers[1]!);
    // Preflight refuses a member that does not answer its version step; the operator leaves it
    // out explicitly, and the budget still counts it while a health check sees it down.
    const r = await rollUnderWrites(cluster, repo, ['--exclude', followers[1]!]);
    process.stdout.write(`\n[etcd] ${describeRun(`one member down (${followers[1]})`, 3, r)}\n`);
    expect(r.code, `${r.output}\n${r.state}`).toBe(3);
    expect(r.state).toContain('BudgetExhausted');
    expect(cluster.moves()).toEqual([]);
    expect(r.writer.failed).toBe(0);
  }, 90_000);
});
