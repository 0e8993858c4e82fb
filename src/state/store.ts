/**
 * The state file on disk: where it lives, reading it (src/state/parse.ts checks the text), and
 * writing it with compare-and-swap on `revision` (src/state/format.ts writes the text). Writes
 * are atomic (temporary file, fsync, rename), so a crash at any moment leaves either the old or
 * the new state, never a torn file; temporary files of writers killed mid-write are removed.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { StateConflictError, StateReadError, StateWriteError } from '../errors.js';
import { processAlive } from '../util/process.js';
import { serializeState } from './format.js';
import { parseState } from './parse.js';
import type { RolloutState } from './types.js';

/** `rollouts/edge.yaml` → `rollouts/edge.state.yaml`. */
export function statePathFor(specPath: string): string {
  const dir = dirname(specPath);
  const base = basename(specPath).replace(/\.ya?ml$/i, '');
  return join(dir, `${base}.state.yaml`);
}

/** Reads the state file; `undefined` when it does not exist yet. */
export async function readState(path: string): Promise<RolloutState | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateReadError(`cannot read state file ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parseState(text, path);
}

/** Bytes read from the top of the file for the revision (it is on line 7 of what Fleetgate writes). */
const REVISION_HEAD_BYTES = 4096;

/**
 * Reads only the `revision` of the state file (0 when it does not exist), for
 * the compare-and-swap on every write without parsing 10,000 target lines. The
 * revision sits in the first lines, so the top of the file is read with a few
 * direct system calls, not the thread pool (the whole file only when the top
 * does not hold it).
 * @throws StateReadError when the file exists but carries no revision
 */
function readRevisionNow(path: string): number {
  let head: string;
  try {
    const fd = openSync(path, 'r');
    try {
      const buffer = Buffer.alloc(REVISION_HEAD_BYTES);
      head = buffer.toString('utf8', 0, readSync(fd, buffer, 0, REVISION_HEAD_BYTES, 0));
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw new StateReadError(`cannot read state file ${path}: ${(error as Error).message}`, { cause: error });
  }
  const top = /^revision: (\d+)\n/m.exec(head);
  if (top) return Number(top[1]);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw new StateReadError(`cannot read state file ${path}: ${(error as Error).message}`, { cause: error });
  }
  const m = /^revision: (\d+)$/m.exec(text);
  if (!m)
    throw new StateReadError(
      `${path}: state file has no top-level revision; it was edited by hand or is not a state file`,
    );
  return Number(m[1]);
}

const fsyncFd = promisify(fsync);

/** State paths whose leftover temporary files this process has looked for. */
const swept = new Set<string>();

/**
 * Removes temporary files next to `path` left by writers on this host that were
 * killed mid-write (`kill -9` between open and rename): their process is gone.
 * Once per process and path, best effort. Files of other hosts are left alone.
 */
function removeDeadWritersFiles(path: string): void {
  const prefix = `.${basename(path)}.${hostname()}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(/^(\d+)\.[0-9a-f]+\.tmp$/.exec(name.slice(prefix.length))?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    try {
      unlinkSync(join(dirname(path), name));
    } catch {
      // another writer removed it first
    }
  }
}

/**
 * What a failed write throws: a conflict or a write error as it is; a stored revision that is
 * damaged (no revision line) as the read error it is — the file's fault; the disk refusing on
 * the way (a file where the folder should be, no permission) as a write error.
 */
function writeFailure(path: string, error: unknown): Error {
  if (error instanceof StateConflictError || error instanceof StateWriteError) return error;
  if (error instanceof StateReadError && error.cause === undefined) return error;
  const cause = error instanceof StateReadError ? error.cause : error;
  return new StateWriteError(`cannot write state file ${path}: ${(cause as Error).message}`, { cause });
}

/**
 * Writes `state` with `revision` = `expectedRevision + 1`, after checking the
 * file on disk still carries `expectedRevision` (0 = must not exist yet).
 *
 * The engine writes the state ahead of every drain, upgrade and undrain, so this is on every
 * target's critical path: the metadata calls (open, write to the page cache,
 * close, rename) are made directly, and only `fsync` — the one that waits for the
 * disk — goes through the thread pool (about 10 thread-pool round trips per write
 * before; those queue behind each other when a wave of 100 targets writes at once).
 * @returns the state as written (new revision and `updatedAt`).
 * @throws StateConflictError when another writer got there first; StateWriteError when the disk refuses.
 */
export async function writeState(
  path: string,
  state: RolloutState,
  expectedRevision: number,
  now: Date,
): Promise<RolloutState> {
  const conflict = (actual: number) =>
    new StateConflictError(
      `${path} changed under this run (revision ${actual}, expected ${expectedRevision}): another run of rollout "${state.name}" wrote it. Re-run to continue from the newer state.`,
      expectedRevision,
      actual,
    );
  let actual: number;
  try {
    actual = readRevisionNow(path);
  } catch (error) {
    throw writeFailure(path, error);
  }
  if (actual !== expectedRevision) throw conflict(actual);
  const next: RolloutState = { ...state, revision: expectedRevision + 1, updatedAt: now.toISOString() };
  const text = serializeState(next);
  const tmp = join(
    dirname(path),
    `.${basename(path)}.${hostname()}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  let fd: number | undefined;
  try {
    try {
      fd = openSync(tmp, 'w', 0o644);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      mkdirSync(dirname(path), { recursive: true });
      fd = openSync(tmp, 'w', 0o644);
    }
    writeFileSync(fd, text, 'utf8');
    await fsyncFd(fd);
    closeSync(fd);
    fd = undefined;
    // Compare again right before the rename: other processes ran while fsync waited.
    const still = readRevisionNow(path);
    if (still !== expectedRevision) throw conflict(still);
    renameSync(tmp, path);
    if (!swept.has(path)) {
      swept.add(path);
      removeDeadWritersFiles(path);
    }
  } catch (error) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
    throw writeFailure(path, error);
  }
  return next;
}
