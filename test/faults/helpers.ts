/**
 * Helpers for the fault tests: a spec with explicit timeouts and retries, agent
 * request counts, waiting for a condition, and process-group kills.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readAgentStats, readAgentVersion, type AgentStats } from '../../src/fleet/client.js';
import { fleetSpecText } from '../helpers/fleet-spec.js';
import { CLI, type CliResult, type RolloutRepo } from '../helpers/rollout-repo.js';

export interface FaultSpec {
  version: string;
  canary?: number;
  /** Wave size (targets). */
  waves?: number;
  maxUnavailable?: number;
  maxConsecutiveFailures?: number;
  /** Step timeout for version, drain, upgrade, undrain (default 500ms). */
  stepTimeout?: string;
  /** Retries of the version, drain and undrain steps (default 1). */
  retries?: number;
  verifyTimeout?: string;
  failureTolerance?: string;
}

/** A spec over the local fleet with short, explicit timeouts and retries (documented in docs/spec.md#steps). */
export function faultSpecText(name: string, o: FaultSpec): string {
  const t = o.stepTimeout ?? '500ms';
  return fleetSpecText({
    name,
    version: o.version,
    canary: o.canary ?? 0,
    waves: o.waves ?? 3,
    maxUnavailable: o.maxUnavailable ?? 1,
    observe: '0s',
    maxConsecutiveFailures: o.maxConsecutiveFailures ?? 2,
    failureTolerance: o.failureTolerance ?? '0%',
    timeouts: { version: t, drain: t, upgrade: t, verify: o.verifyTimeout ?? '1s', undrain: t },
    retries: o.retries ?? 1,
    verifyInterval: '25ms',
  });
}

/** Writes `text` as the rollout's spec and commits it (a merged pull request). */
export function proposeText(repo: RolloutRepo, text: string, message = 'propose'): void {
  writeFileSync(join(repo.dir, repo.specPath), text);
  repo.git('commit', '--quiet', '-am', message);
}

/** Request counts of every agent, by target id. */
export async function agentStats(repo: RolloutRepo): Promise<Map<string, AgentStats>> {
  const out = new Map<string, AgentStats>();
  await Promise.all(repo.fleet.targets.map(async (t) => out.set(t.id, await readAgentStats(t.address))));
  return out;
}

/** Requests an agent received on `path` since `before`. */
export function delta(after: Map<string, AgentStats>, before: Map<string, AgentStats>, id: string, path: string) {
  return (after.get(id)?.requests[path] ?? 0) - (before.get(id)?.requests[path] ?? 0);
}

/** Requests an agent received since `before`, its own admin endpoints (stats, faults) left out. */
export function deltaAll(after: Map<string, AgentStats>, before: Map<string, AgentStats>, id: string): number {
  const count = (m: Map<string, AgentStats>) => {
    const s = m.get(id);
    if (!s) return 0;
    return s.total - (s.requests['/_admin/stats'] ?? 0) - (s.requests['/_admin/fault'] ?? 0);
  };
  return count(after) - count(before);
}

/** What every agent reports, with whether it is drained. */
export async function agentReports(repo: RolloutRepo) {
  const out = new Map<string, { version: string; upgrades: number; drained: boolean }>();
  await Promise.all(
    repo.fleet.targets.map(async (t) => {
      const r = await readAgentVersion(t.address);
      out.set(t.id, { version: r.version, upgrades: r.upgrades, drained: r.drained });
    }),
  );
  return out;
}

/** Process ids whose process group is `pgid`, whose command is `comm` and whose argv holds `arg` (Linux /proc). */
export function groupMembers(pgid: number, comm?: string, arg?: string): number[] {
  const out: number[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so split after the last ')'.
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      if (comm !== undefined && stat.slice(stat.indexOf('(') + 1, close) !== comm) continue;
      if (arg !== undefined && !readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(arg)) continue;
      out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

/** SIGKILLs a whole process group (the CLI and any git it runs), as a cancelled CI job does. */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Starts the CLI in its own process group (so `killGroup` takes git with it),
 * collecting its output.
 */
export function startDetached(repo: RolloutRepo, ...args: string[]): ChildProcess & { result: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: repo.dir,
    env: { ...process.env, CI: '1', NO_COLOR: '1' },
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const result = new Promise<CliResult>((res) =>
    child.on('exit', (code, signal) => res({ code: code ?? (signal ? 128 : 1), stdout, stderr })),
  );
  return Object.assign(child, { result });
}
