import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RolloutLockedError } from '../../src/errors.js';
import { acquireLock, type LockInfo } from '../../src/state/lock.js';

async function lockFile(path: string): Promise<LockInfo> {
  return JSON.parse(await readFile(path, 'utf8')) as LockInfo;
}

/** What this process writes into a lock taken at `atMs` with a lease of `ttlMs`. */
function ours(owner: string, atMs: number, ttlMs: number, expiresAtMs = atMs + ttlMs): LockInfo {
  return {
    pid: process.pid,
    host: hostname(),
    owner,
    acquiredAt: new Date(atMs).toISOString(),
    expiresAt: new Date(expiresAtMs).toISOString(),
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('rollout lock', () => {
  it('writes who holds it (pid, host, owner), since when and a lease ending in the future, and removes it on release', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'fg-lock-')), 'demo.lock');
    const before = Date.now();
    const lock = await acquireLock(path, { owner: 'run 7 by alice', ttlMs: 90_000 });
    const info = await lockFile(path);
    expect(info).toEqual({
      pid: process.pid,
      host: hostname(),
      owner: 'run 7 by alice',
      acquiredAt: expect.any(String) as string,
      expiresAt: expect.any(String) as string,
    });
    const after = Date.now();
    // Taken between `before` and `after`, the lease running 90 s from the moment it was written.
    expect(Date.parse(info.acquiredAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(info.acquiredAt)).toBeLessThanOrEqual(after);
    expect(Date.parse(info.expiresAt)).toBeGreaterThanOrEqual(Date.parse(info.acquiredAt) + 90_000);
    expect(Date.parse(info.expiresAt)).toBeLessThanOrEqual(after + 90_000);
    expect(Date.parse(info.expiresAt)).toBeGreaterThan(Date.now());
    expect(lock.path).toBe(path);
    await lock.release();
    await expect(readFile(path, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('renews the lease every third of it, keeping acquiredAt (fake interval timer, injected clock)', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const path = join(await mkdtemp(join(tmpdir(), 'fg-lock-')), 'demo.lock');
    const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
    let nowMs = t0;
    const lock = await acquireLock(path, { owner: 'renewing', ttlMs: 30_000, now: () => new Date(nowMs) });
    expect(await lockFile(path)).toEqual(ours('renewing', t0, 30_000));
    nowMs = t0 + 10_000;
    vi.advanceTimersByTime(10_000);
    await expect.poll(() => lockFile(path)).toEqual(ours('renewing', t0, 30_000, t0 + 40_000));
    await lock.release();
    await expect(readFile(path, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('lets one holder in and names it to the next', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'fg-lock-')), 'demo.lock');
    const lock = await acquireLock(path, { owner: 'first' });
    const held = await readFile(path, 'utf8');
    await expect(acquireLock(path, { owner: 'second' })).rejects.toThrow(RolloutLockedError);
    await expect(acquireLock(path, { owner: 'second' })).rejects.toThrow(
      /another run of this rollout is in progress \(first/,
    );
    expect(await readFile(path, 'utf8')).toBe(held); // refused: the holder's lock is untouched
    await lock.release();
    const again = await acquireLock(path, { owner: 'second' });
    expect((await lockFile(path)).owner).toBe('second');
    await again.release();
  });

  it('takes over a lock whose process is gone', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'fg-lock-')), 'demo.lock');
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid!;
    await new Promise((r) => child.on('exit', r));
    const far = new Date(Date.now() + 3_600_000).toISOString();
    await writeFile(
      path,
      JSON.stringify({ pid, host: hostname(), owner: 'killed', acquiredAt: new Date().toISOString(), expiresAt: far }),
    );
    const at = Date.now();
    const lock = await acquireLock(path, { owner: 'next', ttlMs: 60_000, now: () => new Date(at) });
    expect(await lockFile(path)).toEqual(ours('next', at, 60_000));
    await lock.release();
  });

  it('takes over an expired lease from another host', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'fg-lock-')), 'demo.lock');
    await writeFile(
      path,
      JSON.stringify({
        pid: 1,
        host: 'elsewhere',
        owner: 'old',
        acquiredAt: '2020-01-01T00:00:00Z',
        expiresAt: '2020-01-01T00:01:00Z',
      }),
    );
    const at = Date.now();
    const lock = await acquireLock(path, { owner: 'next', ttlMs: 60_000, now: () => new Date(at) });
    expect(await lockFile(path)).toEqual(ours('next', at, 60_000));
    await lock.release();
  });
});
