/**
 * Given/when/then of a zero-downtime rollout behind a real HAProxy: a local fleet
 * behind the load balancer, `rollouts/examples/haproxy.yaml` (its steps as written,
 * its timings shortened for a test) in a temporary git repository, the bundled CLI
 * rolling it out while a load generator sends requests through HAProxy and a
 * sampler reads HAProxy's view of the backend. Shared by the test and the benchmark.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { LocalFleet } from '../../src/fleet/local-fleet.js';
import { gitIn } from '../helpers/git.js';
import { startNotUpSampler, type NotUpSamples, type TestHaproxy } from './haproxy.js';
import { startLoad, type LoadOptions, type LoadResult } from './load.js';

const ROOT = resolve(import.meta.dirname, '../..');
export const HAPROXY_EXAMPLE = join(ROOT, 'rollouts/examples/haproxy.yaml');
const RUNTIME_SCRIPT = join(ROOT, 'rollouts/examples/haproxy/haproxy-runtime.mjs');
const CLI = join(ROOT, 'dist/cli.js');

export interface RolloutUnderLoad {
  /** The CLI's exit code (0: finished). */
  code: number;
  output: string;
  load: LoadResult;
  lb: NotUpSamples;
  /** Wall time of `fleetgate run` (ms). */
  rolloutMs: number;
}

/**
 * The example spec with `version`, its tier's timings for a test, and (when `until` is false)
 * its drain's and undrain's `until` checks removed.
 */
export function exampleSpec(o: { version: string; until: boolean; waves?: number; maxUnavailable?: number }): string {
  const doc = parseDocument(readFileSync(HAPROXY_EXAMPLE, 'utf8'));
  doc.set('version', o.version);
  doc.setIn(['tiers', 0, 'strategy', 'observe'], '0s');
  doc.setIn(['tiers', 0, 'strategy', 'expectedTargetDuration'], '2s');
  if (o.waves !== undefined) doc.setIn(['tiers', 0, 'strategy', 'waves'], o.waves);
  if (o.maxUnavailable !== undefined) doc.setIn(['tiers', 0, 'strategy', 'maxUnavailable'], o.maxUnavailable);
  if (!o.until) {
    doc.deleteIn(['steps', 'drain', 'until']);
    doc.deleteIn(['steps', 'undrain', 'until']);
  }
  return doc.toString();
}

/**
 * Rolls `spec` out over `fleet` (behind `lb`) with the load running from 1 s before the
 * run to 1 s after it, and returns what the load generator and the sampler counted.
 */
export async function rollOutUnderLoad(
  fleet: LocalFleet,
  lb: TestHaproxy,
  spec: string,
  load: Omit<LoadOptions, 'url' | 'maxDurationMs'> & { maxDurationMs?: number },
  runTimeoutMs = 60_000,
): Promise<RolloutUnderLoad> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-lb-'));
  try {
    mkdirSync(join(dir, 'rollouts/haproxy'), { recursive: true });
    copyFileSync(RUNTIME_SCRIPT, join(dir, 'rollouts/haproxy/haproxy-runtime.mjs'));
    writeFileSync(join(dir, 'rollouts/web.yaml'), spec);
    await fleet.writeInventory(join(dir, 'rollouts/inventory/haproxy-fleet.yaml'));
    writeFileSync(join(dir, '.gitignore'), '.fleetgate/\n');
    gitIn(dir, 'init', '--quiet', '--initial-branch=main');
    gitIn(dir, 'add', '.');
    gitIn(dir, 'commit', '--quiet', '-m', 'initial');

    const sampler = startNotUpSampler(lb);
    const generator = startLoad({ url: lb.url, maxDurationMs: runTimeoutMs + 5000, ...load });
    await new Promise((r) => setTimeout(r, 1000));
    const started = performance.now();
    const { code, output } = await new Promise<{ code: number; output: string }>((done) => {
      const child = spawn(process.execPath, [CLI, 'run', 'rollouts/web.yaml', '--yes'], {
        cwd: dir,
        env: { ...process.env, CI: '1', NO_COLOR: '1', HAPROXY_SOCKET: lb.socket },
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const timer = setTimeout(() => child.kill('SIGTERM'), runTimeoutMs);
      child.on('exit', (c, signal) => {
        clearTimeout(timer);
        done({ code: c ?? (signal ? 128 : 1), output: out });
      });
    });
    const rolloutMs = Math.round(performance.now() - started);
    await new Promise((r) => setTimeout(r, 1000));
    const [loadResult, lbResult] = await Promise.all([generator.stop(), sampler.stop()]);
    return { code, output, load: loadResult, lb: lbResult, rolloutMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One line of figures for the test output and the benchmark. */
export function describeRun(label: string, r: RolloutUnderLoad): string {
  const statuses = Object.entries(r.load.failedByStatus)
    .map(([s, n]) => `${n}×${s}`)
    .join(' ');
  const other = Object.entries(r.load.otherErrors)
    .map(([s, n]) => `${n}×${s}`)
    .join(' ');
  return (
    `${label}: exit ${r.code}, rollout ${(r.rolloutMs / 1000).toFixed(1)} s, ${r.load.sent} requests at ${r.load.rps}/s, ` +
    `${r.load.failed} failed (${r.load.resets} resets${statuses ? `, ${statuses}` : ''}${other ? `, ${other}` : ''}), ` +
    `max ${r.lb.maxNotUp} servers not UP in HAProxy (${r.lb.samples} samples${r.lb.worst.length ? `: ${r.lb.worst.join(' ')}` : ''})`
  );
}
