/**
 * A throw-away git repository holding a rollout spec over a local fleet, and the
 * bundled CLI run against it as a real process — what a user (or a GitHub job)
 * runs. Used by every benchmark that times `fleetgate run`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fleetSpecText } from '../../test/helpers/fleet-spec.js';
import { gitIn } from '../../test/helpers/git.js';
import type { Target } from '../../src/spec/types.js';
import { stringify } from 'yaml';

export const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`node scripts/build.mjs\` first (npm run bench does)`);
}

export interface BenchSpec {
  version: string;
  canary?: number | string;
  waves: number | string;
  maxUnavailable: number | string;
  observe?: string;
  /** Verify polling interval (default 10ms). */
  verifyInterval?: string;
  maxConsecutiveFailures?: number;
}

/** The spec every timing benchmark rolls out: HTTP steps against the local fleet's agents. */
export function benchSpecText(name: string, o: BenchSpec): string {
  return fleetSpecText({
    name,
    version: o.version,
    canary: o.canary ?? 0,
    waves: o.waves,
    maxUnavailable: o.maxUnavailable,
    observe: o.observe ?? '0s',
    maxConsecutiveFailures: o.maxConsecutiveFailures ?? 2,
    timeouts: { version: '5s', drain: '5s', upgrade: '5s', verify: '30s', undrain: '5s' },
    verifyInterval: o.verifyInterval ?? '10ms',
  });
}

export interface CliRun {
  code: number;
  ms: number;
  stdout: string;
  stderr: string;
}

export class BenchRepo {
  readonly dir: string;
  readonly specPath: string;

  constructor(
    readonly name: string,
    targets: Target[],
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'fleetgate-bench-'));
    this.specPath = join('rollouts', `${name}.yaml`);
    mkdirSync(join(this.dir, 'rollouts'));
    writeFileSync(
      join(this.dir, 'inventory.yaml'),
      stringify({ targets: targets.map((t) => ({ id: t.id, address: t.address, labels: t.labels })) }),
    );
    writeFileSync(join(this.dir, '.gitignore'), '.fleetgate/\n');
    this.git('init', '--quiet', '--initial-branch=main');
    this.git('add', '.');
    this.git('commit', '--quiet', '-m', 'initial');
  }

  git(...args: string[]): string {
    return gitIn(this.dir, ...args);
  }

  /** Writes and commits the spec (as a merged pull request would). */
  propose(spec: BenchSpec): void {
    writeFileSync(join(this.dir, this.specPath), benchSpecText(this.name, spec));
    this.git('add', this.specPath);
    this.git('commit', '--quiet', '-m', `propose ${spec.version}`);
  }

  /** Runs the CLI to completion and times it (process start to exit). */
  cli(...args: string[]): Promise<CliRun> {
    return new Promise((resolvePromise) => {
      const start = performance.now();
      const child = spawn(process.execPath, [CLI, ...args], {
        cwd: this.dir,
        env: { ...process.env, CI: '1', NO_COLOR: '1' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code, signal) =>
        resolvePromise({ code: code ?? (signal ? 128 : 1), ms: performance.now() - start, stdout, stderr }),
      );
    });
  }

  readText(rel: string): string {
    return readFileSync(join(this.dir, rel), 'utf8');
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Events from a `--events` JSON-lines file. */
export interface BenchEvent {
  ts: string;
  event: string;
  wave?: string;
  target?: string;
  step?: string;
  durationMs?: number;
  [key: string]: unknown;
}

export function readEvents(path: string): BenchEvent[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as BenchEvent);
}
