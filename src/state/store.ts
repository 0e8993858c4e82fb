/**
 * Reads and writes the state file with compare-and-swap on `revision`.
 * Writes are atomic (temporary file, fsync, rename), so a crash at any moment
 * leaves either the old or the new state, never a torn file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Document, isMap, isSeq, parseDocument, visit } from 'yaml';
import { StateConflictError, StateWriteError } from '../errors.js';
import { STATE_API_VERSION, STATE_KIND, type RolloutState } from './types.js';

/** First lines of every state file. */
export const STATE_HEADER = [
  ' Written by Fleetgate. Do not edit: change the spec (rollouts/<name>.yaml) or use',
  ' `fleetgate resume|rollback`. `revision` is compared-and-swapped on every write.',
].join('\n');

/** `rollouts/edge.yaml` → `rollouts/edge.state.yaml`. */
export function statePathFor(specPath: string): string {
  const dir = dirname(specPath);
  const base = basename(specPath).replace(/\.ya?ml$/i, '');
  return join(dir, `${base}.state.yaml`);
}

/** A state with nothing done yet. */
export function createEmptyState(name: string): RolloutState {
  return {
    apiVersion: STATE_API_VERSION,
    kind: STATE_KIND,
    name,
    revision: 0,
    phase: 'Pending',
    waves: [],
    targets: {},
    breaker: { consecutiveFailures: 0, trips: [] },
    decisions: [],
    approvals: [],
    history: [],
  };
}

/**
 * Serializes state for a person reading a diff and for size at 10,000 targets:
 * one flow-style line per target and per wave's target list.
 */
export function serializeState(state: RolloutState): string {
  const doc = new Document(state);
  doc.commentBefore = STATE_HEADER;
  const targets = doc.get('targets', true);
  if (isMap(targets)) {
    for (const pair of targets.items) if (isMap(pair.value)) pair.value.flow = true;
  }
  const waves = doc.get('waves', true);
  if (isSeq(waves)) {
    visit(waves, {
      Pair(_k, pair) {
        if (isSeq(pair.value) && (pair.key as { value?: unknown } | null)?.value === 'targets') pair.value.flow = true;
      },
    });
  }
  const breaker = doc.getIn(['breaker', 'trips'], true);
  if (isSeq(breaker)) {
    visit(breaker, {
      Pair(_k, pair) {
        if (isSeq(pair.value)) pair.value.flow = true;
      },
    });
  }
  return doc.toString({ lineWidth: 0 });
}

/**
 * Parses state text. Unknown `apiVersion`/`kind` or a malformed document throws.
 * @throws StateWriteError (never a YAML stack trace) with the file and the problem.
 */
export function parseState(text: string, file: string): RolloutState {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new StateWriteError(`${file}: state file is not valid YAML: ${e.message}`);
  }
  let raw: Partial<RolloutState> | null;
  try {
    raw = doc.toJS({ maxAliasCount: 0 }) as Partial<RolloutState> | null;
  } catch (error) {
    throw new StateWriteError(`${file}: state file is not valid: ${(error as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object')
    throw new StateWriteError(`${file}: state file is empty or not a mapping`);
  if (raw.apiVersion !== STATE_API_VERSION || raw.kind !== STATE_KIND) {
    throw new StateWriteError(
      `${file}: unknown state format (expected apiVersion ${STATE_API_VERSION}, kind ${STATE_KIND}, got ${String(raw.apiVersion)}, ${String(raw.kind)})`,
    );
  }
  if (typeof raw.revision !== 'number' || typeof raw.name !== 'string') {
    throw new StateWriteError(`${file}: state file lacks revision or name`);
  }
  const empty = createEmptyState(raw.name);
  return {
    ...empty,
    ...raw,
    breaker: { ...empty.breaker, ...(raw.breaker ?? {}) },
    targets: raw.targets ?? {},
    waves: raw.waves ?? [],
  };
}

/** Reads the state file; `undefined` when it does not exist yet. */
export async function readState(path: string): Promise<RolloutState | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateWriteError(`cannot read state file ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parseState(text, path);
}

/**
 * Reads only the `revision` of the state file (0 when it does not exist), for
 * the compare-and-swap on every write without parsing 10,000 target lines.
 * @throws StateWriteError when the file exists but carries no revision
 */
export async function readRevision(path: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw new StateWriteError(`cannot read state file ${path}: ${(error as Error).message}`, { cause: error });
  }
  const m = /^revision: (\d+)$/m.exec(text);
  if (!m)
    throw new StateWriteError(
      `${path}: state file has no top-level revision; it was edited by hand or is not a state file`,
    );
  return Number(m[1]);
}

/**
 * Writes `state` with `revision` = `expectedRevision + 1`, after checking the
 * file on disk still carries `expectedRevision` (0 = must not exist yet).
 * @returns the state as written (new revision and `updatedAt`).
 * @throws StateConflictError when another writer got there first; StateWriteError when the disk refuses.
 */
export async function writeState(
  path: string,
  state: RolloutState,
  expectedRevision: number,
  now: Date,
): Promise<RolloutState> {
  const actual = await readRevision(path);
  if (actual !== expectedRevision) {
    throw new StateConflictError(
      `${path} changed under this run (revision ${actual}, expected ${expectedRevision}): another run of rollout "${state.name}" wrote it. Re-run to continue from the newer state.`,
      expectedRevision,
      actual,
    );
  }
  const next: RolloutState = { ...state, revision: expectedRevision + 1, updatedAt: now.toISOString() };
  const text = serializeState(next);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(dirname(path), { recursive: true });
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw new StateWriteError(`cannot write state file ${path}: ${(error as Error).message}`, { cause: error });
  }
  return next;
}
