/**
 * Starts a real Prometheus Alertmanager (Debian package `prometheus-alertmanager`)
 * on 127.0.0.1 for the alert-gate and silence tests: its own temporary config
 * and `--storage.path`, a free port, clustering off, and a bounded lifetime
 * (killed after 10 minutes whatever happens, and when the test process exits).
 * Never the system service.
 *
 * Locating the binary goes through `scripts/alertmanager.sh`: on a developer
 * machine without it (and not root), `locateAlertmanager()` returns `undefined`
 * after a LOUD message and the tests skip; with `CI` set it installs the
 * package (CI runs as root) and a missing binary fails the run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { freePort, startServerProcess } from '../../helpers/server-process.js';

const SCRIPT = resolve(import.meta.dirname, '../../../scripts/alertmanager.sh');
/** Longest an Alertmanager of a test lives (ms). */
const LIFETIME_MS = 10 * 60_000;

let located: { path: string | undefined } | undefined;

/**
 * The Alertmanager binary, or `undefined` (after a loud message) when it is missing on a
 * developer machine that is not root.
 * @throws Error in CI (`CI` set) when it is missing and cannot be installed.
 */
export function locateAlertmanager(): string | undefined {
  if (located) return located.path;
  const check = spawnSync('bash', [SCRIPT, '--check'], { encoding: 'utf8' });
  let path = check.status === 0 ? check.stdout.trim() : undefined;
  let why = check.stderr.trim();
  if (path === undefined && (process.env.CI || process.getuid?.() === 0)) {
    const install = spawnSync('bash', [SCRIPT], { encoding: 'utf8', timeout: 600_000 });
    path = install.status === 0 ? install.stdout.trim() : undefined;
    why = install.stderr.trim();
    if (path === undefined && process.env.CI)
      throw new Error(`Alertmanager is required in CI and scripts/alertmanager.sh could not provide it:\n${why}`);
  }
  if (path === undefined) {
    process.stderr.write(
      `\n${'!'.repeat(78)}\n!! SKIPPING the Alertmanager tests: prometheus-alertmanager is not installed.\n!! ${why.split('\n').join('\n!! ')}\n${'!'.repeat(78)}\n\n`,
    );
  }
  located = { path };
  return path;
}

/** A silence as the API returns it (what the tests read). */
export interface TestSilence {
  id: string;
  status: { state: 'active' | 'pending' | 'expired' };
  createdBy: string;
  comment: string;
  matchers: { name: string; value: string; isRegex: boolean; isEqual?: boolean }[];
  startsAt: string;
  endsAt: string;
}

/** An Alertmanager started by {@link startAlertmanager}. */
export interface TestAlertmanager {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** Posts alerts (`POST /api/v2/alerts`) that fire from now on for `forMs` (default 10 minutes). */
  fire(alerts: { labels: Record<string, string>; startsAt?: string }[], forMs?: number): Promise<void>;
  /** Every silence it holds (`GET /api/v2/silences`). */
  silences(): Promise<TestSilence[]>;
  /** Active alerts neither silenced nor inhibited, as the gate asks for them. */
  firing(): Promise<{ labels: Record<string, string> }[]>;
  /** Stops the process (SIGTERM, SIGKILL after 5 s) and removes its data. Idempotent. */
  stop(): Promise<void>;
}

async function json(url: string, init: { method?: string; body?: unknown } = {}): Promise<unknown> {
  const res = await request(url, {
    method: (init.method ?? 'GET') as 'GET',
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    headersTimeout: 5000,
    bodyTimeout: 5000,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${init.method ?? 'GET'} ${url}: HTTP ${res.statusCode} ${text}`);
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

/**
 * Starts Alertmanager with a route to a receiver that sends nothing, waits until it is ready.
 * @throws Error when it does not become ready within 20 s (the process is stopped first)
 */
export async function startAlertmanager(binary: string): Promise<TestAlertmanager> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetgate-alertmanager-'));
  const port = await freePort();
  await writeFile(
    join(dir, 'alertmanager.yml'),
    ['route:', '  receiver: nowhere', '  group_wait: 1s', 'receivers:', '  - name: nowhere', ''].join('\n'),
  );
  const server = startServerProcess(
    binary,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { name: 'alertmanager', graceMs: 5000, afterStop: () => rm(dir, { recursive: true, force: true }) },
  );
  // Bounded: a test that forgets to stop it does not leave it running for long.
  const lifetime = setTimeout(() => void server.stop(), LIFETIME_MS);
  lifetime.unref();
  const stop = async (): Promise<void> => {
    clearTimeout(lifetime);
    await server.stop();
  };
  const url = `http://127.0.0.1:${port}`;
  // A throw: not listening yet.
  await server.waitUntil(
    'did not become ready',
    20_000,
    async () => (await request(`${url}/-/ready`)).statusCode === 200,
  );
  return {
    url,
    stop,
    async fire(alerts, forMs = 10 * 60_000) {
      const now = Date.now();
      await json(`${url}/api/v2/alerts`, {
        method: 'POST',
        body: alerts.map((a) => ({
          labels: a.labels,
          startsAt: a.startsAt ?? new Date(now).toISOString(),
          endsAt: new Date(now + forMs).toISOString(),
        })),
      });
    },
    async silences() {
      return (await json(`${url}/api/v2/silences`)) as TestSilence[];
    },
    async firing() {
      return (await json(`${url}/api/v2/alerts?active=true&silenced=false&inhibited=false`)) as {
        labels: Record<string, string>;
      }[];
    },
  };
}
