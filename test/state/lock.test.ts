import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RolloutLockedError } from '../../src/errors.js';
import { acquireLock } from '../../src/state/lock.js';

describe('rollout lock', () => {
  it('lets one holder in and names it to the next', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'fg-lock-')), 'demo.lock');
    const lock = await acquireLock(path, { owner: 'first' });
    await expect(acquireLock(path, { owner: 'second' })).rejects.toThrow(RolloutLockedError);
    await expect(acquireLock(path, { owner: 'second' })).rejects.toThrow(
      /another run of this rollout is in progress \(first/,
    );
    await lock.release();
    const again = await acquireLock(path, { owner: 'second' });
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
    const lock = await acquireLock(path, { owner: 'next' });
    expect((JSON.parse(await readFile(path, 'utf8')) as { owner: string }).owner).toBe('next');
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
    const lock = await acquireLock(path, { owner: 'next' });
    await lock.release();
  });
});
