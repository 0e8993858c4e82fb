/**
 * Real etcd clusters for the quorum tests (Debian packages `etcd-server`,
 * `etcd-client`): 3 or 5 members on 127.0.0.1, free client and peer ports,
 * temporary data directories, static bootstrap (`--initial-cluster`), fast
 * elections (heartbeat 50 ms, election timeout 500 ms). Each member is started
 * and stopped through the recipe's own script (`rollouts/examples/etcd/member.mjs`),
 * so the rollout's upgrade restarts it exactly as the test started it. Never the
 * system service.
 *
 * Also a bounded writer (puts through the v3 HTTP/JSON gateway, failing over between
 * members as etcd clients do) and a health sampler (every member's `/health`).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { freePort } from '../analysis/helpers/prometheus.js';
import { pollUntil } from './poll.js';

const SCRIPT = resolve(import.meta.dirname, '../../scripts/etcd.sh');
/** The recipe's member script. */
export const MEMBER_SCRIPT = resolve(import.meta.dirname, '../../rollouts/examples/etcd/member.mjs');

let located: { etcd?: string; etcdctl?: string } | undefined;

/**
 * Paths of etcd and etcdctl, or `undefined` (after a LOUD message) when they are missing
 * on a developer machine.
 * @throws Error in CI (`CI` set) when they are missing and cannot be installed.
 */
export function locateEtcd(): { etcd: string; etcdctl: string } | undefined {
  if (!located) {
    const check = spawnSync('bash', [SCRIPT, '--check'], { encoding: 'utf8' });
    let out = check.status === 0 ? check.stdout : undefined;
    if (out === undefined && process.env.CI) {
      const install = spawnSync('bash', [SCRIPT], { encoding: 'utf8', timeout: 600_000 });
      out = install.status === 0 ? install.stdout : undefined;
      if (out === undefined)
        throw new Error(`etcd is required in CI and scripts/etcd.sh could not provide it:\n${install.stderr}`);
    }
    if (out === undefined) {
      process.stderr.write(
        `\n${'!'.repeat(78)}\n!! SKIPPING the etcd quorum tests: etcd is not installed.\n!! ${check.stderr.trim().split('\n').join('\n!! ')}\n${'!'.repeat(78)}\n\n`,
      );
      located = {};
    } else {
      const [etcd, etcdctl] = out.trim().split('\n');
      located = { etcd, etcdctl };
    }
  }
  return located.etcd && located.etcdctl ? { etcd: located.etcd, etcdctl: located.etcdctl } : undefined;
}

export interface EtcdMember {
  /** Member name, also the target id. */
  id: string;
  /** Client address `127.0.0.1:<port>`. */
  address: string;
  peerPort: number;
  /** Member folder (argv.json, pid, version, etcd.log, data/). */
  dir: string;
}

export interface EtcdCluster {
  /** Folder of the cluster: members' folders, `cluster.json`, `moves.log`. */
  dir: string;
  members: EtcdMember[];
  /** `{members: [{id, address, dir}]}` for the recipe's discovery and hand-off. */
  clusterFile: string;
  /** Name of the leader as etcd reports it (asked of each member in turn). */
  leader(): string | undefined;
  /** Stops a member's process (SIGTERM, waits until it is gone). */
  stopMember(id: string): void;
  /** The upgrade script's log: which member went down and who led then, in order. */
  moves(): { member: string; leader: string; at: number }[];
  /** Stops every member and removes the folder. */
  stop(): Promise<void>;
}

function member(...argv: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [MEMBER_SCRIPT, ...argv], { encoding: 'utf8', timeout: 15_000 });
}

/** Version every member starts on. */
export const ETCD_START_VERSION = '3.4.0-a';

/**
 * Starts an `n`-member cluster and waits (at most 20 s) until every member reports healthy.
 * @throws Error with the members' logs when it does not come up
 */
export async function startEtcdCluster(etcd: string, n: number): Promise<EtcdCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-etcd-'));
  const members: EtcdMember[] = [];
  for (let i = 1; i <= n; i++) {
    const id = `etcd-${i}`;
    members.push({ id, address: `127.0.0.1:${await freePort()}`, peerPort: await freePort(), dir: join(dir, id) });
  }
  const initial = members.map((m) => `${m.id}=http://127.0.0.1:${m.peerPort}`).join(',');
  for (const m of members) {
    mkdirSync(m.dir);
    const argv = [
      etcd,
      '--name',
      m.id,
      '--data-dir',
      join(m.dir, 'data'),
      '--listen-client-urls',
      `http://${m.address}`,
      '--advertise-client-urls',
      `http://${m.address}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${m.peerPort}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${m.peerPort}`,
      '--initial-cluster',
      initial,
      '--initial-cluster-state',
      'new',
      '--initial-cluster-token',
      `fleetgate-${n}`,
      '--heartbeat-interval',
      '50',
      '--election-timeout',
      '500',
      '--logger',
      'zap',
    ];
    writeFileSync(join(m.dir, 'argv.json'), JSON.stringify(argv));
    writeFileSync(join(m.dir, 'member.json'), JSON.stringify({ id: m.id, address: m.address }));
    writeFileSync(join(m.dir, 'version'), ETCD_START_VERSION);
  }
  for (const m of members) member('start', m.dir);
  const clusterFile = join(dir, 'cluster.json');
  writeFileSync(
    clusterFile,
    JSON.stringify({ members: members.map(({ id, address, dir: d }) => ({ id, address, dir: d })) }),
  );
  const cluster: EtcdCluster = {
    dir,
    members,
    clusterFile,
    leader() {
      for (const m of members) {
        const r = member('leader', m.address);
        if (r.status === 0) return r.stdout.trim();
      }
      return undefined;
    },
    stopMember(id) {
      member('stop', members.find((m) => m.id === id)!.dir);
    },
    moves() {
      let text = '';
      try {
        text = readFileSync(join(dir, 'moves.log'), 'utf8');
      } catch {
        return [];
      }
      return text
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { member: string; leader: string; at: number });
    },
    async stop() {
      for (const m of members) member('stop', m.dir);
      rmSync(dir, { recursive: true, force: true });
      await Promise.resolve();
    },
  };
  try {
    await pollUntil(`etcd cluster of ${n} did not come up`, 20_000, async () => (await healthyCount(members)) >= n, {
      intervalMs: 200,
      describe: () =>
        `\n${members.map((m) => `${m.id}: ${readFileSync(join(m.dir, 'etcd.log'), 'utf8').slice(-800)}`).join('\n')}`,
    });
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/** Members whose `/health` answers `{"health":"true"}` within 500 ms (serving, with a leader). */
export async function healthyCount(members: EtcdMember[]): Promise<number> {
  const answers = await Promise.all(members.map((m) => isHealthy(m)));
  return answers.filter(Boolean).length;
}

async function isHealthy(m: EtcdMember): Promise<boolean> {
  try {
    const res = await request(`http://${m.address}/health`, { headersTimeout: 500, bodyTimeout: 500 });
    const body = (await res.body.json()) as { health?: string };
    return res.statusCode === 200 && body.health === 'true';
  } catch {
    return false;
  }
}

/**
 * True when the member's process serves its Raft status (`POST /v3/maintenance/status`
 * within 500 ms): it is up and in the cluster. `/health` also fails on every member for
 * the few milliseconds a leadership transfer leaves the cluster without a leader.
 */
async function isServing(m: EtcdMember): Promise<boolean> {
  try {
    const res = await request(`http://${m.address}/v3/maintenance/status`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
      headersTimeout: 500,
      bodyTimeout: 500,
    });
    const body = (await res.body.json()) as { header?: { member_id?: string } };
    return res.statusCode === 200 && body.header?.member_id !== undefined;
  } catch {
    return false;
  }
}

export interface WriterFigures {
  attempted: number;
  failed: number;
  /** Writes that reached a member only after another had refused or not answered (client failover). */
  failedOver: number;
  /** Achieved writes per second. */
  rate: number;
}

/**
 * A bounded writer: one put every `1000 / rps` ms until stopped (at most `maxMs`), each a
 * `POST /v3/kv/put` to the member that took the last write, failing over to the others
 * as an etcd client's balancer does. A write fails when no member accepts it within 2 s.
 */
export function startWriter(members: EtcdMember[], rps: number, maxMs = 150_000): { stop(): Promise<WriterFigures> } {
  let stopped = false;
  let attempted = 0;
  let failed = 0;
  let failedOver = 0;
  let current = 0;
  const started = Date.now();
  const put = async (n: number): Promise<void> => {
    const body = JSON.stringify({
      key: Buffer.from(`fleetgate/w/${n}`).toString('base64'),
      value: Buffer.from(String(Date.now())).toString('base64'),
    });
    const deadline = Date.now() + 2_000;
    for (let tries = 0; Date.now() < deadline; tries++) {
      const m = members[(current + tries) % members.length]!;
      try {
        const res = await request(`http://${m.address}/v3/kv/put`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json' },
          headersTimeout: 1_000,
          bodyTimeout: 1_000,
        });
        await res.body.text();
        if (res.statusCode === 200) {
          if (tries > 0) failedOver++;
          current = (current + tries) % members.length;
          return;
        }
      } catch {
        // refused or no answer: the next member
      }
      if (tries % members.length === members.length - 1) await sleep(50);
    }
    failed++;
  };
  const inFlight = new Set<Promise<void>>();
  const loop = (async () => {
    for (let n = 0; !stopped && Date.now() - started < maxMs; n++) {
      attempted++;
      const p = put(n).finally(() => inFlight.delete(p));
      inFlight.add(p);
      await sleep(1000 / rps);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(inFlight);
      const seconds = (Date.now() - started) / 1000;
      return { attempted, failed, failedOver, rate: attempted / seconds };
    },
  };
}

export interface SamplerFigures {
  samples: number;
  /** Fewest members serving their Raft status in any sample. */
  minServing: number;
  /** Samples with fewer than a majority serving. */
  withoutMajority: number;
  /** Fewest members whose `/health` passed in any sample (0 while a transfer leaves no leader). */
  minHealthy: number;
  /** Samples where fewer than a majority passed `/health`. */
  healthWithoutMajority: number;
}

/** Samples every member every `everyMs` (default 100 ms) until stopped. */
export function startSampler(members: EtcdMember[], everyMs = 100): { stop(): Promise<SamplerFigures> } {
  let stopped = false;
  const n = members.length;
  const f: SamplerFigures = { samples: 0, minServing: n, withoutMajority: 0, minHealthy: n, healthWithoutMajority: 0 };
  const majority = Math.floor(n / 2) + 1;
  const loop = (async () => {
    while (!stopped) {
      const next = Date.now() + everyMs;
      const [serving, healthy] = await Promise.all([
        Promise.all(members.map((m) => isServing(m))).then((a) => a.filter(Boolean).length),
        healthyCount(members),
      ]);
      f.samples++;
      f.minServing = Math.min(f.minServing, serving);
      f.minHealthy = Math.min(f.minHealthy, healthy);
      if (serving < majority) f.withoutMajority++;
      if (healthy < majority) f.healthWithoutMajority++;
      await sleep(Math.max(0, next - Date.now()));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return f;
    },
  };
}
