/**
 * Runs one step (an argv command or an HTTP request) against one target, with
 * timeout and retries. Failures are results, not exceptions: the engine
 * decides what a failed step means.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, request, type Dispatcher } from 'undici';
import type { CommandStep, HttpStep, SshSpec, SshStep, StepSpec } from '../spec/types.js';
import { onAbort, type Clock } from '../util/clock.js';
import { redactSecrets, registerSecret } from '../util/secrets.js';
import { buildRemoteCommand, createSshTransport, explainSshFailure, SshError } from './ssh.js';
import { AUTHORITY_PLACEHOLDERS, renderTemplate, resolvePlaceholder, type TemplateVars } from './template.js';

export interface StepResult {
  ok: boolean;
  /** Attempts made (1 + retries used). */
  attempts: number;
  /** HTTP status, when the step is an HTTP request. */
  status?: number;
  /** Exit code, when the step is a command. */
  exitCode?: number | null;
  /** Version read by a `version` step (from the JSON field, or trimmed stdout). */
  version?: string;
  /** Short description of what happened (first 300 characters of output on failure). */
  message: string;
  /** True when no attempt was made because the runner was closed (the run is stopping); do not retry. */
  stopped?: boolean;
  /** Wall time of the last attempt (ms). */
  durationMs: number;
}

/** How a step is run. */
export interface StepRunOptions {
  signal?: AbortSignal;
  /** Read the version from the result (the `version` step). */
  extractVersion?: boolean;
  /**
   * Why the engine runs it, when it is not the step itself: `budget-probe` is a one-attempt
   * health check of a tier member before another is taken down. Runners may count calls by it.
   */
  purpose?: 'budget-probe';
}

/** Executes steps; the engine only sees this interface, so tests may count or slow calls. */
export interface StepRunner {
  run(step: StepSpec, vars: TemplateVars, opts?: StepRunOptions): Promise<StepResult>;
}

export interface StepRunnerOptions {
  clock: Clock;
  /** Folder relative command paths and `cwd` resolve against (the spec file's folder). */
  baseDir: string;
  /** Most concurrent HTTP connections per origin (default 8). */
  connectionsPerOrigin?: number;
  /**
   * Milliseconds between the SIGTERM and the SIGKILL to a command step's process group
   * (default {@link KILL_GRACE_MS}).
   */
  killGraceMs?: number;
  /** How `ssh` steps connect (the spec's `ssh:` section; absent = its defaults). */
  ssh?: SshSpec;
}

const MAX_OUTPUT = 300;

/**
 * Grace, in milliseconds, between the SIGTERM sent to a command step's whole process group
 * (when the step times out, the run is aborted, or the step's own process has exited and
 * left others in its group) and the SIGKILL sent to what is still in the group then.
 */
export const KILL_GRACE_MS = 2_000;

/** Most bytes of stdout, and of stderr, kept from one command attempt; more ends the step. */
const MAX_CAPTURE_BYTES = 1024 * 1024;
/** How often (ms) to look whether a process group is gone while it has its grace. */
const GROUP_POLL_MS = 25;
/**
 * How long (ms) to wait, once the step's group is gone, for its stdout and stderr to close:
 * a process that left the group (`setsid`, a daemon) may hold them open for as long as it lives.
 */
const STDIO_CLOSE_WAIT_MS = 500;
/** How long (ms) to wait for the step's own process to be reaped after the SIGKILL. */
const EXIT_WAIT_MS = 1_000;

/** Picks a dotted path (`build.version`) out of parsed JSON; `undefined` when absent or not a scalar. */
export function pickJsonField(value: unknown, path: string): string | undefined {
  let cur: unknown = value;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return typeof cur === 'string' || typeof cur === 'number' || typeof cur === 'boolean' ? String(cur) : undefined;
}

function clip(text: string): string {
  // Redacted before clipping, so no cut can leave part of a secret behind.
  const t = redactSecrets(text).trim().replace(/\s+/g, ' ');
  return t.length > MAX_OUTPUT ? `${t.slice(0, MAX_OUTPUT)}…` : t;
}

/** `{{name}}` placeholders, as `template.ts` finds them. */
const PLACEHOLDER = /\{\{\s*([a-zA-Z0-9_.-]+)\s*\}\}/g;
/** What `{{target.address}}` / `{{target.host}}` may be inside a URL: a host, `host:port` or `[v6]:port`. */
const URL_AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z._~-]+)(?::[0-9]{1,5})?$/;

/**
 * Renders an HTTP step's URL. Values are percent-encoded (`renderTemplate`), and two
 * kinds of value that would still change where the request goes are refused: an
 * address that is more than `host[:port]` (a path, `?`, `#`, `@` user info, a
 * backslash), and a `.` or `..` filling a path segment (URL parsers resolve them
 * even percent-encoded).
 * @throws Error naming the placeholder, the target and the value
 */
export function renderUrl(template: string, vars: TemplateVars): string {
  const pathEnd = template.search(/[?#]/);
  for (const m of template.matchAll(PLACEHOLDER)) {
    const name = m[1]!;
    const value = resolvePlaceholder(name, vars);
    if (value === undefined) continue; // renderTemplate names it
    if (AUTHORITY_PLACEHOLDERS.has(name) && !URL_AUTHORITY.test(value)) {
      throw new Error(
        `{{${name}}} of target ${vars.target.id} is ${JSON.stringify(value)}, not a host or host:port: refusing to put it in a URL`,
      );
    }
    if ((value === '.' || value === '..') && (pathEnd < 0 || m.index < pathEnd)) {
      throw new Error(
        `{{${name}}} of target ${vars.target.id} is "${value}": in a URL path it would move the path; refusing`,
      );
    }
  }
  return renderTemplate(template, vars, 'url');
}

/**
 * Renders an HTTP step's body. When the body is JSON with every placeholder inside
 * a string (it parses as JSON with the placeholders blanked), values are escaped as
 * JSON string content, so a quote or a line break in a label stays inside its string
 * instead of adding fields. Any other body is rendered as written.
 * @throws Error naming a placeholder without a value
 */
export function renderBody(template: string, vars: TemplateVars): string {
  const blanked = template.replace(PLACEHOLDER, '');
  let json = false;
  if (blanked !== template) {
    try {
      JSON.parse(blanked);
      json = true;
    } catch {
      json = false;
    }
  }
  if (!json) return renderTemplate(template, vars);
  return template.replace(PLACEHOLDER, (_m, name: string) => {
    const value = resolvePlaceholder(name, vars);
    if (value === undefined)
      throw new Error(`template placeholder {{${name}}} has no value for target ${vars.target.id}`);
    return JSON.stringify(value).slice(1, -1);
  });
}

/** Names of environment variables whose values are secrets (masked in everything Fleetgate writes). */
const SECRET_ENV_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY/i;

/**
 * Registers as secrets the values of this process's environment variables whose names
 * look secret (`*TOKEN*`, `*SECRET*`, `*PASSWORD*`, `*API_KEY*`, … at least 8 characters
 * long) and of the variables named in `FLEETGATE_SECRET_ENV` (comma-separated). Command
 * steps inherit the environment, so a step can print one of them (an error message, a
 * debug line); registered values are replaced by `***` in step output, events, the state
 * file and the terminal. GitHub's own log masking does not cover files Fleetgate commits.
 */
export function registerEnvironmentSecrets(env: NodeJS.ProcessEnv): void {
  const named = new Set(
    (env.FLEETGATE_SECRET_ENV ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean),
  );
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (named.has(name) || (SECRET_ENV_NAME.test(name) && value.length >= 8)) registerSecret(value);
  }
}

/**
 * The signal of one HTTP attempt: aborted after `timeoutMs` (a `TimeoutError`) or when
 * the run's signal aborts. `done()` clears the timer and stops watching the run's signal
 * (through {@link onAbort}: one listener on it however many attempts are under way).
 *
 * Not `AbortSignal.any([run, AbortSignal.timeout(ms)])`: every call of that leaves a
 * listener on the run's long-lived signal until garbage collection, and a wave of 500
 * targets makes thousands of attempts (Node warned of a listener leak, and the
 * bookkeeping showed in the rolling benchmark's profile).
 */
function attemptSignal(timeoutMs: number, run: AbortSignal | undefined): { signal: AbortSignal; done(): void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError')),
    timeoutMs,
  );
  const unwatch = run ? onAbort(run, () => controller.abort(run.reason)) : () => {};
  return {
    signal: controller.signal,
    done() {
      clearTimeout(timer);
      unwatch();
    },
  };
}

interface CommandAttempt {
  ok: boolean;
  exitCode: number | null;
  version?: string;
  message: string;
}

/** Why a command was stopped before it finished by itself: its stream that overflowed, for `stdout`/`stderr`. */
type Stopped = 'timeout' | 'aborted' | 'stdout' | 'stderr';

interface GroupOutcome {
  stdout: string;
  stderr: string;
  /** Exit code of the step's own process; `null` when a signal ended it or it did not start. */
  exitCode: number | null;
  exitSignal: NodeJS.Signals | null;
  /** Set when the command did not end by itself: why it was stopped, or the error that kept it from starting. */
  failure?: Stopped | Error;
}

/**
 * Runs `file` with `args` (no shell) as the leader of a new process group (`detached`: on
 * POSIX a new session), and ends the whole group with it: when the timeout passes, `signal`
 * aborts, an output stream passes {@link MAX_CAPTURE_BYTES}, or the leader exits while others
 * are left in its group, the group gets SIGTERM, and SIGKILL once `graceMs` has passed with
 * any of it still there. Resolves only when the group is gone or has been SIGKILLed, and
 * never waits for long on a process outside the group that holds the output pipes.
 *
 * `daemonizes`: a program that backgrounds itself on success (`ssh -f`: its child calls
 * `setsid()` a moment after the parent exits, and until then is still in the group). After a
 * clean exit (status 0) its group is left alone; after a failure or a stop it is ended as usual.
 * @throws what `spawn` throws synchronously (a NUL byte in an argument, …)
 */
async function runInGroup(
  file: string,
  args: string[],
  o: {
    cwd: string;
    env: NodeJS.ProcessEnv;
    timeoutMs: number;
    graceMs: number;
    signal?: AbortSignal;
    daemonizes?: boolean;
  },
): Promise<GroupOutcome> {
  if (o.signal?.aborted) return { stdout: '', stderr: '', exitCode: null, exitSignal: null, failure: 'aborted' };
  const child = spawn(file, args, {
    cwd: o.cwd,
    env: o.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    windowsHide: true,
  });
  let stop!: (why: Stopped) => void;
  const stopped = new Promise<Stopped>((resolve) => (stop = resolve));
  const stdout = capture(child.stdout, () => stop('stdout'));
  const stderr = capture(child.stderr, () => stop('stderr'));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null } | Error>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // Kept for the child's lifetime: an 'error' without a listener would throw.
    child.on('error', (error) => resolve(error));
  });

  const timer = setTimeout(() => stop('timeout'), o.timeoutMs);
  const unwatch = o.signal ? onAbort(o.signal, () => stop('aborted')) : () => {};
  let first: Awaited<typeof exited> | Stopped;
  try {
    first = await Promise.race([exited, stopped]);
  } finally {
    clearTimeout(timer);
    unwatch();
  }
  const result = (exit: Awaited<typeof exited> | undefined): GroupOutcome => {
    // An overflow can also come after the exit, from what was still in the pipe.
    const failure =
      typeof first === 'string' || first instanceof Error
        ? first
        : stdout.full()
          ? 'stdout'
          : stderr.full()
            ? 'stderr'
            : undefined;
    return {
      stdout: stdout.text(),
      stderr: stderr.text(),
      exitCode: exit && !(exit instanceof Error) ? exit.code : null,
      exitSignal: exit && !(exit instanceof Error) ? exit.signal : null,
      ...(failure !== undefined && { failure }),
    };
  };
  if (child.pid === undefined) {
    // It never started (ENOENT, EACCES, a missing cwd): there is no group to end.
    await within(closed, STDIO_CLOSE_WAIT_MS);
    return result(undefined);
  }

  const daemonized =
    o.daemonizes === true && typeof first !== 'string' && !(first instanceof Error) && first.code === 0;
  if (!daemonized) await endGroup(child, o.graceMs);
  const exit = typeof first === 'string' ? await within(exited, EXIT_WAIT_MS) : first;
  await within(closed, STDIO_CLOSE_WAIT_MS);
  if (child.exitCode === null && child.signalCode === null) child.unref(); // uninterruptible: do not keep Node up
  child.stdout?.destroy();
  child.stderr?.destroy();
  return result(exit);
}

/** `promise`'s value, or `undefined` once `ms` milliseconds have passed (the timer is cleared either way). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Collects a stream up to {@link MAX_CAPTURE_BYTES}; `overflow` is called once when it has more. */
function capture(stream: Readable, overflow: () => void): { text(): string; full(): boolean } {
  const chunks: Buffer[] = [];
  let size = 0;
  let full = false;
  stream.on('data', (chunk: Buffer) => {
    if (full) return;
    if (size + chunk.length > MAX_CAPTURE_BYTES) {
      chunks.push(chunk.subarray(0, MAX_CAPTURE_BYTES - size));
      size = MAX_CAPTURE_BYTES;
      full = true;
      overflow();
      return;
    }
    chunks.push(chunk);
    size += chunk.length;
  });
  return { text: () => Buffer.concat(chunks).toString('utf8'), full: () => full };
}

/**
 * Ends what is left of `child`'s process group: nothing when it is gone already (the usual
 * case of a step that exited), else SIGTERM to the group, then, while any of it remains
 * after `graceMs`, SIGKILL to the group.
 */
async function endGroup(child: ChildProcess, graceMs: number): Promise<void> {
  const pgid = child.pid!;
  if (!groupAlive(child, pgid)) return;
  signalGroup(child, pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  for (let left = graceMs; left > 0; left = deadline - Date.now()) {
    await delay(Math.min(GROUP_POLL_MS, left));
    if (!groupAlive(child, pgid)) return;
  }
  signalGroup(child, pgid, 'SIGKILL');
}

function signalGroup(child: ChildProcess, pgid: number, signal: NodeJS.Signals): void {
  try {
    if (process.platform === 'win32') child.kill(signal);
    else process.kill(-pgid, signal);
  } catch {
    // ESRCH: gone meanwhile. EPERM: a member changed its user (setuid); nothing more to do.
  }
}

/**
 * True while a process of group `pgid` can still run. A member that has exited but waits
 * for its reaper (a zombie: orphans go to PID 1, which in a container may reap them
 * seconds late) cannot, though `kill(-pgid, 0)` still finds it; on Linux they are told
 * apart through `/proc`.
 */
function groupAlive(child: ChildProcess, pgid: number): boolean {
  if (process.platform === 'win32') return child.exitCode === null && child.signalCode === null;
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return process.platform !== 'linux' || groupHasLiveMember(pgid);
}

function groupHasLiveMember(pgid: number): boolean {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^[0-9]+$/.test(name));
  } catch {
    return true;
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

/** A finished command attempt (local or over SSH) as a result: exit status, output, version. */
function commandOutcome(
  shown: string,
  step: CommandStep | SshStep,
  { stdout, stderr, exitCode, exitSignal, failure }: GroupOutcome,
  extract: boolean,
): CommandAttempt {
  if (failure !== undefined || exitCode !== 0) {
    const why =
      failure === 'timeout'
        ? `timed out after ${step.timeoutMs} ms`
        : failure === 'aborted'
          ? 'The operation was aborted'
          : failure instanceof Error
            ? failure.message
            : failure !== undefined
              ? `${failure} maxBuffer length exceeded`
              : exitCode !== null
                ? `exit ${exitCode}`
                : `killed by ${exitSignal ?? 'a signal'}`;
    return {
      ok: false,
      exitCode: failure === undefined ? exitCode : null,
      message: `${shown}: ${why}: ${clip(stderr || stdout)}`,
    };
  }
  let version: string | undefined;
  if (extract) {
    if (step.json !== undefined) {
      try {
        version = pickJsonField(JSON.parse(stdout), step.json);
      } catch {
        version = undefined;
      }
    } else version = stdout.trim();
    if (!version) return { ok: false, exitCode: 0, message: `${shown}: no version in output: ${clip(stdout)}` };
  }
  return { ok: true, exitCode: 0, version, message: `${shown}: exit 0` };
}

/**
 * Creates the real step runner: commands as argv (no shell), each in its own process group
 * that ends with the step ({@link KILL_GRACE_MS}), HTTP through one shared undici `Agent`
 * (keep-alive).
 */
export function createStepRunner(opts: StepRunnerOptions): StepRunner & { close(): Promise<void> } {
  registerEnvironmentSecrets(process.env);
  const dispatcher = new Agent({
    connections: opts.connectionsPerOrigin ?? 8,
    keepAliveTimeout: 10_000,
    connect: { timeout: 5_000 },
  });

  async function attemptHttp(step: HttpStep, vars: TemplateVars, extract: boolean, signal?: AbortSignal) {
    const url = renderUrl(step.url, vars);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(step.headers)) headers[k] = renderTemplate(v, vars);
    const body = step.body === undefined ? undefined : renderBody(step.body, vars);
    const deadline = attemptSignal(step.timeoutMs, signal);
    let res: Dispatcher.ResponseData;
    let text: string;
    try {
      res = await request(url, {
        method: step.method as 'GET',
        headers,
        body,
        dispatcher,
        signal: deadline.signal,
        headersTimeout: step.timeoutMs,
        bodyTimeout: step.timeoutMs,
      });
      text = await res.body.text();
    } finally {
      deadline.done();
    }
    const ok = step.expect.includes(res.statusCode);
    let version: string | undefined;
    if (ok && extract) {
      if (step.json !== undefined) {
        try {
          version = pickJsonField(JSON.parse(text), step.json);
        } catch {
          version = undefined;
        }
      } else {
        version = text.trim();
      }
      if (version === undefined || version === '') {
        return {
          ok: false,
          status: res.statusCode,
          message: `no version in response (field ${step.json ?? '<body>'}): ${clip(text)}`,
        };
      }
    }
    return {
      ok,
      status: res.statusCode,
      version,
      message: ok
        ? `${step.method} ${url} → ${res.statusCode}`
        : `${step.method} ${url} → ${res.statusCode} (expected ${step.expect.join('|')}): ${clip(text)}`,
    };
  }

  function attemptCommand(step: CommandStep, vars: TemplateVars, extract: boolean, signal?: AbortSignal) {
    const argv = step.run.map((a) => renderTemplate(a, vars));
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const [k, v] of Object.entries(step.env)) env[k] = renderTemplate(v, vars);
    env.FLEETGATE_TARGET_ID = vars.target.id;
    env.FLEETGATE_TARGET_ADDRESS = vars.target.address;
    env.FLEETGATE_VERSION = vars.version;
    env.FLEETGATE_ROLLOUT = vars.rollout.name;
    if (vars.config) {
      env.FLEETGATE_CONFIG_REVISION = vars.config.revision;
      env.FLEETGATE_CONFIG_PATH = vars.config.path;
    }
    const [file, ...args] = argv;
    return runInGroup(file!, args, {
      cwd: step.cwd === undefined ? opts.baseDir : resolvePath(opts.baseDir, step.cwd),
      env,
      timeoutMs: step.timeoutMs,
      graceMs: opts.killGraceMs ?? KILL_GRACE_MS,
      signal,
    }).then((outcome) => commandOutcome(argv.join(' '), step, outcome, extract));
  }

  const sshTransport = createSshTransport(opts.ssh, {
    baseDir: opts.baseDir,
    env: process.env,
    exec: (file, args, o) =>
      runInGroup(file, args, {
        cwd: opts.baseDir,
        env: process.env,
        timeoutMs: o.timeoutMs,
        graceMs: opts.killGraceMs ?? KILL_GRACE_MS,
        signal: o.signal,
        ...(o.daemonizes && { daemonizes: true }),
      }).then((r) => ({
        stdout: r.stdout,
        stderr: r.stderr,
        exitCode: r.exitCode,
        ...(r.failure !== undefined && {
          failed: r.failure instanceof Error ? r.failure.message : r.failure === 'timeout' ? 'timed out' : r.failure,
        }),
      })),
  });

  async function attemptSsh(
    step: SshStep,
    vars: TemplateVars,
    extract: boolean,
    signal?: AbortSignal,
  ): Promise<CommandAttempt> {
    const remote = step.ssh.map((a) => renderTemplate(a, vars));
    const command = buildRemoteCommand(remote);
    let via;
    try {
      via = await sshTransport.connect(vars, signal);
    } catch (error) {
      if (error instanceof SshError) return { ok: false, exitCode: null, message: error.message };
      throw error;
    }
    const shown = `ssh ${via.dest.label} ${remote.join(' ')}`;
    const { stdout, stderr, exitCode, exitSignal, failure } = await runInGroup(via.file, [...via.args, command], {
      cwd: opts.baseDir,
      env: process.env,
      timeoutMs: step.timeoutMs,
      graceMs: opts.killGraceMs ?? KILL_GRACE_MS,
      signal,
    });
    sshTransport.noteOutput(via, stderr);
    if (failure === undefined && exitCode === 255) {
      // 255 is ssh's own failure (the remote command's status is passed through otherwise).
      const explained = explainSshFailure(stderr, vars.target.id, via.dest);
      if (explained) return { ok: false, exitCode, message: explained.message };
    }
    return commandOutcome(shown, step, { stdout, stderr, exitCode, exitSignal, failure }, extract);
  }

  // Closed when the run ends, also when it fails half-way with targets still in flight: no new attempt
  // starts after that (an attempt under way finishes), so a failed run does not keep polling to the end
  // of every health-check budget against a closed connection pool.
  let closed = false;
  return {
    async run(step, vars, runOpts = {}) {
      const extract = runOpts.extractVersion ?? false;
      let last: StepResult = { ok: false, attempts: 0, message: 'not run', durationMs: 0 };
      for (let attempt = 1; attempt <= step.retries + 1; attempt++) {
        if (runOpts.signal?.aborted) break;
        if (closed) return { ...last, stopped: true, message: 'not run: the run is stopping' };
        const started = opts.clock.now().getTime();
        try {
          const r =
            step.kind === 'http'
              ? await attemptHttp(step, vars, extract, runOpts.signal)
              : step.kind === 'ssh'
                ? await attemptSsh(step, vars, extract, runOpts.signal)
                : await attemptCommand(step, vars, extract, runOpts.signal);
          last = { ...r, attempts: attempt, durationMs: opts.clock.now().getTime() - started };
        } catch (error) {
          // The run's own abort (Ctrl-C, a stop) is not the step's timeout: say which it was.
          const message = runOpts.signal?.aborted
            ? 'aborted: the run is stopping'
            : error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
              ? `timed out after ${step.timeoutMs} ms`
              : error instanceof Error
                ? `${error.message}${error.cause instanceof Error ? `: ${error.cause.message}` : ''}`
                : String(error);
          last = { ok: false, attempts: attempt, message, durationMs: opts.clock.now().getTime() - started };
        }
        if (last.ok) return last;
        if (attempt <= step.retries) await opts.clock.sleep(step.intervalMs, runOpts.signal);
      }
      return last;
    },
    close: async () => {
      closed = true;
      await Promise.all([dispatcher.close(), sshTransport.close()]);
    },
  };
}

/**
 * Polls a `verify` step until it succeeds or its `timeoutMs` budget is spent.
 * Each probe gets the budget left (at least 1 s, at most 10 s) and no retries of its own,
 * so the last probe still gets a real answer.
 * @param onProbe - called after every probe (health-check events).
 */
export async function pollUntilHealthy(
  runner: StepRunner,
  step: StepSpec,
  vars: TemplateVars,
  clock: Clock,
  onProbe: (result: StepResult, probe: number) => void,
  signal?: AbortSignal,
): Promise<StepResult & { probes: number }> {
  const deadline = clock.now().getTime() + step.timeoutMs;
  let probes = 0;
  for (;;) {
    const left = deadline - clock.now().getTime();
    const probeStep = { ...step, retries: 0, timeoutMs: Math.min(10_000, Math.max(left, 1_000)) };
    const result = await runner.run(probeStep, vars, { signal });
    probes++;
    onProbe(result, probes);
    if (result.ok || result.stopped) return { ...result, probes };
    const remaining = deadline - clock.now().getTime();
    if (remaining <= 0 || signal?.aborted) {
      return {
        ...result,
        probes,
        message: `not healthy after ${step.timeoutMs} ms (${probes} probes): ${result.message}`,
      };
    }
    await clock.sleep(Math.min(step.intervalMs, remaining), signal);
  }
}
