/**
 * Observe, then act (issue 9, "What was seen"): fleets that were imperfect
 * before the rollout started, through the bundled CLI and real agent processes.
 * Each case failed before the engine judged budgets, versions and rollbacks on
 * what the targets report instead of on its own records.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll.js';
import { RolloutRepo, specText, type SpecOptions } from '../helpers/rollout-repo.js';

let repos: RolloutRepo[] = [];
afterEach(async () => {
  await Promise.all(repos.map((r) => r.close()));
  repos = [];
});

async function given(opts: Parameters<typeof RolloutRepo.create>[0]): Promise<RolloutRepo> {
  const repo = await RolloutRepo.create(opts);
  repos.push(repo);
  return repo;
}

/** Sets an agent's version by hand, as an operator (or a failed earlier change) would have. */
/** Puts an agent on `version` by hand, as an operator would: an upgrade, a restart, then it answers again. */
async function setVersion(address: string, version: string): Promise<void> {
  const r = await fetch(`http://${address}/upgrade?version=${encodeURIComponent(version)}`, { method: 'POST' });
  expect(r.status).toBeLessThan(300);
  // The agent restarts for its upgradeMs: wait until it is back, so what the test does next meets
  // a settled target (a target mid-restart is another case, tested elsewhere).
  await pollUntil(
    `${address} did not come back on ${version}`,
    10_000,
    async () => {
      const v = await fetch(`http://${address}/version`);
      const body = (await v.json()) as { version?: string; state?: string };
      return v.ok && body.version === version && body.state !== 'upgrading';
    },
    { intervalMs: 50 },
  );
}

/** A spec whose single tier is a quorum (leader label `leader`). */
function quorumSpecText(o: SpecOptions): string {
  return specText(o).replace('    strategy:', '    strategy:\n      quorum: true');
}

function writeAndCommit(repo: RolloutRepo, path: string, text: string, message: string): void {
  writeFileSync(join(repo.dir, path), text);
  repo.git('add', path);
  repo.git('commit', '--quiet', '-m', message);
}

/** Polls every agent's /readyz until stopped; the most agents not ready at once. */
function watchReadiness(repo: RolloutRepo): { stop(): Promise<number> } {
  let running = true;
  let worst = 0;
  const loop = (async () => {
    while (running) {
      const states = await Promise.all(
        repo.fleet.targets.map(async (t) => {
          try {
            return (await fetch(`http://${t.address}/readyz`)).status === 200;
          } catch {
            return false;
          }
        }),
      );
      worst = Math.max(worst, states.filter((ok) => !ok).length);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return worst;
    },
  };
}

describe('budgets count every member out of service, also those down before the run', () => {
  it('a 5-member quorum with one member already broken never has more than 2 down (it had 3)', async () => {
    const repo = await given({
      count: 5,
      version: '1.0.0',
      upgradeMs: 250,
      fleet: { labels: (i) => ({ leader: i === 4 ? 'true' : 'false' }) },
      spec: { version: '1.1.0', canary: 0, waves: 'auto', maxUnavailable: 'auto', verifyTimeout: '3s' },
    });
    writeAndCommit(
      repo,
      repo.specPath,
      quorumSpecText({
        name: 'svc',
        version: '1.1.0',
        canary: 0,
        waves: 'auto',
        maxUnavailable: 'auto',
        verifyTimeout: '3s',
      }),
      'quorum',
    );
    await setVersion(repo.fleet.targets[3]!.address, '1.0.0-broken');
    const watch = watchReadiness(repo);
    const r = await repo.cli('run', repo.specPath, '--json');
    const worst = await watch.stop();
    expect(r.code).toBe(0);
    expect(worst).toBeLessThanOrEqual(2);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; target?: string; out?: string[] });
    // The second member of the first wave waited for the budget (t-4 was out).
    expect(events.some((e) => e.event === 'budget_wait' && e.out?.some((o) => o.startsWith('t-4:')))).toBe(true);
    expect([...(await repo.versions()).values()].every((v) => v.version === '1.1.0')).toBe(true);
  });

  it('a failed target left drained keeps using the budget; with 0% tolerance the wave starts no other target', async () => {
    const repo = await given({
      count: 3,
      version: '1.0.0',
      spec: { version: '1.0.0', canary: 0, waves: 1, maxUnavailable: 1, maxConsecutiveFailures: 5 },
    });
    repo.propose({
      version: '1.2.0-broken',
      canary: 0,
      waves: 1,
      maxUnavailable: 1,
      maxConsecutiveFailures: 5,
      verifyTimeout: '500ms',
    });
    const r = await repo.cli('run', repo.specPath);
    expect(r.code).toBe(3);
    const s = repo.state();
    expect(s.condition?.reason).toBe('WaveFailureToleranceExceeded');
    const versions = await repo.versions();
    expect([...versions.values()].filter((v) => v.upgrades > 0)).toHaveLength(1);
  });
});

describe('version policy on what each target reports', () => {
  it('refuses to downgrade targets reporting 2.4.0, 2.0.5 and 1.2.0 to 1.1.1, naming each', async () => {
    const repo = await given({ count: 3, version: '1.2.0', spec: { version: '1.1.1' } });
    await setVersion(repo.fleet.targets[0]!.address, '2.4.0');
    await setVersion(repo.fleet.targets[1]!.address, '2.0.5');
    const pre = await repo.cli('preflight', repo.specPath, '--json');
    const report = JSON.parse(pre.stdout) as { ok: boolean; problems: { reason: string; targets: string[] }[] };
    expect(report.ok).toBe(false);
    expect(report.problems.find((p) => p.reason === 'Downgrade')?.targets).toEqual(['t-1', 't-2', 't-3']);
    const r = await repo.cli('run', repo.specPath);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/t-1 \(reports 2\.4\.0\): refusing to downgrade 2\.4\.0 → 1\.1\.1/);
    expect(r.stderr).toMatch(/nothing was touched/);
    const versions = await repo.versions();
    expect(versions.get('t-1')!.version).toBe('2.4.0');
    expect([...versions.values()].map((v) => v.upgrades)).toEqual([1, 1, 0]);
  });

  it('blocks targets reporting ERROR or MISSING, and runs once they are left out explicitly', async () => {
    const repo = await given({ count: 4, version: '1.2.0', spec: { version: '1.4.0' } });
    await setVersion(repo.fleet.targets[0]!.address, '1.3.0');
    await setVersion(repo.fleet.targets[2]!.address, 'ERROR');
    await setVersion(repo.fleet.targets[3]!.address, 'MISSING');
    const pre = await repo.cli('preflight', repo.specPath, '--json');
    const report = JSON.parse(pre.stdout) as { ok: boolean; problems: { reason: string; targets: string[] }[] };
    expect(report.ok).toBe(false);
    expect(report.problems.find((p) => p.reason === 'UnknownVersion')?.targets).toEqual(['t-3', 't-4']);
    const refused = await repo.cli('run', repo.specPath);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/t-3 reports "ERROR", which is not a version: repair it, or leave it out/);
    expect(repo.hasState()).toBe(false);

    const r = await repo.cli('run', repo.specPath, '--exclude', 't-3,t-4');
    expect(r.code).toBe(0);
    const s = repo.state();
    expect(s.excluded).toEqual(['t-3', 't-4']);
    expect(Object.keys(s.targets).sort()).toEqual(['t-1', 't-2']);
    expect(Object.values(s.targets).map((t) => t.from)).toEqual(['1.3.0', '1.2.0']);
    const versions = await repo.versions();
    expect(versions.get('t-3')!.version).toBe('ERROR');
    expect(versions.get('t-4')!.version).toBe('MISSING');
  });

  it('judges maxSkew per target: a target on 1.3.0 may not jump to 1.5.0 with maxSkew 1', async () => {
    const repo = await given({
      count: 2,
      version: '1.4.0',
      spec: { version: '1.5.0', extra: 'versionPolicy: { maxSkew: 1 }\n' },
    });
    await setVersion(repo.fleet.targets[1]!.address, '1.3.0');
    const r = await repo.cli('run', repo.specPath);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/t-2 \(reports 1\.3\.0\): 1\.3\.0 → 1\.5\.0 moves 2 minor versions/);
    const versions = await repo.versions();
    expect([versions.get('t-1')!.version, versions.get('t-2')!.version]).toEqual(['1.4.0', '1.3.0']);
  });

  it('refuses a tier running more than two versions unless allowed', async () => {
    const repo = await given({ count: 3, version: '1.1.0', spec: { version: '1.2.0' } });
    await setVersion(repo.fleet.targets[0]!.address, '1.0.0');
    await setVersion(repo.fleet.targets[1]!.address, '1.1.5');
    const r = await repo.cli('run', repo.specPath);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/tier all runs 3 versions \(1\.0\.0, 1\.1\.0, 1\.1\.5\)/);
    repo.propose({ version: '1.2.0', extra: 'versionPolicy: { allowMixedVersions: true }\n' });
    expect((await repo.cli('run', repo.specPath)).code).toBe(0);
  });
});

describe('rollbacks go to versions the fleet ran', () => {
  async function rolledOut(): Promise<RolloutRepo> {
    const repo = await given({ count: 3, version: '1.0.0', spec: { version: '1.1.0' } });
    expect((await repo.cli('run', repo.specPath)).code).toBe(0);
    return repo;
  }

  it('refuses --to values that are not versions, or versions never deployed, listing the known ones', async () => {
    const repo = await rolledOut();
    const injected = await repo.cli('rollback', repo.specPath, '--to', '1.24.0;touch x');
    expect(injected.code).toBe(1);
    expect(injected.stderr).toMatch(/not a semver version; versions the fleet ran: 1\.1\.0, 1\.0\.0/);
    const never = await repo.cli('rollback', repo.specPath, '--to', '9.9.9');
    expect(never.code).toBe(1);
    expect(never.stderr).toMatch(/refusing to roll back to "9\.9\.9": the fleet never ran it/);
    expect([...(await repo.versions()).values()].every((v) => v.version === '1.1.0' && v.upgrades === 1)).toBe(true);
    expect(repo.state().lastKnownGood).toBe('1.1.0');
  });

  it('keeps what each target ran before the move in `from`', async () => {
    const repo = await rolledOut();
    const r = await repo.cli('rollback', repo.specPath, '--to', '1.0.0');
    expect(r.code).toBe(4);
    const s = repo.state();
    expect(Object.values(s.targets).map((t) => [t.from, t.version])).toEqual([
      ['1.1.0', '1.0.0'],
      ['1.1.0', '1.0.0'],
      ['1.1.0', '1.0.0'],
    ]);
    const status = await repo.cli('status', repo.specPath);
    expect(status.stdout).not.toMatch(/runs 1\.0\.0, was 1\.0\.0/);
  });

  it('does nothing and says so when the fleet already runs the version (exit 0, no commit)', async () => {
    const repo = await rolledOut();
    const commits = repo.git('rev-list', '--count', 'HEAD');
    const r = await repo.cli('rollback', repo.specPath, '--to', '1.1.0', '--json');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/nothing to roll back/);
    expect(repo.git('rev-list', '--count', 'HEAD')).toBe(commits);
  });

  it('without a last known good, returns each target to the version it ran before', async () => {
    const repo = await given({
      count: 4,
      version: '1.0.0',
      spec: { version: '1.2.0-broken', canary: 0, waves: 4, maxUnavailable: 2, verifyTimeout: '500ms' },
    });
    expect((await repo.cli('run', repo.specPath)).code).toBe(3);
    expect(repo.state().lastKnownGood).toBeUndefined();
    const r = await repo.cli('rollback', repo.specPath, '--json');
    expect(r.code).toBe(4);
    expect([...(await repo.versions()).values()].every((v) => v.version === '1.0.0')).toBe(true);
    // Broken targets first: the two failed ones are rolled back before anything else.
    const order = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; target?: string })
      .filter((e) => e.event === 'target_rolled_back')
      .map((e) => e.target);
    const failed = ['t-1', 't-2'];
    expect(order.slice(0, 2).sort()).toEqual(failed);
  });
});

describe('a rollback when discovery fails', () => {
  /** Discovery that lists the fleet, and fails (as a cluster's member list does) once `discovery-down` exists. */
  async function discovered(): Promise<RolloutRepo> {
    const repo = await given({ count: 3, version: '1.0.0', spec: { version: '1.1.0' } });
    const targets = repo.fleet.targets.map((t) => ({ id: t.id, address: t.address, labels: t.labels }));
    writeFileSync(
      join(repo.dir, 'rollouts', 'discover.mjs'),
      [
        "import { existsSync } from 'node:fs';",
        "if (existsSync(new URL('./discovery-down', import.meta.url))) {",
        "  console.error('member t-2 unreachable: cannot list the cluster');",
        '  process.exit(1);',
        '}',
        `console.log(JSON.stringify(${JSON.stringify({ targets })}));`,
      ].join('\n'),
    );
    const spec = specText({ version: '1.1.0' }).replace(
      'inventory:\n  file: ../inventory.yaml',
      'inventory:\n  discover:\n    run: [node, ./discover.mjs]',
    );
    writeAndCommit(repo, repo.specPath, spec, 'discovered inventory');
    return repo;
  }

  it('rolls back the targets the state recorded, with a warning; a forward run still refuses', async () => {
    const repo = await discovered();
    expect((await repo.cli('run', repo.specPath)).code).toBe(0);
    expect(Object.values(repo.state().targets).every((t) => t.address?.startsWith('127.0.0.1:'))).toBe(true);
    writeFileSync(join(repo.dir, 'rollouts', 'discovery-down'), '');

    const forward = await repo.cli('run', repo.specPath);
    expect(forward.code).toBe(1);
    expect(forward.stderr).toMatch(/discovery command .* exited with code 1/);

    const r = await repo.cli('rollback', repo.specPath, '--to', '1.0.0');
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(
      /warning: the inventory could not be loaded .*member t-2 unreachable.*using the 3 target\(s\) the state recorded/,
    );
    expect([...(await repo.versions()).values()].map((v) => v.version)).toEqual(['1.0.0', '1.0.0', '1.0.0']);
    expect(repo.state().phase).toBe('RolledBack');
  });
});

describe('the state says what happened', () => {
  it('after a failed verify, status and drift show the version the target runs', async () => {
    const repo = await given({
      count: 2,
      version: '1.0.0',
      spec: { version: '1.2.0-broken', canary: 1, maxUnavailable: 1, verifyTimeout: '500ms' },
    });
    expect((await repo.cli('run', repo.specPath)).code).toBe(3);
    const s = repo.state();
    expect(s.targets['t-1']).toMatchObject({ phase: 'Failed', version: '1.2.0-broken', from: '1.0.0' });
    const status = await repo.cli('status', repo.specPath);
    expect(status.stdout).toMatch(/t-1: Failed.*runs 1\.2\.0-broken, was 1\.0\.0/);
    // Someone repairs t-1 by hand: drift sees that it no longer runs what the state recorded.
    await setVersion(repo.fleet.targets[0]!.address, '1.0.0');
    const drift = await repo.cli('drift', repo.specPath);
    expect(drift.code).toBe(5);
    expect(drift.stdout).toMatch(/t-1: expected 1\.2\.0-broken, reports 1\.0\.0/);
  });

  it('records the members each wave really ran after a re-plan (the quorum leader moved)', async () => {
    const labels = (leader: number) => (i: number) => ({ leader: i === leader ? 'true' : 'false' });
    const repo = await given({
      count: 5,
      version: '1.0.0',
      fleet: { labels: labels(4) },
      spec: { version: '1.1.0', canary: 0 },
    });
    writeAndCommit(repo, repo.specPath, quorumSpecText({ name: 'svc', version: '1.1.0', canary: 0 }), 'quorum');
    expect((await repo.cli('run', repo.specPath, '--max-waves', '1')).code).toBe(6);
    expect(repo.state().waves.map((w) => [w.id, w.targets])).toEqual([
      ['all/1', ['t-1', 't-2']],
      ['all/2', ['t-3', 't-4']],
      ['all/leader', ['t-5']],
    ]);
    // The leader moved to t-3 between the runs.
    const inventory = repo.fleet.targets.map((t, i) => ({ ...t, labels: labels(2)(i) }));
    writeAndCommit(repo, 'inventory.yaml', JSON.stringify({ targets: inventory }), 'leader moved');
    expect((await repo.cli('run', repo.specPath)).code).toBe(0);
    expect(repo.state().waves.map((w) => [w.id, w.targets])).toEqual([
      ['all/1', ['t-1', 't-2']],
      ['all/2', ['t-4', 't-5']],
      ['all/leader', ['t-3']],
    ]);
  });
});

describe('hooks survive crashes', () => {
  it('a run killed during the before hook runs it again; continue after a failed hook re-runs it first', async () => {
    const repo = await given({ count: 2, version: '1.0.0', spec: { version: '1.0.0' } });
    const log = join(repo.dir, 'hook.log');
    // Fails while the file `fail` exists; takes 1.5 s while `slow` exists; logs every start.
    const hook = `hooks:
  before:
    run: [sh, -c, 'cd ${repo.dir}; echo start >> hook.log; if [ -e slow ]; then sleep 1.5; fi; if [ -e fail ]; then exit 3; fi; echo done >> hook.log']
    timeout: 10s
`;
    writeFileSync(join(repo.dir, 'slow'), '');
    repo.propose({ version: '1.1.0', extra: hook });
    const first = repo.start('run', repo.specPath);
    await expect.poll(() => readIfExists(log), { timeout: 10_000, interval: 20 }).toMatch(/start/);
    first.kill('SIGKILL');
    await first.result;
    expect(repo.state().hooks?.before?.phase).toBe('Running');
    expect([...(await repo.versions()).values()].every((v) => v.upgrades === 0)).toBe(true);

    writeFileSync(join(repo.dir, 'fail'), '');
    const failed = await repo.cli('run', repo.specPath);
    expect(failed.code).not.toBe(0);
    expect(repo.state().condition?.reason).toBe('HookFailed');
    expect(repo.state().hooks?.before?.phase).toBe('Failed');
    expect([...(await repo.versions()).values()].every((v) => v.upgrades === 0)).toBe(true);

    rmSync(join(repo.dir, 'fail'));
    rmSync(join(repo.dir, 'slow'));
    const r = await repo.cli('resume', repo.specPath, '--decision', 'continue');
    expect(r.code).toBe(0);
    expect(readIfExists(log).match(/start/g)).toHaveLength(3);
    expect(readIfExists(log).match(/done/g)).toHaveLength(1);
    expect(repo.state().history[0]).toMatchObject({ to: '1.1.0', phase: 'Healthy' });
  });
});

describe('one target, one rollout', () => {
  it('a rollout refuses targets another rollout of the repository holds while it is paused', async () => {
    const repo = await given({
      count: 2,
      version: '1.0.0',
      spec: { version: '1.2.0-broken', canary: 1, maxUnavailable: 1, verifyTimeout: '500ms' },
    });
    expect((await repo.cli('run', repo.specPath)).code).toBe(3);
    writeAndCommit(repo, 'rollouts/other.yaml', specText({ name: 'other', version: '1.1.0' }), 'second rollout');
    const r = await repo.cli('run', 'rollouts/other.yaml');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/2 target\(s\) are held by rollout "svc" \(Paused\): t-1, t-2/);
    expect([...(await repo.versions()).values()].filter((v) => v.version === '1.1.0')).toHaveLength(0);
    // Once svc is rolled back, its lease is released.
    expect((await repo.cli('resume', repo.specPath, '--decision', 'rollback')).code).toBe(4);
    expect((await repo.cli('run', 'rollouts/other.yaml')).code).toBe(0);
  });
});

function readIfExists(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
