/**
 * Given/when/then helpers for end-to-end rollouts: a real git repository in a
 * temporary folder, a real local fleet, and the bundled CLI run as a process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fleetSpecText } from './fleet-spec.js';
import { gitIn } from './git.js';
import { readAgentVersion } from '../../src/fleet/client.js';
import { startLocalFleet, type LocalFleet, type LocalFleetOptions } from '../../src/fleet/local-fleet.js';
import { parseState } from '../../src/state/parse.js';
import type { RolloutState } from '../../src/state/types.js';

export const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

if (!existsSync(CLI))
  throw new Error(`${CLI} is missing: run \`node scripts/build.mjs\` (npm test does) before the end-to-end tests`);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SpecOptions {
  name?: string;
  version: string;
  /** A size, a list of target ids, or `{spreadBy: label}` (written as JSON, which YAML reads). */
  canary?: number | string | readonly string[] | { spreadBy: string };
  /** A size, or the waves as lists of target ids. */
  waves?: number | string | readonly (readonly string[])[];
  maxUnavailable?: number | string;
  observe?: string;
  maxConsecutiveFailures?: number;
  failureTolerance?: string;
  verifyTimeout?: string;
  extra?: string;
}

/** A spec over the local fleet's HTTP agents, with short timings for tests. */
export function specText(o: SpecOptions): string {
  return fleetSpecText({
    name: o.name,
    version: o.version,
    canary: o.canary ?? 1,
    waves: o.waves ?? 3,
    maxUnavailable: o.maxUnavailable ?? 2,
    observe: o.observe ?? '0s',
    observeInterval: '100ms',
    maxConsecutiveFailures: o.maxConsecutiveFailures ?? 2,
    failureTolerance: o.failureTolerance ?? '0%',
    timeouts: { version: '2s', verify: o.verifyTimeout ?? '2s' },
    verifyInterval: '50ms',
    extra: o.extra,
  });
}

export class RolloutRepo {
  readonly dir: string;
  readonly specPath: string;
  private constructor(
    readonly fleet: LocalFleet,
    readonly name: string,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'fleetgate-e2e-'));
    this.specPath = join('rollouts', `${name}.yaml`);
  }

  /** Given: a fleet of `count` agents on `version` and a git repository holding the spec. */
  static async create(opts: {
    count: number;
    version: string;
    upgradeMs?: number;
    spec: SpecOptions;
    /** Extra launcher settings (traffic, error rate, seed). */
    fleet?: Partial<LocalFleetOptions>;
  }): Promise<RolloutRepo> {
    const fleet = await startLocalFleet({
      count: opts.count,
      version: opts.version,
      idPrefix: 't-',
      upgradeMs: opts.upgradeMs ?? 20,
      ...opts.fleet,
    });
    const repo = new RolloutRepo(fleet, opts.spec.name ?? 'svc');
    mkdirSync(join(repo.dir, 'rollouts'));
    await fleet.writeInventory(join(repo.dir, 'inventory.yaml'));
    writeFileSync(join(repo.dir, '.gitignore'), '.fleetgate/\n');
    repo.writeSpec(opts.spec);
    repo.git('init', '--quiet', '--initial-branch=main');
    repo.git('add', '.');
    repo.git('commit', '--quiet', '-m', 'initial');
    return repo;
  }

  git(...args: string[]): string {
    return gitIn(this.dir, ...args);
  }

  writeSpec(o: SpecOptions): void {
    writeFileSync(join(this.dir, this.specPath), specText({ ...o, name: this.name }));
  }

  /** When: the spec moves to `version` (committed, as a merged pull request would). */
  propose(o: SpecOptions): void {
    this.writeSpec(o);
    this.git('commit', '--quiet', '-am', `propose ${o.version}`);
  }

  /** Starts the CLI without waiting. */
  start(...args: string[]): ChildProcess & { result: Promise<CliResult> } {
    return this.startWith({}, ...args);
  }

  /** Starts the CLI without waiting, with `env` over the defaults (`CI=1`, `NO_COLOR=1`); `undefined` unsets. */
  startWith(env: Record<string, string | undefined>, ...args: string[]): ChildProcess & { result: Promise<CliResult> } {
    const merged: NodeJS.ProcessEnv = { ...process.env, CI: '1', NO_COLOR: '1', ...env };
    for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
    const child = spawn(process.execPath, [CLI, ...args], { cwd: this.dir, env: merged });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const result = new Promise<CliResult>((res) =>
      child.on('exit', (code, signal) => res({ code: code ?? (signal ? 128 : 1), stdout, stderr })),
    );
    return Object.assign(child, { result });
  }

  /** Runs the CLI to completion. */
  cli(...args: string[]): Promise<CliResult> {
    return this.start(...args).result;
  }

  /** Runs the CLI to completion with `env` over the defaults (see `startWith`). */
  cliWith(env: Record<string, string | undefined>, ...args: string[]): Promise<CliResult> {
    return this.startWith(env, ...args).result;
  }

  state(): RolloutState {
    return parseState(readFileSync(join(this.dir, 'rollouts', `${this.name}.state.yaml`), 'utf8'), 'state');
  }

  hasState(): boolean {
    return existsSync(join(this.dir, 'rollouts', `${this.name}.state.yaml`));
  }

  /** Then: what each agent reports on /version. */
  async versions(): Promise<Map<string, { version: string; upgrades: number }>> {
    // Read concurrently, kept in inventory order (tests compare the values as a list).
    const read = await Promise.all(this.fleet.targets.map((t) => readAgentVersion(t.address)));
    return new Map(
      this.fleet.targets.map((t, i) => [t.id, { version: read[i]!.version, upgrades: read[i]!.upgrades }]),
    );
  }

  async close(): Promise<void> {
    await this.fleet.stop();
  }
}
