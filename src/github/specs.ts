/**
 * Which rollout specs a workflow run is about, from the event that started it (issue 12,
 * items 9 and 10):
 *
 * - `push`: every spec changed between the push's `before` and `after` commits, so a push of
 *   several commits misses none (diffing only `HEAD^1..HEAD` did). A `before` of all zeros (a
 *   new branch) or one that cannot be fetched: every spec.
 * - `pull_request`: the specs the merge commit changes (`HEAD^1..HEAD`).
 * - `workflow_dispatch`: the `spec` input.
 * - `schedule` (and anything else): every spec.
 *
 * One filter for every workflow: a file is a spec when it is a `.yaml`/`.yml` under
 * `rollouts/`, not a state file, and its document says `kind: Rollout`; inventories and other
 * YAML next to the specs are skipped, with the reason. Git runs as argv (`execFile`), never a
 * shell.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigurationError } from '../errors.js';
import { SPEC_KIND } from '../spec/types.js';

/** A `before` of a push that created the branch. */
export const ZERO_SHA = '0000000000000000000000000000000000000000';

/** Where specs live, relative to the repository root. */
export const SPECS_DIR = 'rollouts';

/** What {@link selectSpecs} needs to know about the run. */
export interface SpecSelectionInput {
  /** `GITHUB_EVENT_NAME`. */
  event: string;
  /** Push: the commit before the push (`github.event.before`). */
  before?: string;
  /** Push: the commit after it (`github.sha`). */
  after?: string;
  /** Dispatch: the `spec` input. */
  input?: string;
  /** Repository checkout. */
  cwd: string;
  /** Runs git with these arguments in `cwd` and returns stdout; rejects on a non-zero exit. */
  git?: (args: string[]) => Promise<string>;
}

export interface SpecSelection {
  /** Repository-relative paths of the specs, sorted. */
  specs: string[];
  /** How they were chosen, for the job summary. */
  how: string;
  /** Candidate files that are not specs, and why. */
  skipped: { path: string; why: string }[];
}

const SAFE_PATH = /^rollouts\/(?:[A-Za-z0-9._-]+\/)*[A-Za-z0-9._-]+\.ya?ml$/;

/** Runs git with argv in `cwd`. */
export function gitIn(cwd: string): (args: string[]) => Promise<string> {
  return (args) =>
    new Promise((resolve, reject) =>
      execFile('git', args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
        error ? reject(new Error(`git ${args.join(' ')}: ${stderr.trim() || error.message}`)) : resolve(stdout),
      ),
    );
}

/**
 * The specs this run is about (see the module comment for each event).
 * @throws ConfigurationError when a dispatched `spec` is not a path under `rollouts/`; Error when git fails
 *   where it must not (the diff of a pull request)
 */
export async function selectSpecs(o: SpecSelectionInput): Promise<SpecSelection> {
  const git = o.git ?? gitIn(o.cwd);
  let candidates: string[];
  let how: string;
  if (o.event === 'workflow_dispatch') {
    const spec = (o.input ?? '').trim();
    if (!SAFE_PATH.test(spec) || spec.split('/').includes('..'))
      throw new ConfigurationError(
        `the spec input must be a .yaml file under ${SPECS_DIR}/ (got ${JSON.stringify(spec)})`,
      );
    candidates = [spec];
    how = `the dispatched spec ${spec}`;
  } else if (o.event === 'push' && o.after) {
    const before = o.before && o.before !== ZERO_SHA && (await reachable(git, o.before)) ? o.before : undefined;
    if (before) {
      candidates = lines(await git(['diff', '--name-only', '--diff-filter=d', before, o.after, '--', `${SPECS_DIR}/`]));
      how = `specs changed by the push ${before.slice(0, 7)}..${o.after.slice(0, 7)}`;
    } else {
      candidates = await allFiles(git);
      how =
        o.before === undefined || o.before === ZERO_SHA
          ? 'every spec (the push created the branch)'
          : `every spec (the commit before the push, ${o.before.slice(0, 7)}, is not reachable: a force push?)`;
    }
  } else if (o.event === 'pull_request') {
    candidates = lines(await git(['diff', '--name-only', '--diff-filter=d', 'HEAD^1', 'HEAD', '--', `${SPECS_DIR}/`]));
    how = 'specs the pull request changes';
  } else {
    candidates = await allFiles(git);
    how = `every spec (${o.event || 'no event'})`;
  }
  const specs: string[] = [];
  const skipped: { path: string; why: string }[] = [];
  for (const path of [...new Set(candidates)].sort()) {
    const why = await notASpec(o.cwd, path);
    if (why === undefined) specs.push(path);
    else skipped.push({ path, why });
  }
  return { specs, how, skipped };
}

async function reachable(git: (args: string[]) => Promise<string>, sha: string): Promise<boolean> {
  try {
    await git(['cat-file', '-e', `${sha}^{commit}`]);
    return true;
  } catch {
    // A shallow checkout: fetch just that commit (its tree is all a diff needs).
    try {
      await git(['fetch', '--no-tags', '--quiet', '--depth=1', 'origin', sha]);
      return true;
    } catch {
      return false;
    }
  }
}

async function allFiles(git: (args: string[]) => Promise<string>): Promise<string[]> {
  return lines(await git(['ls-files', '--', `${SPECS_DIR}/`]));
}

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/** Why `path` is not a spec to run (undefined: it is one). */
async function notASpec(cwd: string, path: string): Promise<string | undefined> {
  if (!/\.ya?ml$/.test(path)) return 'not a YAML file';
  if (/\.state\.ya?ml$/.test(path)) return 'a state file';
  if (!SAFE_PATH.test(path) || path.split('/').includes('..')) return 'a path Fleetgate does not take';
  let text: string;
  try {
    text = await readFile(join(cwd, path), 'utf8');
  } catch {
    return 'not in the checkout';
  }
  const doc = parseDocument(text);
  const kind: unknown = doc.errors.length === 0 ? doc.get('kind') : undefined;
  // A file that does not parse is still a spec candidate when it says kind: Rollout in text:
  // validation reports its errors at their lines instead of the file vanishing from the run.
  if (doc.errors.length > 0)
    return /^kind:\s*Rollout\s*$/m.test(text) ? undefined : 'not valid YAML, and no kind: Rollout';
  return kind === SPEC_KIND
    ? undefined
    : `kind is ${kind === undefined ? 'missing' : JSON.stringify(kind)}, not ${SPEC_KIND} (an inventory or another file)`;
}
