/**
 * Runs one step (an argv command or an HTTP request) against one target, with
 * timeout and retries. Failures are results, not exceptions: the engine
 * decides what a failed step means.
 */
import { execFile } from 'node:child_process';
import { resolve as resolvePath } from 'node:path';
import { Agent, request, type Dispatcher } from 'undici';
import type { CommandStep, HttpStep, StepSpec } from '../spec/types.js';
import { onAbort, type Clock } from './clock.js';
import { redactSecrets, registerSecret } from '../util/secrets.js';
import { renderTemplate, resolvePlaceholder, type TemplateVars } from './template.js';

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

/** Executes steps; the engine only sees this interface, so tests may count or slow calls. */
export interface StepRunner {
  run(
    step: StepSpec,
    vars: TemplateVars,
    opts?: { signal?: AbortSignal; extractVersion?: boolean },
  ): Promise<StepResult>;
}

export interface StepRunnerOptions {
  clock: Clock;
  /** Folder relative command paths and `cwd` resolve against (the spec file's folder). */
  baseDir: string;
  /** Most concurrent HTTP connections per origin (default 8). */
  connectionsPerOrigin?: number;
}

const MAX_OUTPUT = 300;

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
    if ((name === 'target.address' || name === 'target.host') && !URL_AUTHORITY.test(value)) {
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

/**
 * Creates the real step runner: commands through `execFile` (argv, no shell),
 * HTTP through one shared undici `Agent` (keep-alive).
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
    const [file, ...args] = argv;
    return new Promise<{ ok: boolean; exitCode: number | null; version?: string; message: string }>((resolve) => {
      // Not execFile's `signal` option: it adds a listener to the run's signal per running command.
      const commandAbort = new AbortController();
      const unwatch = signal ? onAbort(signal, () => commandAbort.abort(signal.reason)) : () => {};
      execFile(
        file!,
        args,
        {
          cwd: step.cwd === undefined ? opts.baseDir : resolvePath(opts.baseDir, step.cwd),
          env,
          timeout: step.timeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: 1024 * 1024,
          signal: commandAbort.signal,
          windowsHide: true,
        },
        (error, stdout, stderr) => {
          unwatch();
          if (error) {
            const code = typeof error.code === 'number' ? error.code : null;
            const why = error.killed
              ? `timed out after ${step.timeoutMs} ms`
              : code !== null
                ? `exit ${code}`
                : error.message;
            resolve({ ok: false, exitCode: code, message: `${argv.join(' ')}: ${why}: ${clip(stderr || stdout)}` });
            return;
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
            if (!version) {
              resolve({ ok: false, exitCode: 0, message: `${argv.join(' ')}: no version in output: ${clip(stdout)}` });
              return;
            }
          }
          resolve({ ok: true, exitCode: 0, version, message: `${argv.join(' ')}: exit 0` });
        },
      );
    });
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
              : await attemptCommand(step, vars, extract, runOpts.signal);
          last = { ...r, attempts: attempt, durationMs: opts.clock.now().getTime() - started };
        } catch (error) {
          const message =
            error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
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
    close: () => {
      closed = true;
      return dispatcher.close();
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
