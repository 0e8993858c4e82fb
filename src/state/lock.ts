/**
 * One run per rollout at a time: a lease file created with `O_EXCL`, renewed
 * while the run lives, and cleaned up when stale (its process is gone on this
 * host, or its lease expired) — the lease/TTL and stale-lock cleanup of seed 003.
 * The state's `revision` compare-and-swap backs it up.
 */
import { hostname } from 'node:os';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RolloutLockedError } from '../errors.js';

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

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why a lock held by someone else may be taken over, or `undefined` when it is live. */
export function staleReason(info: LockInfo, now: Date, host = hostname()): string | undefined {
  if (Date.parse(info.expiresAt) < now.getTime()) return `lease expired at ${info.expiresAt}`;
  if (info.host === host && !processAlive(info.pid)) return `process ${info.pid} on ${info.host} is gone`;
  return undefined;
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
  await mkdir(dirname(path), { recursive: true });
  const info = (): LockInfo => ({
    pid: process.pid,
    host: hostname(),
    owner: opts.owner,
    acquiredAt: acquiredAt,
    expiresAt: new Date(now().getTime() + ttlMs).toISOString(),
  });
  const acquiredAt = now().toISOString();
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o644);
      await fh.writeFile(JSON.stringify(info()));
      await fh.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let holder: LockInfo | undefined;
      try {
        holder = JSON.parse(await readFile(path, 'utf8')) as LockInfo;
      } catch {
        holder = undefined; // half-written by a process killed between open and write: stale
      }
      const why = holder === undefined ? 'unreadable lock file' : staleReason(holder, now());
      if (why === undefined) {
        throw new RolloutLockedError(
          `another run of this rollout is in progress (${holder!.owner}, pid ${holder!.pid} on ${holder!.host}, since ${holder!.acquiredAt}); not proceeding. If that run is gone, delete ${path}.`,
        );
      }
      // Stale: move it aside atomically so two cleaners cannot both win, then retry.
      const aside = `${path}.stale.${process.pid}`;
      await rename(path, aside).then(
        () => unlink(aside),
        () => undefined,
      );
      if (attempt === 2) throw new RolloutLockedError(`could not take ${path}: it keeps coming back (${why})`);
    }
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
