/**
 * Starts a local fleet: real agent processes on 127.0.0.1, each printing its
 * agents' addresses on one JSON line, plus the inventory that points at them.
 * Used by the demo, `fleetgate fleet`, the tests and the benchmarks.
 *
 * Which agent program runs (see `resolveAgentCommand`): the caller's own code.
 * A bundled caller (`dist/cli.js`, `dist/demo.js`) runs the bundled sibling
 * `dist/agent.js`; a caller running from the TypeScript sources (vitest, tsx)
 * runs `src/fleet/agent-main.ts`, bundled on the fly with esbuild, so tests
 * never exercise a stale `dist/`. `agentScript` overrides both.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve as resolvePath, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Esbuild from 'esbuild';
import { stringify as stringifyYaml } from 'yaml';
import type { Target } from '../spec/types.js';
import { isValidAgentId } from './agent.js';
import { isValidAgentVersion } from './version-behaviour.js';

/** How to start the agent program: `command` with `args` before the agent's own arguments. */
export interface AgentCommand {
  /** Executable to spawn (always the running Node binary, `process.execPath`). */
  command: string;
  /** Arguments before the agent's own (the script path). */
  args: string[];
  /** Absolute path of the JavaScript file that runs. */
  script: string;
  /** Absolute path it was made from: `script` itself, or the TypeScript entry bundled into it. */
  source: string;
  /** Why this script: given explicitly, the bundled sibling, or the TypeScript sources bundled on the fly. */
  mode: 'explicit' | 'bundled' | 'source';
}

/** Options of `startLocalFleet`. Every duration is in milliseconds. */
export interface LocalFleetOptions {
  /** Agents to start (at least 1). */
  count: number;
  /** Version every agent runs at start. */
  version: string;
  /** Agent ids are `idPrefix` + 1, 2, … `count` (default `agent-`). */
  idPrefix?: string;
  /** Agent program to run instead of the one `resolveAgentCommand()` picks (a `.ts` entry is bundled with esbuild first). */
  agentScript?: string;
  /** Agents served by one process (default 1: one real process per agent). */
  agentsPerProcess?: number;
  /** Labels of the target at 0-based index `i` (default: none). */
  labels?: (i: number) => Record<string, string>;
  /** Simulated restart after an upgrade (ms; agent default 50). */
  upgradeMs?: number;
  /** Seed of the agents' random streams (agent default 1). */
  seed?: number;
  /** Synthetic requests per second per agent (agent default 50; 0 = off). */
  trafficRps?: number;
  /** 5xx ratio 0..1 of a plain version (agent default 0.01). */
  baseErrorRate?: number;
  /** Median latency of a plain version (ms; agent default 20). */
  baseLatencyMs?: number;
  /** Time one process may take to print its JSON line (ms; default 20,000). */
  startupTimeoutMs?: number;
}

/** A running local fleet. */
export interface LocalFleet {
  /** One target per agent, in id order, `address` = `127.0.0.1:PORT`. */
  targets: Target[];
  /** Process ids of the agent processes (one per process, so fewer than targets when `agentsPerProcess` > 1). */
  pids: number[];
  /** Stops every agent process: SIGTERM, then SIGKILL after 2 s. Resolves once all have exited. Idempotent. */
  stop(): Promise<void>;
  /**
   * Writes `{targets: [...]}` as YAML (`.yaml`, `.yml`) or JSON (`.json`), creating the folder.
   *
   * @throws LocalFleetError for any other extension.
   */
  writeInventory(path: string): Promise<void>;
}

/** The local fleet could not be started or used (bad options, an agent did not start). */
export class LocalFleetError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = LocalFleetError.name;
  }
}

/** Time between SIGTERM and SIGKILL on stop (ms). */
export const STOP_GRACE_MS = 2000;
const DEFAULT_STARTUP_TIMEOUT_MS = 20_000;
/** Processes started at once: enough to be quick, few enough that startup timeouts stay meaningful on small machines. */
const PARALLEL_STARTS = 8;
/** Longest first line accepted from an agent process (bytes; 20,000 agents need about 1.3 MB). */
const MAX_LINE_BYTES = 4 * 1024 * 1024;
/** Stderr kept per process for error messages (characters). */
const STDERR_TAIL = 4000;

function isTypeScript(path: string): boolean {
  return /\.[cm]?ts$/.test(path);
}

/** Bundles of TypeScript agent sources made by this process, by source path. */
const sourceBundles = new Map<string, Promise<string>>();
/** Cached bundles older than this are pruned when a new one is written (ms). */
const BUNDLE_CACHE_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** `node_modules/.cache/fleetgate` of the node_modules folder esbuild is installed in. */
function bundleCacheDir(): string {
  const esbuildMain = createRequire(import.meta.url).resolve('esbuild');
  const marker = `${sep}node_modules${sep}`;
  const at = esbuildMain.lastIndexOf(marker);
  if (at < 0) throw new Error(`esbuild resolved outside node_modules: ${esbuildMain}`);
  return join(esbuildMain.slice(0, at + marker.length), '.cache', 'fleetgate');
}

async function pruneBundleCache(dir: string, keep: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    if (path === keep || !/^agent-[0-9a-f]+\.mjs$/.test(name)) continue;
    try {
      if (now - (await stat(path)).mtimeMs > BUNDLE_CACHE_MAX_AGE_MS) await rm(path, { force: true });
    } catch {
      // Another process pruned it first.
    }
  }
}

/**
 * Bundles a TypeScript agent entry with esbuild (a devDependency, only needed
 * when running from sources), once per process, with the settings of
 * `scripts/build.mjs` (about 50 ms). The result is written to
 * `node_modules/.cache/fleetgate/agent-<content hash>.mjs` (atomically, so
 * parallel test workers share it) and starts as fast as `dist/agent.js`.
 */
function bundleAgentSource(entry: string): Promise<string> {
  let bundle = sourceBundles.get(entry);
  if (!bundle) {
    bundle = (async () => {
      // A computed specifier keeps esbuild (the package) out of bundles of this module.
      const specifier = 'esbuild';
      let esbuild: typeof Esbuild;
      let dir: string;
      try {
        esbuild = (await import(specifier)) as typeof Esbuild;
        dir = bundleCacheDir();
      } catch (err) {
        throw new LocalFleetError(
          `running the agent from ${entry} needs the esbuild package (a devDependency); build dist/agent.js and pass it as agentScript`,
          { cause: err },
        );
      }
      try {
        const result = await esbuild.build({
          entryPoints: [entry],
          write: false,
          outfile: 'agent.mjs',
          bundle: true,
          platform: 'node',
          format: 'esm',
          target: 'node20',
          logLevel: 'silent',
          banner: {
            js: "import { createRequire as __fgCreateRequire } from 'node:module'; const require = __fgCreateRequire(import.meta.url);",
          },
        });
        const code = result.outputFiles[0]?.contents;
        if (!code) throw new Error('esbuild produced no output');
        const outfile = join(dir, `agent-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`);
        await mkdir(dir, { recursive: true });
        const temp = `${outfile}.${process.pid}.tmp`;
        await writeFile(temp, code);
        await rename(temp, outfile);
        await pruneBundleCache(dir, outfile);
        return outfile;
      } catch (err) {
        throw new LocalFleetError(
          `cannot bundle the agent from ${entry}: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
    })();
    sourceBundles.set(entry, bundle);
    // A failed build may be retried (e.g. after fixing a syntax error in watch mode).
    bundle.catch(() => sourceBundles.delete(entry));
  }
  return bundle;
}

/**
 * Decides how to start the agent program. One rule: **the agent runs from the
 * same code as the caller**, so a test never exercises a stale `dist/`.
 *
 * - `agentScript` given: that file (a `.ts` file is bundled first, as below).
 * - This module is bundled (its URL ends in `.js`, e.g. `dist/cli.js`, `dist/demo.js`): `agent.js` next to it.
 * - This module runs from TypeScript sources (vitest, tsx): `agent-main.ts` next to it, bundled once per
 *   process with esbuild into `node_modules/.cache/fleetgate/agent-<content hash>.mjs`.
 *
 * The command is always the running Node binary (`process.execPath`) with the script as its only argument.
 *
 * @throws LocalFleetError when the script does not exist, or it is TypeScript and esbuild is missing or fails.
 */
export async function resolveAgentCommand(agentScript?: string): Promise<AgentCommand> {
  let source: string;
  let mode: AgentCommand['mode'];
  if (agentScript !== undefined) {
    source = resolvePath(agentScript);
    mode = 'explicit';
  } else if (isTypeScript(fileURLToPath(import.meta.url))) {
    source = fileURLToPath(new URL('./agent-main.ts', import.meta.url));
    mode = 'source';
  } else {
    source = fileURLToPath(new URL('./agent.js', import.meta.url));
    mode = 'bundled';
  }
  if (!existsSync(source)) {
    const hint = mode === 'bundled' ? ' (run `node scripts/build.mjs` to build dist/agent.js)' : '';
    throw new LocalFleetError(`agent program not found: ${source}${hint}`);
  }
  const script = isTypeScript(source) ? await bundleAgentSource(source) : source;
  return { command: process.execPath, args: [script], script, source, mode };
}

/** One spawned agent process. */
interface AgentProcess {
  child: ChildProcess;
  exited: Promise<void>;
  hasExited: () => boolean;
  stderrTail: () => string;
}

/** Every agent process this module started and that has not exited: killed when the parent exits. */
const liveProcesses = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAllOnExit(): void {
  for (const child of liveProcesses) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

function track(child: ChildProcess): void {
  liveProcesses.add(child);
  if (!exitHookInstalled) {
    process.on('exit', killAllOnExit);
    exitHookInstalled = true;
  }
}

function untrack(child: ChildProcess): void {
  liveProcesses.delete(child);
  if (liveProcesses.size === 0 && exitHookInstalled) {
    process.off('exit', killAllOnExit);
    exitHookInstalled = false;
  }
}

function spawnAgentProcess(cmd: AgentCommand, agentArgs: string[]): AgentProcess {
  const child = spawn(cmd.command, [...cmd.args, ...agentArgs], { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
  track(child);
  let exited = false;
  let tail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-STDERR_TAIL);
  });
  // A parent that stops writing must not break: EPIPE on stdin after the child exits is expected.
  child.stdin?.on('error', () => undefined);
  const exitedPromise = new Promise<void>((resolve) => {
    const done = (): void => {
      exited = true;
      untrack(child);
      resolve();
    };
    child.once('exit', done);
    // Spawn failures emit 'error' without 'exit'.
    child.once('error', () => {
      if (child.pid === undefined) done();
    });
  });
  return { child, exited: exitedPromise, hasExited: () => exited, stderrTail: () => tail.trim() };
}

interface AnnouncedAgent {
  id: string;
  address: string;
  port: number;
}

function parseAnnouncement(line: string): AnnouncedAgent[] {
  const body = JSON.parse(line) as unknown;
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { agents?: unknown }).agents)) {
    throw new Error('first line is not {"agents":[...]}');
  }
  const agents: AnnouncedAgent[] = [];
  for (const a of (body as { agents: unknown[] }).agents) {
    const r = a as Partial<AnnouncedAgent> | null;
    if (
      r === null ||
      typeof r !== 'object' ||
      typeof r.id !== 'string' ||
      typeof r.address !== 'string' ||
      typeof r.port !== 'number'
    ) {
      throw new Error(`malformed agent entry ${JSON.stringify(a)}`);
    }
    agents.push({ id: r.id, address: r.address, port: r.port });
  }
  return agents;
}

/** Waits for the process's first stdout line and parses it; keeps draining stdout afterwards. */
function readAnnouncement(proc: AgentProcess, timeoutMs: number): Promise<AnnouncedAgent[]> {
  const { child } = proc;
  const stdout = child.stdout;
  if (!stdout) return Promise.reject(new Error('agent process has no stdout'));
  return new Promise<AnnouncedAgent[]>((resolve, reject) => {
    let buffer = '';
    let settled = false;
    const finish = (err: Error | undefined, agents?: AnnouncedAgent[]): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stdout.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      // Later output is not used; drain it so the agent never blocks on a full pipe.
      stdout.resume();
      if (err) reject(err);
      else resolve(agents ?? []);
    };
    const onData = (chunk: string): void => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl >= 0) {
        try {
          finish(undefined, parseAnnouncement(buffer.slice(0, nl)));
        } catch (err) {
          finish(new Error(`unexpected output: ${err instanceof Error ? err.message : String(err)}`));
        }
      } else if (buffer.length > MAX_LINE_BYTES) {
        finish(new Error(`first line longer than ${MAX_LINE_BYTES} bytes`));
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      finish(new Error(`exited before listening (${signal ?? `code ${code}`})`));
    };
    const onError = (err: Error): void => finish(new Error(`cannot start: ${err.message}`));
    const timer = setTimeout(() => finish(new Error(`printed no address within ${timeoutMs} ms`)), timeoutMs);
    stdout.setEncoding('utf8');
    stdout.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

async function stopProcess(proc: AgentProcess): Promise<void> {
  if (proc.hasExited()) return;
  proc.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), STOP_GRACE_MS);
  });
  const outcome = await Promise.race([proc.exited.then(() => 'exited' as const), graceOver]);
  clearTimeout(timer);
  if (outcome === 'timeout' && !proc.hasExited()) {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
}

function checkOptions(opts: LocalFleetOptions): { idPrefix: string; perProcess: number } {
  const problems: string[] = [];
  const idPrefix = opts.idPrefix ?? 'agent-';
  const perProcess = opts.agentsPerProcess ?? 1;
  if (!Number.isInteger(opts.count) || opts.count < 1)
    problems.push(`count must be a positive integer (got ${opts.count})`);
  if (!Number.isInteger(perProcess) || perProcess < 1 || perProcess > 20_000)
    problems.push(`agentsPerProcess must be an integer from 1 to 20000 (got ${perProcess})`);
  if (!isValidAgentVersion(opts.version))
    problems.push(`version ${JSON.stringify(opts.version)} is not a valid agent version`);
  if (!isValidAgentId(`${idPrefix}1`))
    problems.push(`idPrefix ${JSON.stringify(idPrefix)} gives invalid ids (letters, digits, . _ : -)`);
  const numbers: Array<[string, number | undefined]> = [
    ['upgradeMs', opts.upgradeMs],
    ['trafficRps', opts.trafficRps],
    ['baseErrorRate', opts.baseErrorRate],
    ['baseLatencyMs', opts.baseLatencyMs],
    ['startupTimeoutMs', opts.startupTimeoutMs],
  ];
  for (const [name, value] of numbers) {
    if (value !== undefined && (!Number.isFinite(value) || value < 0))
      problems.push(`${name} must be a non-negative number (got ${value})`);
  }
  if (opts.baseErrorRate !== undefined && opts.baseErrorRate > 1)
    problems.push(`baseErrorRate is a ratio from 0 to 1 (got ${opts.baseErrorRate})`);
  if (opts.seed !== undefined && !Number.isInteger(opts.seed))
    problems.push(`seed must be an integer (got ${opts.seed})`);
  if (problems.length > 0) throw new LocalFleetError(`invalid local fleet options: ${problems.join('; ')}`);
  return { idPrefix, perProcess };
}

/**
 * Starts `count` agents as real processes on 127.0.0.1 and waits until every
 * one listens. Processes are spawned with argv only (no shell), at most 8 at a
 * time; each must print its JSON line within `startupTimeoutMs`. No agent
 * outlives the calling process: an `exit` hook SIGKILLs them, and each agent
 * also exits when its stdin pipe from this process closes.
 *
 * @throws LocalFleetError on bad options, a missing agent program, or an agent
 *   that fails to start (every process already started is stopped first).
 */
export async function startLocalFleet(opts: LocalFleetOptions): Promise<LocalFleet> {
  const { idPrefix, perProcess } = checkOptions(opts);
  const cmd = await resolveAgentCommand(opts.agentScript);
  const startupTimeoutMs = opts.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
  const common = ['--version', opts.version, '--exit-on-stdin-close'];
  if (opts.upgradeMs !== undefined) common.push('--upgrade-ms', String(opts.upgradeMs));
  if (opts.seed !== undefined) common.push('--seed', String(opts.seed));
  if (opts.trafficRps !== undefined) common.push('--traffic-rps', String(opts.trafficRps));
  if (opts.baseErrorRate !== undefined) common.push('--base-error-rate', String(opts.baseErrorRate));
  if (opts.baseLatencyMs !== undefined) common.push('--base-latency-ms', String(opts.baseLatencyMs));

  // Process k serves agents k*perProcess+1 .. min(count, (k+1)*perProcess).
  const plans: Array<{ first: number; n: number }> = [];
  for (let first = 1; first <= opts.count; first += perProcess)
    plans.push({ first, n: Math.min(perProcess, opts.count - first + 1) });

  const processes: AgentProcess[] = [];
  const announced: AnnouncedAgent[][] = new Array<AnnouncedAgent[]>(plans.length);
  let failure: Error | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < plans.length) {
      const k = next++;
      const plan = plans[k] as { first: number; n: number };
      const ids =
        plan.n === 1
          ? ['--id', `${idPrefix}${plan.first}`]
          : ['--count', String(plan.n), '--id-prefix', idPrefix, '--first-index', String(plan.first)];
      const proc = spawnAgentProcess(cmd, [...ids, ...common]);
      processes.push(proc);
      try {
        const agents = await readAnnouncement(proc, startupTimeoutMs);
        if (agents.length !== plan.n) throw new Error(`announced ${agents.length} agents, expected ${plan.n}`);
        announced[k] = agents;
      } catch (err) {
        const stderr = proc.stderrTail();
        failure ??= new LocalFleetError(
          `agent process ${proc.child.pid ?? '(not started)'} (${cmd.script}): ${err instanceof Error ? err.message : String(err)}${stderr ? `\n${stderr}` : ''}`,
          { cause: err },
        );
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_STARTS, plans.length) }, () => worker()));
  if (failure !== undefined) {
    await Promise.all(processes.map(stopProcess));
    throw failure;
  }

  const targets: Target[] = announced
    .flat()
    .map((a, i) => ({ id: a.id, address: a.address, labels: { ...(opts.labels?.(i) ?? {}) } }));
  let stopping: Promise<void> | undefined;
  return {
    targets,
    pids: processes.map((p) => p.child.pid).filter((pid): pid is number => pid !== undefined),
    stop: () => {
      stopping ??= Promise.all(processes.map(stopProcess)).then(() => undefined);
      return stopping;
    },
    writeInventory: async (path: string) => {
      const ext = extname(path).toLowerCase();
      const inventory = { targets: targets.map((t) => ({ id: t.id, address: t.address, labels: t.labels })) };
      let text: string;
      if (ext === '.yaml' || ext === '.yml') text = stringifyYaml(inventory);
      else if (ext === '.json') text = `${JSON.stringify(inventory, null, 2)}\n`;
      else throw new LocalFleetError(`inventory path must end in .yaml, .yml or .json (got ${path})`);
      await mkdir(dirname(resolvePath(path)), { recursive: true });
      await writeFile(path, text);
    },
  };
}
