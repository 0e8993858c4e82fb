/**
 * Issue 9, part 7: a command step runs in its own process group, and the whole group
 * ends with the step (SIGTERM, then SIGKILL after the grace). Real process trees, no mocks.
 *
 * "Gone" means no process that can still run: a process that has exited but waits for
 * its reaper (a zombie, state Z) counts as gone, because in containers PID 1 may reap
 * orphans seconds late or never (here it takes up to ~2 s), while `kill(pid, 0)` still
 * succeeds on a zombie.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/util/clock.js';
import { createStepRunner } from '../../src/engine/steps.js';
import type { CommandStep } from '../../src/spec/types.js';

const posix = process.platform !== 'win32';

const vars = {
  target: { id: 't1', address: '127.0.0.1:1', labels: {} },
  version: '2.0.0',
  rollout: { name: 'r' },
  component: 'c',
};
const cmd = (run: string[], over: Partial<CommandStep> = {}): CommandStep => ({
  kind: 'run',
  run,
  env: {},
  timeoutMs: 1000,
  retries: 0,
  intervalMs: 10,
  ...over,
});

/** Every process (`pid`, process group, state) as `ps` lists it. */
function processes(): { pid: number; pgid: number; stat: string }[] {
  return execFileSync('ps', ['-A', '-o', 'pid=,pgid=,stat='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 3)
    .map(([pid, pgid, stat]) => ({ pid: Number(pid), pgid: Number(pgid), stat: stat! }));
}
/** True while `pid` can still run (exists and is not a zombie). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return processes().some((p) => p.pid === pid && !p.stat.startsWith('Z'));
}
/** Pids of the processes of group `pgid` that can still run. */
function groupMembers(pgid: number): number[] {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return [];
  }
  return processes()
    .filter((p) => p.pgid === pgid && !p.stat.startsWith('Z'))
    .map((p) => p.pid);
}
function pgidOf(pid: number): number | undefined {
  return processes().find((p) => p.pid === pid)?.pgid;
}
const ownPgid = posix ? pgidOf(process.pid) : undefined;

const dirs: string[] = [];
const started: number[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-pgroup-'));
  dirs.push(dir);
  return dir;
}
/** Reads a pid a step wrote, and remembers it for clean-up. */
function pidFrom(file: string): number {
  const pid = Number(readFileSync(file, 'utf8').trim());
  expect(pid).toBeGreaterThan(1);
  started.push(pid);
  return pid;
}

afterEach(() => {
  // Whatever a test started ends here, also when the runner under test failed to end it.
  for (const pid of started.splice(0)) {
    const pgid = pgidOf(pid);
    try {
      if (pgid !== undefined && pgid !== ownPgid && pgid > 1) process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone */
    }
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe.runIf(posix)('command steps run in their own process group', () => {
  const runner = createStepRunner({ clock: systemClock, baseDir: process.cwd(), killGraceMs: 500 });
  afterAll(() => runner.close());

  it('ends the whole group, grandchildren included, when the step times out', async () => {
    const dir = tempDir();
    const r = await runner.run(
      cmd(['sh', '-c', `echo $$ > "${dir}/leader"; sleep 30 & echo $! > "${dir}/child"; wait`], { timeoutMs: 1000 }),
      vars,
    );
    const leader = pidFrom(join(dir, 'leader'));
    const child = pidFrom(join(dir, 'child'));
    expect(r).toMatchObject({ ok: false, exitCode: null });
    // The timeout ended it (how long after: bench/timings.ts).
    expect(r.message).toMatch(/timed out after 1000 ms/);
    // Its own group, led by the step's process; not Fleetgate's group.
    expect(pgidOf(child) ?? leader).toBe(leader);
    expect(leader).not.toBe(ownPgid);
    await expect.poll(() => alive(child), { timeout: 3000, interval: 50 }).toBe(false);
    await expect.poll(() => groupMembers(leader), { timeout: 3000, interval: 50 }).toEqual([]);
    expect(alive(leader)).toBe(false);
  });

  it('ends the whole group when the run is aborted mid-step', async () => {
    const dir = tempDir();
    const controller = new AbortController();
    const abort = setTimeout(() => controller.abort(), 300);
    try {
      // Only the abort can end it this side of the test's timeout (how fast: bench/timings.ts).
      const r = await runner.run(
        cmd(['sh', '-c', `echo $$ > "${dir}/leader"; sleep 600 & echo $! > "${dir}/child"; wait`], {
          timeoutMs: 600_000,
        }),
        vars,
        { signal: controller.signal },
      );
      expect(r.ok).toBe(false);
      expect(r.message).toMatch(/aborted/);
    } finally {
      clearTimeout(abort);
    }
    const leader = pidFrom(join(dir, 'leader'));
    const child = pidFrom(join(dir, 'child'));
    expect(leader).not.toBe(ownPgid);
    await expect.poll(() => alive(child), { timeout: 3000, interval: 50 }).toBe(false);
    await expect.poll(() => groupMembers(leader), { timeout: 3000, interval: 50 }).toEqual([]);
  });

  it('sends SIGTERM first, so a step can stop cleanly', async () => {
    const dir = tempDir();
    const r = await runner.run(
      cmd([
        'sh',
        '-c',
        `echo $$ > "${dir}/leader"; trap 'echo term > "${dir}/term"; exit 0' TERM; sleep 30 & echo $! > "${dir}/child"; wait`,
      ]),
      vars,
    );
    const leader = pidFrom(join(dir, 'leader'));
    const child = pidFrom(join(dir, 'child'));
    expect(r.message).toMatch(/timed out after 1000 ms/);
    expect(readFileSync(join(dir, 'term'), 'utf8').trim()).toBe('term');
    await expect.poll(() => alive(child), { timeout: 3000, interval: 50 }).toBe(false);
    await expect.poll(() => groupMembers(leader), { timeout: 3000, interval: 50 }).toEqual([]);
  });

  it('SIGKILLs a group that ignores SIGTERM once the grace is over', async () => {
    const dir = tempDir();
    // An ignored signal stays ignored across fork and exec: sh and sleep both ignore TERM.
    const r = await runner.run(
      cmd(['sh', '-c', `trap '' TERM; echo $$ > "${dir}/leader"; sleep 30 & echo $! > "${dir}/child"; wait`]),
      vars,
    );
    const leader = pidFrom(join(dir, 'leader'));
    const child = pidFrom(join(dir, 'child'));
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/timed out after 1000 ms/);
    // The step's result waits for the SIGKILL after the grace: the leader, which ignores SIGTERM,
    // is gone when it comes (timings: bench/timings.ts).
    expect(alive(leader)).toBe(false);
    await expect.poll(() => alive(child), { timeout: 3000, interval: 50 }).toBe(false);
    await expect.poll(() => groupMembers(leader), { timeout: 3000, interval: 50 }).toEqual([]);
  });

  it('ends what a finished step left running in its group, without waiting for it', async () => {
    const dir = tempDir();
    // The background sleep holds the step's stdout: a runner waiting for the pipe to close
    // would wait 600 s, past the test's timeout (the step's timeout does not help: the step's
    // own process has exited). How long the step takes: bench/timings.ts.
    const r = await runner.run(
      cmd(['sh', '-c', `echo $$ > "${dir}/leader"; sleep 600 & echo $! > "${dir}/child"; echo 1.2.3`], {
        timeoutMs: 600_000,
      }),
      vars,
      { extractVersion: true },
    );
    const leader = pidFrom(join(dir, 'leader'));
    const child = pidFrom(join(dir, 'child'));
    expect(r).toMatchObject({ ok: true, exitCode: 0, version: '1.2.3' });
    await expect.poll(() => alive(child), { timeout: 3000, interval: 50 }).toBe(false);
    await expect.poll(() => groupMembers(leader), { timeout: 3000, interval: 50 }).toEqual([]);
  });

  it('does not wait forever for a process that left the group holding the output', async () => {
    const dir = tempDir();
    const script = [
      "const { spawn } = require('node:child_process');",
      "const fs = require('node:fs');",
      "const c = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { detached: true, stdio: ['ignore', 'inherit', 'inherit'] });",
      `fs.writeFileSync(${JSON.stringify(join(dir, 'escaped'))}, String(c.pid));`,
      "console.log('done');",
      'process.exit(0);',
    ].join('\n');
    // The escaped process holds the output for 600 s: a runner waiting for it would pass the test's timeout.
    const r = await runner.run(cmd([process.execPath, '-e', script], { timeoutMs: 600_000 }), vars);
    const escaped = pidFrom(join(dir, 'escaped'));
    expect(r).toMatchObject({ ok: true, exitCode: 0 });
    // Out of the step's group, by its own choice: not ours to end (afterEach does).
    expect(alive(escaped)).toBe(true);
  });

  it('still reports a command that does not exist', async () => {
    const r = await runner.run(cmd(['/nonexistent/fleetgate-step']), vars);
    expect(r).toMatchObject({ ok: false, exitCode: null });
    expect(r.message).toMatch(/ENOENT/);
  });

  it('stops a command whose output overflows the capture limit', async () => {
    const dir = tempDir();
    const r = await runner.run(
      cmd(['sh', '-c', `echo $$ > "${dir}/leader"; yes fleetgate`], { timeoutMs: 10_000 }),
      vars,
    );
    const leader = pidFrom(join(dir, 'leader'));
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/stdout maxBuffer length exceeded/);
    expect(existsSync(join(dir, 'leader'))).toBe(true);
    await expect.poll(() => groupMembers(leader), { timeout: 3000, interval: 50 }).toEqual([]);
  });
});
