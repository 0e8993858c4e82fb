/**
 * A real HAProxy (Debian package `haproxy`) in front of a local fleet, for the
 * zero-downtime tests and benchmark: its own config in a temporary folder, a
 * frontend on a free 127.0.0.1 port, one backend whose servers are the agents
 * (health-checked with `GET /readyz`), and a stats socket with `level admin`
 * in the same folder. Started in the foreground (`-db`), never the system service.
 *
 * Locating the binary goes through `scripts/haproxy.sh`: without it on a
 * developer machine, `locateHaproxy()` returns `undefined` after a LOUD
 * message and the tests skip; with `CI` set it installs the package (CI runs
 * as root) and a missing binary fails the run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, startServerProcess } from '../helpers/server-process.js';
import { readServerStats, type ServerStat } from './stats-socket.js';

const SCRIPT = resolve(import.meta.dirname, '../../scripts/haproxy.sh');

let located: { path: string | undefined } | undefined;

/**
 * The HAProxy binary, or `undefined` (after a loud message) when it is missing on a developer machine.
 *
 * @throws Error in CI (`CI` set) when it is missing and cannot be installed.
 */
export function locateHaproxy(): string | undefined {
  if (located) return located.path;
  const check = spawnSync('bash', [SCRIPT, '--check'], { encoding: 'utf8' });
  let path = check.status === 0 ? check.stdout.trim() : undefined;
  if (path === undefined && process.env.CI) {
    const install = spawnSync('bash', [SCRIPT], { encoding: 'utf8', timeout: 600_000 });
    path = install.status === 0 ? install.stdout.trim() : undefined;
    if (path === undefined)
      throw new Error(`HAProxy is required in CI and scripts/haproxy.sh could not provide it:\n${install.stderr}`);
  }
  if (path === undefined) {
    process.stderr.write(
      `\n${'!'.repeat(78)}\n!! SKIPPING the HAProxy zero-downtime tests: haproxy is not installed.\n!! ${check.stderr.trim().split('\n').join('\n!! ')}\n${'!'.repeat(78)}\n\n`,
    );
  }
  located = { path };
  return path;
}

/** Health-check timing of the backend's servers. Every duration is in milliseconds. */
export interface HealthCheckTiming {
  /** Interval between two checks of a server (HAProxy `inter`). */
  interMs: number;
  /** Consecutive failed checks that mark a server DOWN (`fall`). */
  fall: number;
  /** Consecutive passed checks that mark a server UP again (`rise`). */
  rise: number;
}

export interface HaproxyOptions extends HealthCheckTiming {
  /** Backend servers: `name` is the target id, `address` its `127.0.0.1:PORT`. */
  servers: ReadonlyArray<{ name: string; address: string }>;
  /** Backend name (default `fleet`). */
  backend?: string;
}

/** An HAProxy started by {@link startHaproxy}. */
export interface TestHaproxy {
  /** The frontend, `http://127.0.0.1:PORT`. */
  url: string;
  /** The stats socket (runtime API, `level admin`). */
  socket: string;
  backend: string;
  /** `show stat` rows of the backend's servers. */
  servers(): Promise<ServerStat[]>;
  /** Stops the process (SIGTERM, SIGKILL after 3 s) and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

/** The haproxy.cfg of {@link startHaproxy}. */
export function haproxyConfig(o: HaproxyOptions & { port: number; socket: string }): string {
  const backend = o.backend ?? 'fleet';
  return [
    'global',
    `  stats socket ${o.socket} mode 600 level admin`,
    '  stats timeout 10s',
    '  nbthread 1',
    '  maxconn 2048',
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout client 30s',
    '  timeout server 30s',
    `  timeout check ${Math.max(100, Math.floor(o.interMs * 0.8))}ms`,
    'frontend web',
    `  bind 127.0.0.1:${o.port}`,
    `  default_backend ${backend}`,
    `backend ${backend}`,
    '  balance roundrobin',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    `  default-server check inter ${o.interMs}ms fall ${o.fall} rise ${o.rise}`,
    ...o.servers.map((s) => `  server ${s.name} ${s.address}`),
    '',
  ].join('\n');
}

/**
 * Starts HAProxy in front of `servers` and resolves once every server is UP.
 *
 * @throws Error when the config is refused, the process exits, or the servers are not all UP within 15 s
 *   (the process is stopped first).
 */
export async function startHaproxy(binary: string, opts: HaproxyOptions): Promise<TestHaproxy> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetgate-haproxy-'));
  const port = await freePort();
  const socket = join(dir, 'admin.sock');
  const backend = opts.backend ?? 'fleet';
  const cfg = join(dir, 'haproxy.cfg');
  await writeFile(cfg, haproxyConfig({ ...opts, port, socket }));
  const checked = spawnSync(binary, ['-c', '-q', '-f', cfg], { encoding: 'utf8' });
  if (checked.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`haproxy refused its config: ${checked.stderr}${checked.stdout}`);
  }
  const proc = startServerProcess(binary, ['-db', '-f', cfg], {
    name: 'haproxy',
    afterStop: () => rm(dir, { recursive: true, force: true }),
  });
  const servers = async (): Promise<ServerStat[]> =>
    (await readServerStats(socket)).filter((s) => s.backend === backend);
  let last = 'no answer';
  await proc.waitUntil(
    'servers were not all UP',
    15_000,
    async () => {
      try {
        const rows = await servers();
        last = rows.map((r) => `${r.server}=${r.status}`).join(' ');
        return rows.length === opts.servers.length && rows.every((r) => r.status === 'UP');
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
        return false;
      }
    },
    { describe: () => last },
  );
  return { url: `http://127.0.0.1:${port}`, socket, backend, servers, stop: proc.stop };
}

/** What {@link startNotUpSampler} saw. */
export interface NotUpSamples {
  samples: number;
  /** Most servers of the backend HAProxy did not report UP at one sample (DRAIN, MAINT, DOWN, UP 1/2…). */
  maxNotUp: number;
  /** The servers not UP at the sample that set `maxNotUp`, as `name=STATUS`. */
  worst: string[];
  /** Samples that could not be read (the socket did not answer). */
  errors: number;
}

/**
 * Reads HAProxy's own view of the backend every `everyMs` (default 100 ms) until stopped,
 * and records the most servers not UP at once. Any status but exactly `UP` counts: a server
 * in DRAIN takes no new requests, "UP 1/2" is already failing checks.
 */
export function startNotUpSampler(
  lb: TestHaproxy,
  everyMs = 100,
): { stop(): Promise<NotUpSamples>; current(): NotUpSamples } {
  const seen: NotUpSamples = { samples: 0, maxNotUp: 0, worst: [], errors: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const notUp = (await lb.servers()).filter((s) => s.status !== 'UP');
        seen.samples++;
        if (notUp.length > seen.maxNotUp) {
          seen.maxNotUp = notUp.length;
          seen.worst = notUp.map((s) => `${s.server}=${s.status}`);
        }
      } catch {
        seen.errors++;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    current: () => ({ ...seen }),
    stop: async () => {
      running = false;
      await loop;
      return { ...seen };
    },
  };
}
