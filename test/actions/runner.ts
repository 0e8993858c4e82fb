/**
 * Runs a composite action the way the Actions runner does, without the runner:
 * inputs with their defaults, each step's `if:`, its `env:` (expressions
 * evaluated), `run:` executed with `bash --noprofile --norc -eo pipefail`, and
 * the runner's files in place — `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`,
 * `GITHUB_ENV`, `GITHUB_PATH`, `GITHUB_EVENT_PATH`. Composite actions get no
 * `INPUT_*` variables, so none are set: an input not forwarded through `env:`
 * never reaches the script. `uses:` steps are recorded, not run (the test
 * machine already has Node).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { condition, interpolate, type ExpressionContext } from './expressions.js';

export const ACTIONS_DIR = resolve(import.meta.dirname, '../../actions');

export interface ActionInput {
  description: string;
  required?: boolean;
  default?: string;
}

export interface ActionStep {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  with?: Record<string, string>;
  shell?: string;
  env?: Record<string, string>;
  run?: string;
}

export interface ActionMetadata {
  name: string;
  description: string;
  inputs?: Record<string, ActionInput>;
  outputs?: Record<string, { description: string; value: string }>;
  runs: { using: string; steps: ActionStep[] };
}

/** Reads `actions/<name>/action.yml`. */
export function readAction(name: string, dir = ACTIONS_DIR): ActionMetadata {
  return parse(readFileSync(join(dir, name, 'action.yml'), 'utf8')) as ActionMetadata;
}

/** Parses a `GITHUB_OUTPUT` / `GITHUB_ENV` file: `k=v` lines and `k<<DELIM` heredocs. */
export function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, key, delim] = heredoc as unknown as [string, string, string];
      const value: string[] = [];
      i++;
      while (i < lines.length && lines[i] !== delim) value.push(lines[i++]!);
      if (i >= lines.length) throw new Error(`unterminated ${key}<<${delim} in command file`);
      out[key] = value.join('\n');
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`malformed command file line: ${line}`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

export interface StepResult {
  id?: string;
  name?: string;
  skipped: boolean;
  uses?: string;
  exitCode: number;
  outputs: Record<string, string>;
  summary: string;
  stdout: string;
  stderr: string;
}

export interface ActionRun {
  steps: StepResult[];
  /** The action's outputs (its `outputs.*.value` evaluated). */
  outputs: Record<string, string>;
  /** Every step's job summary, concatenated. */
  summary: string;
  /** Exit code of the first failing step, else 0. */
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Environment the next steps of the job would get (`GITHUB_ENV`). */
  jobEnv: Record<string, string>;
}

export interface RunActionOptions {
  /** `with:` of the step using the action. */
  with?: Record<string, string>;
  /** The job's working directory (`GITHUB_WORKSPACE`). */
  workspace: string;
  /** The event payload written to `GITHUB_EVENT_PATH`. */
  event?: Record<string, unknown>;
  /** Runner environment (GITHUB_API_URL, GITHUB_REPOSITORY, …). */
  env?: Record<string, string>;
  /** `github.token` (the default of `github-token` inputs). */
  token?: string;
  timeoutMs?: number;
  /** Folder holding `<name>/action.yml` (default: the repository's `actions/`). */
  actionsDir?: string;
}

function runBash(script: string, env: NodeJS.ProcessEnv, cwd: string, timeoutMs: number) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolvePromise, reject) => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetgate-step-'));
    const file = join(dir, 'step.sh');
    writeFileSync(file, script);
    const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', file], { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 137 : 1), stdout, stderr });
    });
  });
}

/** Runs `actions/<name>` as the runner would run `uses: ./actions/<name>` in a job. */
export async function runAction(name: string, opts: RunActionOptions): Promise<ActionRun> {
  const action = readAction(name, opts.actionsDir);
  if (action.runs.using !== 'composite') throw new Error(`${name} is not a composite action`);
  const temp = mkdtempSync(join(tmpdir(), 'fleetgate-runner-'));
  const eventPath = join(temp, 'event.json');
  writeFileSync(eventPath, JSON.stringify(opts.event ?? {}));
  const envFile = join(temp, 'env');
  const pathFile = join(temp, 'path');
  writeFileSync(envFile, '');
  writeFileSync(pathFile, '');
  const actionPath = join(opts.actionsDir ?? ACTIONS_DIR, name);
  const github = {
    token: opts.token ?? opts.env?.GITHUB_TOKEN ?? '',
    action_path: actionPath,
    workspace: opts.workspace,
    event: opts.event ?? {},
    repository: opts.env?.GITHUB_REPOSITORY ?? '',
  };
  const ctx: ExpressionContext = {
    status: 'success',
    contexts: { github, runner: { temp, os: 'Linux' }, inputs: {}, steps: {}, env: {} },
  };
  const inputs: Record<string, string> = {};
  for (const [key, spec] of Object.entries(action.inputs ?? {})) {
    const given = opts.with?.[key];
    if (given === undefined && spec.required) throw new Error(`${name}: input ${key} is required`);
    inputs[key] = given ?? interpolate(spec.default ?? '', ctx);
  }
  for (const key of Object.keys(opts.with ?? {})) {
    if (!(key in (action.inputs ?? {}))) throw new Error(`${name}: unexpected input ${key}`);
  }
  ctx.contexts.inputs = inputs;
  const stepsCtx: Record<string, { outputs: Record<string, string>; outcome: string; conclusion: string }> = {};
  ctx.contexts.steps = stepsCtx;
  const baseEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: opts.workspace,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_ENV: envFile,
    GITHUB_PATH: pathFile,
    GITHUB_ACTION_PATH: actionPath,
    RUNNER_TEMP: temp,
    RUNNER_OS: 'Linux',
    ...opts.env,
  };
  const run: ActionRun = { steps: [], outputs: {}, summary: '', exitCode: 0, stdout: '', stderr: '', jobEnv: {} };
  for (const [i, step] of action.runs.steps.entries()) {
    const result: StepResult = {
      id: step.id,
      name: step.name,
      skipped: false,
      uses: step.uses,
      exitCode: 0,
      outputs: {},
      summary: '',
      stdout: '',
      stderr: '',
    };
    run.steps.push(result);
    if (!condition(step.if, ctx)) {
      result.skipped = true;
      if (step.id) stepsCtx[step.id] = { outputs: {}, outcome: 'skipped', conclusion: 'skipped' };
      continue;
    }
    if (step.uses) {
      // Evaluate `with:` (an unknown expression fails here), but do not run third-party code.
      for (const v of Object.values(step.with ?? {})) interpolate(String(v), ctx);
      if (step.id) stepsCtx[step.id] = { outputs: {}, outcome: 'success', conclusion: 'success' };
      continue;
    }
    if (step.shell !== 'bash') throw new Error(`${name} step ${i}: shell must be bash (got ${step.shell})`);
    const outputFile = join(temp, `output-${i}`);
    const summaryFile = join(temp, `summary-${i}`);
    writeFileSync(outputFile, '');
    writeFileSync(summaryFile, '');
    const stepEnv: NodeJS.ProcessEnv = {
      ...baseEnv,
      ...parseCommandFile(readFileSync(envFile, 'utf8')),
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
    };
    for (const [k, v] of Object.entries(step.env ?? {})) stepEnv[k] = interpolate(String(v), ctx);
    // The runner substitutes `${{ }}` inside scripts before running them; ours must have none.
    const script = interpolate(step.run ?? '', ctx);
    const r = await runBash(script, stepEnv, opts.workspace, opts.timeoutMs ?? 120_000);
    result.exitCode = r.code;
    result.stdout = r.stdout;
    result.stderr = r.stderr;
    result.outputs = parseCommandFile(readFileSync(outputFile, 'utf8'));
    result.summary = readFileSync(summaryFile, 'utf8');
    run.summary += result.summary;
    run.stdout += r.stdout;
    run.stderr += r.stderr;
    const outcome = r.code === 0 ? 'success' : 'failure';
    if (step.id) stepsCtx[step.id] = { outputs: result.outputs, outcome, conclusion: outcome };
    if (r.code !== 0 && run.exitCode === 0) {
      run.exitCode = r.code;
      ctx.status = 'failure';
    }
  }
  for (const [key, out] of Object.entries(action.outputs ?? {})) run.outputs[key] = interpolate(out.value, ctx);
  run.jobEnv = parseCommandFile(readFileSync(envFile, 'utf8'));
  return run;
}
