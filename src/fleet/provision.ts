/**
 * The local fleet's launcher for `replace` and `blueGreen` tiers: starts one agent on request
 * (`fleetgate fleet provision`) and stops it again (`fleetgate fleet retire`), the way a cloud's
 * API creates and deletes an instance. Each agent is its own detached process (its own session,
 * so it outlives the provision step that started it) on a free loopback port; a record
 * `<dir>/<id>.json` (`{"id", "address", "pid", "version"}`) says where it is, so a later command —
 * another process — can stop it. See docs/local-fleet.md and docs/replace-and-blue-green.md.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { isValidAgentId } from './agent.js';
import { LocalFleetError, resolveAgentCommand } from './local-fleet.js';
import { isValidAgentVersion } from './version-behaviour.js';

/** What a provisioned agent's record (and `fleet provision`'s stdout) says. */
export interface ProvisionedAgent {
  id: string;
  /** `127.0.0.1:PORT`. */
  address: string;
  /** Process id of the agent (its own process group). */
  pid: number;
  version: string;
  /** Labels to print with it (absent: the caller keeps the old target's). */
  labels?: Record<string, string>;
}

/** Options of {@link provisionLocalAgent}. Durations in milliseconds. */
export interface ProvisionOptions {
  /** Folder of the records (created). */
  dir: string;
  /** Version the agent runs. */
  version: string;
  /** Its id; absent: the next generation of `replaces` (`web-1` → `web-1.g2` → `web-1.g3`). */
  id?: string;
  /** Id of the target it replaces (names it when `id` is absent). */
  replaces?: string;
  labels?: Record<string, string>;
  /** Agent program (default: the one `resolveAgentCommand` picks). */
  agentScript?: string;
  /** Time the agent may take to listen (default 20,000). */
  startupTimeoutMs?: number;
  /** Synthetic requests per second (agent default 50). */
  trafficRps?: number;
}

/** `web-1` → `web-1.g2`, `web-1.g2` → `web-1.g3`. */
export function nextGeneration(id: string): string {
  const m = /^(.*)\.g(\d+)$/.exec(id);
  return m ? `${m[1]}.g${Number(m[2]) + 1}` : `${id}.g2`;
}

function recordPath(dir: string, id: string): string {
  return join(dir, `${id}.json`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readRecord(dir: string, id: string): Promise<ProvisionedAgent | undefined> {
  try {
    return JSON.parse(await readFile(recordPath(dir, id), 'utf8')) as ProvisionedAgent;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LocalFleetError(`cannot read ${recordPath(dir, id)}: ${(error as Error).message}`);
  }
}

/**
 * Starts one agent as a detached process on an ephemeral loopback port and waits until it
 * listens (it prints its address into `<dir>/<id>.out`), then writes its record.
 * @throws LocalFleetError on a bad id or version, an id whose agent is still running, or an agent
 *   that did not listen within the startup timeout (it is stopped)
 */
export async function provisionLocalAgent(opts: ProvisionOptions): Promise<ProvisionedAgent> {
  const id = opts.id ?? (opts.replaces !== undefined ? nextGeneration(opts.replaces) : undefined);
  if (id === undefined) throw new LocalFleetError('provision needs --id or --replaces');
  if (!isValidAgentId(id))
    throw new LocalFleetError(`invalid agent id ${JSON.stringify(id)} (letters, digits, . _ : -)`);
  if (!isValidAgentVersion(opts.version))
    throw new LocalFleetError(`version ${JSON.stringify(opts.version)} is not a valid agent version`);
  await mkdir(opts.dir, { recursive: true });
  const existing = await readRecord(opts.dir, id);
  if (existing && alive(existing.pid))
    throw new LocalFleetError(`agent ${id} is already running (pid ${existing.pid}, ${existing.address})`);
  const cmd = await resolveAgentCommand(opts.agentScript);
  const outPath = join(opts.dir, `${id}.out`);
  const errPath = join(opts.dir, `${id}.err`);
  const out = openSync(outPath, 'w');
  const err = openSync(errPath, 'w');
  const args = [...cmd.args, '--id', id, '--version', opts.version];
  if (opts.trafficRps !== undefined) args.push('--traffic-rps', String(opts.trafficRps));
  let pid: number | undefined;
  try {
    const child = spawn(cmd.command, args, { detached: true, stdio: ['ignore', out, err], windowsHide: true });
    pid = child.pid;
    child.unref();
  } finally {
    closeSync(out);
    closeSync(err);
  }
  if (pid === undefined) throw new LocalFleetError(`cannot start the agent program ${cmd.script}`);
  const deadline = Date.now() + (opts.startupTimeoutMs ?? 20_000);
  for (;;) {
    const text = await readFile(outPath, 'utf8').catch(() => '');
    const line = text.split('\n')[0] ?? '';
    if (text.includes('\n')) {
      const announced = (JSON.parse(line) as { agents?: { id: string; address: string }[] }).agents?.[0];
      if (!announced) throw new LocalFleetError(`agent ${id} printed ${JSON.stringify(line)}, not its address`);
      const record: ProvisionedAgent = {
        id,
        address: announced.address,
        pid,
        version: opts.version,
        ...(opts.labels && Object.keys(opts.labels).length > 0 && { labels: opts.labels }),
      };
      await writeFile(recordPath(opts.dir, id), `${JSON.stringify(record)}\n`);
      return record;
    }
    if (!alive(pid) || Date.now() > deadline) {
      const stderr = await readFile(errPath, 'utf8').catch(() => '');
      if (alive(pid)) process.kill(pid, 'SIGKILL');
      throw new LocalFleetError(`agent ${id} did not listen: ${stderr.trim() || 'no output'}`);
    }
    await delay(25);
  }
}

/**
 * Stops a provisioned agent: SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited
 * and its record is removed. An id with no record, or whose process is gone already, is retired
 * already (idempotent: a retire step may be retried).
 * @returns false when there was nothing to stop
 */
export async function retireLocalAgent(dir: string, id: string, graceMs = 2_000): Promise<boolean> {
  const record = await readRecord(dir, id);
  if (!record) return false;
  let stopped = false;
  if (alive(record.pid)) {
    process.kill(record.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (alive(record.pid) && Date.now() < deadline) await delay(20);
    if (alive(record.pid)) process.kill(record.pid, 'SIGKILL');
    while (alive(record.pid)) await delay(20);
    stopped = true;
  }
  await Promise.all(['json', 'out', 'err'].map((ext) => rm(join(dir, `${id}.${ext}`), { force: true })));
  return stopped;
}

/** Stops every agent with a record in `dir` (a test's clean-up). @returns the ids stopped */
export async function retireAllLocalAgents(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const ids = names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -'.json'.length));
  await Promise.all(ids.map((id) => retireLocalAgent(dir, id, 500)));
  return ids;
}
