/**
 * Loading the inventory named by a spec: inline targets, a YAML/JSON file, or
 * a discovery command that prints JSON. This is the I/O edge; parsing and
 * shape checks are in `validate.ts`. Bad input never throws: every problem
 * comes back as an {@link Issue} with its location.
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import type { Issue } from '../spec/issue.js';
import { locateInFile, locateProblems, outputPosition, toIssue, type TargetLocator } from '../spec/located.js';
import { formatPath, locate, type PathSegment } from '../spec/locate.js';
import type { SpecProblem } from '../spec/problem.js';
import type { InventorySource, Target } from '../spec/types.js';
import { checkInventoryDocument, parseInventoryText } from './validate.js';

/** Largest stdout (and stderr) accepted from a discovery command: 64 MiB (10,000 targets need about 2 MB). */
export const DISCOVER_MAX_BUFFER = 64 * 1024 * 1024;
/** Characters of a failed discovery command's stderr quoted in the issue (its end). */
export const STDERR_TAIL_CHARS = 500;

/** Where the inventory is resolved from and reported against. */
export interface LoadInventoryOptions {
  /** Folder that relative paths and the discovery command's working directory are resolved from (the spec file's folder). */
  baseDir: string;
  /** The spec file, as given to the parser: issues about the spec's `inventory` field name it. */
  file: string;
}

/** Targets that passed validation (in source order) and every problem found. */
export interface LoadedInventory {
  targets: Target[];
  /** Errors and warnings. Callers refuse to plan when any has severity `error`. */
  issues: Issue[];
  /**
   * Where each target is written, to locate problems judged later against the spec's tiers
   * (`checkSpecAgainstInventory`): in the inventory file, or at the spec's `inventory.discover`.
   * Absent for inline targets (the spec parser judged them) and when nothing was loaded.
   */
  where?: TargetLocator;
}

/**
 * Loads and validates the targets of an inventory source.
 *
 * - `inline`: the spec's own targets, as the spec parser checked them
 *   (the same schema and list rules as a file's).
 * - `file`: reads `source.path` (relative to `baseDir`). `.json` files are
 *   strict JSON; anything else is YAML. Accepts a list of targets or
 *   `{targets: [...]}`. Issues name the inventory file (as `dirname(file)` +
 *   `source.path`) with line and column from the `yaml` package's `LineCounter`.
 *   An unreadable file is one issue at the spec's `inventory.file` (located in the spec).
 * - `discover`: runs `source.run` with `child_process.execFile` — an argv
 *   array, never a shell — in `baseDir`, killed after `source.timeoutMs` ms,
 *   stdout capped at {@link DISCOVER_MAX_BUFFER}; stdout must be JSON of the
 *   same shapes. A command that cannot start, exits non-zero, is killed, times
 *   out or prints bad JSON gives one issue at the spec's `inventory.discover`
 *   naming the command. Problems in its output have path `output…`, are located
 *   at the spec's `inventory.discover` and name the stdout line and column.
 *
 * Label values that are numbers or booleans are converted to strings.
 * @returns never rejects for bad input; `targets` holds only valid entries.
 */
export async function loadInventory(source: InventorySource, opts: LoadInventoryOptions): Promise<LoadedInventory> {
  switch (source.kind) {
    case 'inline':
      return { targets: source.targets, issues: [] };
    case 'file':
      return loadInventoryFile(source.path, opts);
    case 'discover':
      return discoverInventory(source.run, source.timeoutMs, opts);
  }
}

/** One error about the spec's `inventory` field, located in the spec file. */
async function specIssue(
  opts: LoadInventoryOptions,
  path: PathSegment[],
  message: string,
  extra: { expected?: string; got?: string } = {},
): Promise<Issue[]> {
  return locateInFile(opts.file, [{ path, message, ...extra, got: extra.got ?? null, severity: 'error' }]);
}

function errorText(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory';
    case 'EACCES':
      return 'permission denied';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

async function loadInventoryFile(path: string, opts: LoadInventoryOptions): Promise<LoadedInventory> {
  const shown = isAbsolute(path) ? path : join(dirname(opts.file), path);
  let text: string;
  try {
    text = await readFile(resolve(opts.baseDir, path), 'utf8');
  } catch (error) {
    return {
      targets: [],
      issues: await specIssue(opts, ['inventory', 'file'], `cannot read inventory file ${shown}: ${errorText(error)}`),
    };
  }
  const format = extname(path).toLowerCase() === '.json' ? 'json' : 'yaml';
  const parsed = parseInventoryText(text, format);
  const parseIssues: Issue[] = parsed.problems.map((p) =>
    toIssue(shown, p.position.line, p.position.col, { path: '', message: p.message, severity: p.severity }),
  );
  if (parsed.value === undefined || !parsed.source) return { targets: [], issues: parseIssues };
  const source = parsed.source;
  const checked = checkInventoryDocument(parsed.value);
  const where: TargetLocator = {
    path: (i) => checked.paths[i]!,
    locate: (problems) => Promise.resolve(locateProblems(shown, source, parsed.value, problems)),
  };
  const located = locateProblems(shown, source, parsed.value, checked.problems).sort(byPosition);
  return { targets: checked.targets, issues: [...parseIssues, ...located], where };
}

function byPosition(a: Issue, b: Issue): number {
  return a.line - b.line || a.col - b.col;
}

/** An argument as shown in messages: quoted when it has spaces or quotes, long ones shortened. */
function showArg(arg: string): string {
  const short = arg.length > 60 ? `${arg.slice(0, 57)}…` : arg;
  return /^[\w@%+=:,./-]+$/.test(short) ? short : JSON.stringify(short);
}

/** A command line for messages (display only; the command never goes through a shell). */
export function formatCommand(run: readonly string[]): string {
  return run.map(showArg).join(' ');
}

interface ExecResult {
  error: ExecFileException | null;
  stdout: string;
  stderr: string;
}

function runCommand(run: readonly string[], cwd: string, timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolvePromise) => {
    try {
      execFile(
        run[0]!,
        run.slice(1),
        { cwd, timeout: Math.max(0, timeoutMs), maxBuffer: DISCOVER_MAX_BUFFER, encoding: 'utf8', windowsHide: true },
        (error, stdout, stderr) => resolvePromise({ error, stdout, stderr }),
      );
    } catch (error) {
      // execFile throws synchronously for invalid arguments (e.g. a NUL byte).
      resolvePromise({ error: error as ExecFileException, stdout: '', stderr: '' });
    }
  });
}

function tail(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > STDERR_TAIL_CHARS ? `…${trimmed.slice(-STDERR_TAIL_CHARS)}` : trimmed;
}

function describeFailure(error: ExecFileException, run: readonly string[], timeoutMs: number, stderr: string): string {
  const err = tail(stderr);
  const withStderr = (text: string): string => (err === '' ? text : `${text}; stderr: ${err}`);
  if (error.code === 'ENOENT')
    return `cannot start: ${run[0]} not found (cwd is the spec's folder; use a path or a command on PATH)`;
  if (error.code === 'EACCES') return `cannot start: ${run[0]} is not executable`;
  if (error.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER')
    return `printed more than ${DISCOVER_MAX_BUFFER / 1024 / 1024} MiB and was stopped`;
  if (error.killed) return withStderr(`timed out after ${timeoutMs} ms and was killed`);
  if (typeof error.code === 'number') return withStderr(`exited with code ${error.code}`);
  if (error.signal) return withStderr(`was killed by signal ${error.signal}`);
  return withStderr(`failed: ${error.message}`);
}

async function discoverInventory(
  run: readonly string[],
  timeoutMs: number,
  opts: LoadInventoryOptions,
): Promise<LoadedInventory> {
  if (run.length === 0 || run[0] === '') {
    return {
      targets: [],
      issues: await specIssue(opts, ['inventory', 'discover', 'run'], 'discovery command is empty', {
        expected: 'an argv list like [./inventory.sh, --json]',
      }),
    };
  }
  const cmd = formatCommand(run);
  const { error, stdout, stderr } = await runCommand(run, opts.baseDir, timeoutMs);
  if (error) {
    return {
      targets: [],
      issues: await specIssue(
        opts,
        ['inventory', 'discover'],
        `discovery command \`${cmd}\` ${describeFailure(error, run, timeoutMs, stderr)}`,
      ),
    };
  }
  if (stdout.trim() === '') {
    return {
      targets: [],
      issues: await specIssue(opts, ['inventory', 'discover'], `discovery command \`${cmd}\` printed nothing`, {
        expected: 'JSON: a list of targets or {"targets": [...]}',
      }),
    };
  }
  const parsed = parseInventoryText(stdout, 'json');
  const firstError = parsed.problems.find((p) => p.severity === 'error');
  if (parsed.value === undefined || !parsed.source) {
    const head = stdout.trim().slice(0, 80);
    return {
      targets: [],
      issues: await specIssue(
        opts,
        ['inventory', 'discover'],
        `discovery command \`${cmd}\` printed ${firstError?.message ?? 'no document'}${firstError ? outputPosition(firstError.position) : ''}`,
        {
          expected: 'JSON: a list of targets or {"targets": [...]}',
          got: JSON.stringify(head.length < stdout.trim().length ? `${head}…` : head),
        },
      ),
    };
  }
  // Problems in the output are located at the spec's inventory.discover (what a person edits);
  // the message names the command and where in its stdout, the path starts with `output`.
  const output = parsed.source;
  const inSpec = async (problems: readonly SpecProblem[]): Promise<Issue[]> => {
    if (problems.length === 0) return []; // the usual case: the spec is not read again
    const [at] = await locateInFile(opts.file, [{ path: ['inventory', 'discover'], message: '', severity: 'error' }]);
    return problems.map((p) =>
      toIssue(opts.file, at?.line ?? 0, at?.col ?? 0, {
        ...p,
        path: formatPath(['output', ...p.path]),
        message: `${p.message} — in the output of discovery command \`${cmd}\`${outputPosition(locate(output, p.path, p.at))}`,
        ...(p.got === undefined && p.showGot ? { got: describeOutputValue(parsed.value, p.path) } : {}),
      }),
    );
  };
  const checked = checkInventoryDocument(parsed.value);
  return {
    targets: checked.targets,
    issues: await inSpec(checked.problems),
    where: { path: (i) => checked.paths[i]!, locate: inSpec },
  };
}

/** The value at `path` in a command's output, for `got` (JSON, shortened). */
function describeOutputValue(value: unknown, path: readonly PathSegment[]): string | undefined {
  let at: unknown = value;
  for (const segment of path) at = (at as Record<string | number, unknown> | undefined)?.[segment];
  if (at === undefined) return undefined;
  const text = JSON.stringify(at);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}
