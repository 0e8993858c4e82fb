/**
 * Starts a real Prometheus (Debian package `prometheus`) on 127.0.0.1 for the
 * analysis tests: its own temporary config and `--storage.tsdb.path`, a free
 * port, a 1 s scrape interval, scraping the given local agents. Never the
 * system service.
 *
 * Locating the binary goes through `scripts/prometheus.sh`: on a developer
 * machine without it, `locatePrometheus()` returns `undefined` after a LOUD
 * message and the tests skip; with `CI` set it installs the package (CI runs
 * as root) and a missing binary fails the run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { pollUntil } from '../../helpers/poll.js';
import { freePort, startServerProcess } from '../../helpers/server-process.js';

// Other helpers and tests take the port picker from here.
export { freePort };

const SCRIPT = resolve(import.meta.dirname, '../../../scripts/prometheus.sh');

let located: { path: string | undefined } | undefined;

/**
 * The Prometheus binary, or `undefined` (after a loud message) when it is missing
 * on a developer machine.
 *
 * @throws Error in CI (`CI` set) when it is missing and cannot be installed.
 */
export function locatePrometheus(): string | undefined {
  if (located) return located.path;
  const check = spawnSync('bash', [SCRIPT, '--check'], { encoding: 'utf8' });
  let path = check.status === 0 ? check.stdout.trim() : undefined;
  if (path === undefined && process.env.CI) {
    const install = spawnSync('bash', [SCRIPT], { encoding: 'utf8', timeout: 600_000 });
    path = install.status === 0 ? install.stdout.trim() : undefined;
    if (path === undefined)
      throw new Error(
        `Prometheus is required in CI and scripts/prometheus.sh could not provide it:\n${install.stderr}`,
      );
  }
  if (path === undefined) {
    process.stderr.write(
      `\n${'!'.repeat(78)}\n!! SKIPPING the Prometheus analysis tests: prometheus is not installed.\n!! ${check.stderr.trim().split('\n').join('\n!! ')}\n${'!'.repeat(78)}\n\n`,
    );
  }
  located = { path };
  return path;
}

/** A Prometheus started by {@link startPrometheus}. */
export interface TestPrometheus {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** Stops the process (SIGTERM, SIGKILL after 5 s) and removes its data. Idempotent. */
  stop(): Promise<void>;
  /** Whether the process is still running. */
  running(): boolean;
}

async function getJson(url: string): Promise<unknown> {
  const res = await request(url, { headersTimeout: 2000, bodyTimeout: 2000 });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as unknown;
}

/**
 * Starts Prometheus scraping `targets` (`host:port`) every second, waits until
 * it is ready and every target is up, then resolves.
 *
 * @throws Error when it does not start or the targets are not up within 20 s (the process is stopped first).
 */
export async function startPrometheus(binary: string, targets: readonly string[]): Promise<TestPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetgate-prometheus-'));
  const port = await freePort();
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: fleet',
    '    static_configs:',
    `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'prometheus.yml'), config);
  const proc = startServerProcess(
    binary,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { name: 'prometheus', graceMs: 5000, afterStop: () => rm(dir, { recursive: true, force: true }) },
  );
  const url = `http://127.0.0.1:${port}`;
  await proc.waitUntil(
    'did not become ready',
    20_000,
    async () => (await request(`${url}/-/ready`)).statusCode === 200,
  );
  await proc.waitUntil('targets were not all up', 20_000, async () => {
    const body = (await getJson(`${url}/api/v1/targets`)) as { data: { activeTargets: Array<{ health: string }> } };
    const active = body.data.activeTargets;
    return active.length === targets.length && active.every((t) => t.health === 'up');
  });
  return { url, stop: proc.stop, running: proc.running };
}

/**
 * Waits until Prometheus holds at least `samples` scraped samples of
 * `fleet_agent_build_info` for each address, on `version` when given (an upgrade
 * starts new series), so `rate()` over the next window has data.
 */
export async function waitForSamples(
  prom: TestPrometheus,
  addresses: readonly string[],
  samples = 2,
  version?: string,
): Promise<void> {
  const regex = addresses.map((a) => a.replace(/[.]/g, '\\\\.')).join('|');
  const versionMatcher = version !== undefined ? `,version=${JSON.stringify(version)}` : '';
  const query = `min by (instance) (count_over_time(fleet_agent_build_info{instance=~"${regex}"${versionMatcher}}[1m]))`;
  let last = 'no answer';
  await pollUntil(
    `prometheus did not scrape ${samples} samples of every target`,
    20_000,
    async () => {
      const body = (await getJson(`${prom.url}/api/v1/query?query=${encodeURIComponent(query)}`)) as {
        data: { result: Array<{ value: [number, string] }> };
      };
      last = JSON.stringify(body.data.result);
      const result = body.data.result;
      return result.length >= addresses.length && result.every((r) => Number(r.value[1]) >= samples);
    },
    { describe: () => `${query} → ${last}` },
  );
}
