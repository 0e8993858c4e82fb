/**
 * One run per rollout at a time: a lease file created whole and exclusively (hard link), renewed
 * while the run lives, and cleaned up when stale (its process is gone on this
 * host, or its lease expired) — the lease/TTL and stale-lock cleanup of seed 003.
 * The state's `revision` compare-and-swap backs it up.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RolloutLockedError, StateWriteError } from '../errors.js';
import { processAlive } from '../util/process.js';

export interface LockInfo {
  pid: number;
  host: string;
  owner: string;
  acquiredAt: string;
  /** Lease end (ISO); renewed every ttl/3 while the run is alive. */
  expiresAt: string;
}

export interface HeldLock {
  readonly path: string;
  release(): Promise<void>;
}

/** Why a lock held by someone else may be taken over, or `undefined` when it is live. */
export function staleReason(info: LockInfo, now: Date): string | undefined {
  if (Date.parse(info.expiresAt) < now.getTime()) return `lease expired at ${info.expiresAt}`;
  if (info.host === hostname() && !processAlive(info.pid)) return `process ${info.pid} on ${info.host} is gone`;
  return undefined;
}

/**
 * Creates `path` holding `text` only when it does not exist. The text is written to
 * a file of this process first and hard-linked into place, so no reader ever sees a
 * half-written lock (one it would take for stale). Falls back to `O_EXCL` where the
 * file system has no hard links.
 * @returns false when `path` exists
 */
async function createExclusive(path: string, text: string): Promise<boolean> {
  const mine = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.new`;
  await writeFile(mine, text, { mode: 0o644 });
  try {
    await link(mine, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
    try {
      const fh = await open(path, 'wx', 0o644);
      await fh.writeFile(text);
      await fh.close();
      return true;
    } catch (fallbackError) {
      if ((fallbackError as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw fallbackError;
    }
  } finally {
    await unlink(mine).catch(() => undefined);
  }
}

/** A takeover guard older than this was left by a killed cleaner (ms). */
const GUARD_STALE_MS = 10_000;

/**
 * Removes the stale lock at `path` only if it still holds exactly `observed`.
 * Cleaners take turns through an exclusive guard file: without it, two runs that
 * both saw the same stale lock could each remove it — the second removing the fresh
 * lock the first had just created — and both would go on as holders.
 */
async function removeIfUnchanged(path: string, observed: string): Promise<void> {
  const guard = `${path}.takeover`;
  let fh;
  try {
    fh = await open(guard, 'wx', 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const age = await stat(guard).then(
      (st) => Date.now() - st.mtimeMs,
      () => 0,
    );
    if (age > GUARD_STALE_MS) await unlink(guard).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
    return;
  }
  try {
    const current = await readFile(path, 'utf8').catch(() => undefined);
    if (current === observed) await unlink(path).catch(() => undefined);
  } finally {
    await fh.close();
    await unlink(guard).catch(() => undefined);
  }
}

/**
 * Takes the lock at `path`.
 * @param ttlMs - lease length (ms); a crashed holder on another host blocks at most this long.
 * @throws RolloutLockedError naming the holder when another live run has it.
 */
export async function acquireLock(
  path: string,
  opts: { owner: string; ttlMs?: number; now?: () => Date },
): Promise<HeldLock> {
  const ttlMs = opts.ttlMs ?? 60_000;
  const now = opts.now ?? (() => new Date());
  await mkdir(dirname(path), { recursive: true }).catch((error: unknown) => {
    throw new StateWriteError(`cannot take the rollout's lock ${path}: ${(error as Error).message}`, { cause: error });
  });
  const info = (): LockInfo => ({
    pid: process.pid,
    host: hostname(),
    owner: opts.owner,
    acquiredAt: acquiredAt,
    expiresAt: new Date(now().getTime() + ttlMs).toISOString(),
  });
  const acquiredAt = now().toISOString();
  /** A full disk or a read-only folder is not another run: say what the disk said. */
  const disk = (error: unknown) =>
    new StateWriteError(`cannot take the rollout's lock ${path}: ${(error as Error).message}`, { cause: error });
  for (let attempt = 0; ; attempt++) {
    let created: boolean;
    try {
      created = await createExclusive(path, JSON.stringify(info()));
    } catch (error) {
      throw disk(error);
    }
    if (created) break;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      continue; // released or taken away meanwhile: try again
    }
    let holder: LockInfo | undefined;
    try {
      holder = JSON.parse(text) as LockInfo;
    } catch {
      holder = undefined; // a damaged lock file (locks are created whole, never half-written): stale
    }
    const why = holder === undefined ? 'unreadable lock file' : staleReason(holder, now());
    if (why === undefined) {
      throw new RolloutLockedError(
        `another run of this rollout is in progress (${holder!.owner}, pid ${holder!.pid} on ${holder!.host}, since ${holder!.acquiredAt}); not proceeding. If that run is gone, delete ${path}.`,
      );
    }
    if (attempt >= 50) throw new RolloutLockedError(`could not take ${path}: it keeps coming back (${why})`);
    await removeIfUnchanged(path, text);
  }
  const timer = setInterval(
    () => {
      const tmp = `${path}.renew.${process.pid}`;
      void open(tmp, 'w')
        .then(async (fh) => {
          await fh.writeFile(JSON.stringify(info()));
          await fh.close();
          await rename(tmp, path);
        })
        .catch(() => undefined);
    },
    Math.max(1000, Math.floor(ttlMs / 3)),
  );
  timer.unref();
  return {
    path,
    async release() {
      clearInterval(timer);
      try {
        const holder = JSON.parse(await readFile(path, 'utf8')) as LockInfo;
        if (holder.pid === process.pid && holder.host === hostname()) await unlink(path);
      } catch {
        // already gone
      }
    },
  };
}
