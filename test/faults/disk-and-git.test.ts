/**
 * The state cannot be made durable: the disk is full (a tiny tmpfs), the state
 * folder is read-only, the state file is read-only, git refuses the commit (a
 * live lock on the index or on the branch). The rollout stops before it touches
 * another target and says why; once the cause is gone, a re-run finishes the
 * rollout without upgrading any target twice.
 *
 * Mounting needs CAP_SYS_ADMIN (root in this container); without it the tmpfs
 * cases are skipped and say so. The read-only file uses `chattr +i` as root
 * (root ignores file modes) and a read-only folder otherwise.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { setAgentFault } from '../../src/fleet/client.js';
import { RolloutRepo } from '../helpers/rollout-repo.js';
import { pollUntil } from '../helpers/poll.js';
import { agentReports, agentStats, delta, deltaAll, faultSpecText, proposeText } from './helpers.js';

const isRoot = process.getuid?.() === 0;

function canMountTmpfs(): boolean {
  const probe = mkdtempSync(join(tmpdir(), 'fg-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

function canChattr(): boolean {
  if (!isRoot) return false;
  const dir = mkdtempSync(join(tmpdir(), 'fg-chattr-probe-'));
  try {
    writeFileSync(join(dir, 'f'), 'x');
    execFileSync('chattr', ['+i', join(dir, 'f')], { stdio: 'ignore' });
    execFileSync('chattr', ['-i', join(dir, 'f')], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const TMPFS = canMountTmpfs();
const CHATTR = canChattr();

let repo: RolloutRepo | undefined;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      c();
    } catch {
      // best effort
    }
  }
  await repo?.close();
  repo = undefined;
});

/** Given: 9 agents on 1.0.0, a rollout to 1.1.0 in 3 waves of 3 (3 at a time). */
async function given(opts: { tmpfs?: boolean; upgradeMs?: number } = {}): Promise<RolloutRepo> {
  const r = await RolloutRepo.create({
    count: 9,
    version: '1.0.0',
    upgradeMs: opts.upgradeMs ?? 30,
    spec: { version: '1.0.0' },
  });
  if (opts.tmpfs) {
    // rollouts/ becomes a 1 MB tmpfs holding the same files (git sees no change).
    const rollouts = join(r.dir, 'rollouts');
    const keep = mkdtempSync(join(tmpdir(), 'fg-rollouts-'));
    cpSync(rollouts, keep, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', rollouts]);
    cleanups.push(() => execFileSync('umount', ['-l', rollouts]));
    cpSync(keep, rollouts, { recursive: true });
    rmSync(keep, { recursive: true, force: true });
  }
  proposeText(
    r,
    faultSpecText('svc', {
      version: '1.1.0',
      canary: 0,
      waves: 3,
      maxUnavailable: 3,
      stepTimeout: '5s',
      verifyTimeout: '10s',
    }),
  );
  return r;
}

/** Fills the file system holding `dir` until it has no free byte left. */
function fillUp(dir: string): string {
  const filler = join(dir, '.filler');
  const free = statfsSync(dir).bavail * statfsSync(dir).bsize;
  writeFileSync(filler, Buffer.alloc(Math.max(0, free - 4096)));
  for (;;) {
    try {
      writeFileSync(filler, Buffer.alloc(4096), { flag: 'a' });
    } catch {
      return filler;
    }
  }
}

const WAVE = (n: number) => [1, 2, 3].map((i) => `t-${(n - 1) * 3 + i}`);

/** A process that holds `path` open (as a git process holding its lock does). */
function holdOpen(path: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['-e', `require('fs').openSync(${JSON.stringify(path)}, 'w'); console.log('held'); setInterval(() => {}, 1e6)`],
    { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'inherit'] },
  );
  cleanups.push(() => child.kill('SIGKILL'));
  return new Promise((resolve) => child.stdout.once('data', () => resolve(child)));
}

/** Then: finishing after the cause is gone upgrades every agent exactly once and leaves none drained. */
async function expectFinishesOnce(r: RolloutRepo): Promise<void> {
  const again = await r.cli('run', r.specPath);
  expect(again.code, again.stderr).toBe(0);
  expect(r.state().phase).toBe('Healthy');
  const reports = await agentReports(r);
  for (const t of r.fleet.targets) {
    expect(reports.get(t.id), t.id).toMatchObject({ version: '1.1.0', upgrades: 1, drained: false });
  }
}

/** Waits until every target of the second wave is being verified (restarting after its upgrade). */
function secondWaveRestarting(r: RolloutRepo): Promise<void> {
  return pollUntil(
    'second wave restarting not reached',
    20_000,
    () => {
      const s = r.state();
      return WAVE(2).every((id) => s.targets[id]?.phase === 'Progressing' && s.targets[id]?.step === 'verify');
    },
    { intervalMs: 2 },
  );
}

describe('the state cannot be made durable: the rollout stops before touching more targets and says why', () => {
  it.skipIf(!TMPFS)(
    'disk full in the middle of a wave: no further step starts, the file keeps its last good content',
    async () => {
      repo = await given({ tmpfs: true, upgradeMs: 300 });
      const r = repo;
      const before = await agentStats(r);
      const run = r.start('run', r.specPath);
      // Fill the disk while the second wave's targets restart (verify: no state write until each is healthy).
      await secondWaveRestarting(r);
      const filler = fillUp(join(r.dir, 'rollouts'));
      const res = await run.result;

      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(
        /fleetgate: cannot write state file .*svc\.state\.yaml: ENOSPC: no space left on device/,
      );
      expect(res.stderr).not.toMatch(/internal error/);
      const s = r.state(); // the last good write: parses
      expect(s.phase).toBe('Progressing');
      const after = await agentStats(r);
      // Nothing of the third wave was touched; of the second, at most the steps already running finished.
      // Read-only requests (version, and the health probes that guard the budget) are all that reached it.
      for (const id of WAVE(3))
        expect(
          deltaAll(after, before, id) - delta(after, before, id, '/version') - delta(after, before, id, '/healthz'),
        ).toBe(0);
      for (const id of WAVE(3)) expect(delta(after, before, id, '/version')).toBeLessThanOrEqual(1); // preflight
      // The second wave's targets were not undrained: that step waits for its record, which could not be written.
      for (const id of WAVE(2)) expect(delta(after, before, id, '/undrain')).toBe(0);
      for (const id of WAVE(2)) expect(s.targets[id]).toMatchObject({ phase: 'Progressing', step: 'verify' });
      expect(s.waves[2]).toMatchObject({ phase: 'Pending' });
      // Space again: the re-run finishes and upgrades nothing twice.
      rmSync(filler);
      await expectFinishesOnce(r);
      expect(readdirSync(join(r.dir, 'rollouts')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    },
  );

  it.skipIf(!TMPFS)(
    'a failed run stops polling its other targets at once instead of waiting out their health-check timeouts',
    async () => {
      repo = await given({ tmpfs: true, upgradeMs: 300 });
      const r = repo;
      const events = join(r.dir, '.fleetgate', 'events.jsonl');
      mkdirSync(join(r.dir, '.fleetgate'), { recursive: true });
      const run = r.start('run', r.specPath, '--events', events);
      await secondWaveRestarting(r);
      // t-4 will answer 500 to its health checks (it would poll for its 10 s verify budget); the others
      // turn healthy and fail on the full disk.
      await setAgentFault(r.fleet.targets.find((t) => t.id === 't-4')!.address, '500');
      const filler = fillUp(join(r.dir, 'rollouts'));
      const res = await run.result;
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/ENOSPC/);
      const checks = readFileSync(events, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"event":"target_health_check"') && l.includes('"target":"t-4"'))
        .map((l) => JSON.parse(l) as { message?: string });
      // Health checks after the run gave up would fail on the closed connection pool, every 25 ms.
      expect(checks.filter((c) => /closed|destroyed/i.test(c.message ?? ''))).toEqual([]);
      rmSync(filler);
      await setAgentFault(r.fleet.targets.find((t) => t.id === 't-4')!.address, 'none');
      await expectFinishesOnce(r);
    },
  );

  it.skipIf(!TMPFS)('disk full before the run: it says so and touches nothing', async () => {
    repo = await given({ tmpfs: true });
    const r = repo;
    expect((await r.cli('run', r.specPath, '--max-waves', '1')).code).toBe(6);
    const filler = fillUp(join(r.dir, 'rollouts'));
    const before = await agentStats(r);
    const revision = r.state().revision;

    const res = await r.cli('run', r.specPath);

    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/ENOSPC: no space left on device/);
    expect(res.stderr).not.toMatch(/internal error/);
    expect(r.state().revision).toBe(revision);
    const after = await agentStats(r);
    for (const t of r.fleet.targets) expect(deltaAll(after, before, t.id)).toBe(0);
    rmSync(filler);
    await expectFinishesOnce(r);
  });

  it.skipIf(!TMPFS)('read-only state folder: it says so and touches nothing', async () => {
    repo = await given({ tmpfs: true });
    const r = repo;
    expect((await r.cli('run', r.specPath, '--max-waves', '1')).code).toBe(6);
    const rollouts = join(r.dir, 'rollouts');
    execFileSync('mount', ['-o', 'remount,ro', rollouts]);
    const before = await agentStats(r);

    const res = await r.cli('run', r.specPath);

    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/EROFS: read-only file system/);
    expect(res.stderr).not.toMatch(/internal error/);
    const after = await agentStats(r);
    for (const t of r.fleet.targets) expect(deltaAll(after, before, t.id)).toBe(0);
    execFileSync('mount', ['-o', 'remount,rw', rollouts]);
    await expectFinishesOnce(r);
  });

  it.skipIf(isRoot && !CHATTR)('read-only state file: it says so and touches nothing', async () => {
    repo = await given();
    const r = repo;
    expect((await r.cli('run', r.specPath, '--max-waves', '1')).code).toBe(6);
    const file = join(r.dir, 'rollouts', 'svc.state.yaml');
    // Root ignores file modes: make the file immutable; others: a read-only folder.
    if (isRoot) {
      execFileSync('chattr', ['+i', file]);
      cleanups.push(() => execFileSync('chattr', ['-i', file]));
    } else {
      await chmod(join(r.dir, 'rollouts'), 0o555);
      cleanups.push(() => execFileSync('chmod', ['755', join(r.dir, 'rollouts')]));
    }
    const before = await agentStats(r);

    const res = await r.cli('run', r.specPath);

    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/fleetgate: cannot write state file .*svc\.state\.yaml: (EPERM|EACCES)/);
    const after = await agentStats(r);
    for (const t of r.fleet.targets) expect(deltaAll(after, before, t.id)).toBe(0);
    cleanups.pop()!();
    await expectFinishesOnce(r);
  });

  it('git refuses the first commit (a live lock on the index): nothing touched; once it is gone, a re-run finishes', async () => {
    repo = await given();
    const r = repo;
    const lock = join(r.dir, '.git', 'index.lock');
    const holder = await holdOpen(lock);
    const before = await agentStats(r);

    const res = await r.cli('run', r.specPath);

    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /fleetgate: git refused to commit rollouts\/svc\.state\.yaml: .*index\.lock.*File exists/,
    );
    expect(res.stderr).toMatch(new RegExp(`process ${holder.pid} has it open`));
    const after = await agentStats(r);
    for (const t of r.fleet.targets) {
      expect(delta(after, before, t.id, '/drain')).toBe(0);
      expect(delta(after, before, t.id, '/upgrade')).toBe(0);
    }
    // The holder dies without removing its lock (a killed git): the lock is stale now, and removed.
    holder.kill('SIGKILL');
    await new Promise((r2) => holder.once('exit', r2));
    await expectFinishesOnce(r);
    expect(r.git('log', '--format=%B', '-20')).toMatch(
      /Removed \.git\/index\.lock: left by a git process that was killed/,
    );
  });

  it('git refuses a wave commit (a live lock on the branch): the wave after it is not touched', async () => {
    repo = await given();
    const r = repo;
    expect((await r.cli('run', r.specPath, '--max-waves', '1')).code).toBe(6);
    mkdirSync(join(r.dir, '.git', 'refs', 'heads'), { recursive: true });
    const lock = join(r.dir, '.git', 'refs', 'heads', 'main.lock');
    const holder = await holdOpen(lock);
    const before = await agentStats(r);

    const res = await r.cli('run', r.specPath);

    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/fleetgate: git refused to commit rollouts\/svc\.state\.yaml: .*main\.lock/);
    const after = await agentStats(r);
    // Only the read-only health probes that guarded the second wave's budget reached the third.
    for (const id of WAVE(3)) expect(deltaAll(after, before, id) - delta(after, before, id, '/healthz')).toBe(0);
    const s = r.state();
    expect(s.waves.map((w) => w.phase)).toEqual(['Completed', 'Completed', 'Pending']);
    holder.kill('SIGKILL');
    await new Promise((r2) => holder.once('exit', r2));
    await expectFinishesOnce(r);
  });
});
