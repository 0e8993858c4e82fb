/**
 * Alerts as a gate and silences for planned work, through real rollouts: the
 * bundled CLI, real agent processes, and a real Alertmanager (Debian package
 * `prometheus-alertmanager`) on 127.0.0.1. Given alerts posted to its API, when
 * the rollout runs, then the wave pauses or rolls back, and the silences it
 * creates for each target are expired when the target is back — also by the
 * next run, after a crash.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RolloutState } from '../../src/state/types.js';
import { locateAlertmanager, startAlertmanager, type TestAlertmanager } from '../alerts/helpers/alertmanager.js';
import { pollUntil } from '../helpers/poll.js';
import { RolloutRepo, type SpecOptions } from '../helpers/rollout-repo.js';

const binary = locateAlertmanager();

let repo: RolloutRepo | undefined;
let am: TestAlertmanager | undefined;
afterEach(async () => {
  await repo?.close();
  repo = undefined;
  await am?.stop();
  am = undefined;
});

function alerts(url: string, body: string): string {
  return `alerts:
  alertmanager: { url: "${url}", timeout: 2s, retries: 1, backoff: 100ms }
${body}`;
}

function upgraded(versions: Map<string, { upgrades: number }>): string[] {
  return [...versions.entries()].filter(([, v]) => v.upgrades > 0).map(([id]) => id);
}

describe.skipIf(binary === undefined)('alerts as a gate (real Alertmanager)', () => {
  async function given(spec: (url: string) => SpecOptions, count = 4, upgradeMs = 20): Promise<RolloutRepo> {
    am = await startAlertmanager(binary!);
    const r = await RolloutRepo.create({ count, version: '1.0.0', upgradeMs, spec: { version: '1.0.0' } });
    r.propose(spec(am.url));
    return r;
  }

  it('pauses before the canary on a firing alert matching the selector, touching nothing, and records which alert', async () => {
    repo = await given((url) => ({
      version: '1.1.0',
      canary: 1,
      waves: 3,
      extra: alerts(url, `  select: 'severity="critical", service="edge"'\n  action: pause\n`),
    }));
    await am!.fire([
      { labels: { alertname: 'EdgeErrorBudgetBurn', severity: 'critical', service: 'edge' } },
      // Neither matches: another service, and a warning.
      { labels: { alertname: 'CoreDown', severity: 'critical', service: 'core' } },
      { labels: { alertname: 'EdgeSlow', severity: 'warning', service: 'edge' } },
    ]);
    // preflight (read-only) already says so.
    const preflight = await repo.cli('preflight', repo.specPath);
    expect(preflight.stdout).toMatch(/alerts now: fail — 1 firing alert\(s\) match/);
    expect(preflight.stdout).toMatch(/EdgeErrorBudgetBurn\{service="edge",severity="critical"\}/);
    const r = await repo.cli('run', repo.specPath);
    expect(r.code, r.stderr).toBe(3);
    const s = repo.state();
    expect(s.phase).toBe('Paused');
    expect(s.condition?.reason).toBe('AlertFiring');
    expect(s.condition?.message).toMatch(
      /1 firing alert\(s\) match \{severity="critical", service="edge"\} before all\/canary starts: EdgeErrorBudgetBurn/,
    );
    const canary = s.waves.find((w) => w.id === 'all/canary')!;
    expect(canary.phase).toBe('Pending');
    expect(canary.alerts?.before).toMatchObject({
      verdict: 'fail',
      action: 'pause',
      firing: 1,
      filter: ['severity="critical"', 'service="edge"'],
      alerts: [
        {
          name: 'EdgeErrorBudgetBurn',
          labels: { alertname: 'EdgeErrorBudgetBurn', severity: 'critical', service: 'edge' },
          startsAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as string,
        },
      ],
    });
    expect(upgraded(await repo.versions())).toEqual([]);
    // status shows the evidence.
    const status = await repo.cli('status', repo.specPath);
    expect(status.stdout).toMatch(/alerts before all\/canary: fail/);
    expect(status.stdout).toMatch(/EdgeErrorBudgetBurn\{service="edge",severity="critical"\} since/);

    // A continue accepts the alerts that were seen; the rollout goes on.
    const resumed = await repo.cli('resume', repo.specPath, '--decision', 'continue');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(repo.state().phase).toBe('Healthy');
  });

  it('fails the canary on an alert for its own instance at the end of its window, rolling it back (action fail)', async () => {
    repo = await given((url) => ({
      version: '1.1.0',
      canary: 1,
      waves: 3,
      observe: '3s',
      extra: alerts(url, `  select: 'severity="critical", instance="{{target.address}}"'\n  action: fail\n`),
    }));
    const r = repo;
    // An alert of a target outside the rollout never counts.
    await am!.fire([{ labels: { alertname: 'Other', severity: 'critical', instance: '192.0.2.1:80' } }]);
    const run = r.start('run', r.specPath);
    let canaryId = '';
    // A throw (the state file being replaced) counts as not yet.
    await pollUntil(
      'the canary in its observation window: not reached',
      20_000,
      () => {
        const s = r.state();
        const w = s.waves.find((x) => x.id === 'all/canary');
        canaryId = w?.targets[0] ?? '';
        return w?.phase === 'Observing';
      },
      { intervalMs: 25 },
    );
    const address = r.fleet.targets.find((t) => t.id === canaryId)!.address;
    await am!.fire([{ labels: { alertname: 'HighErrorRate', severity: 'critical', instance: address } }]);
    const result = await run.result;
    expect(result.code, result.stderr).toBe(4);
    const s = r.state();
    expect(s.phase).toBe('RolledBack');
    // Decided by Fleetgate on the alert, as a failed critical metric is.
    expect(s.decisions.at(-1)).toMatchObject({ decision: 'rollback', by: 'fleetgate', wave: 'all/canary' });
    expect(s.decisions.at(-1)?.reason).toMatch(
      /1 firing alert\(s\) match .* at the end of all\/canary's observation window: HighErrorRate/,
    );
    expect(s.waves.find((w) => w.id === 'all/canary')?.phase).toBe('RolledBack');
    const check = s.waves.find((w) => w.id === 'all/canary')!.alerts!.after!;
    expect(check).toMatchObject({ verdict: 'fail', action: 'fail', firing: 1, filter: ['severity="critical"'] });
    expect(check.alerts[0]).toMatchObject({ name: 'HighErrorRate', targets: [canaryId] });
    expect(s.waves.find((w) => w.id === 'all/canary')!.alerts!.before!.verdict).toBe('pass');
    const versions = await r.versions();
    expect([...versions.values()].every((v) => v.version === '1.0.0')).toBe(true);
    expect(upgraded(versions)).toEqual([canaryId]);
  });

  it('pauses, never passes, when Alertmanager does not answer', async () => {
    am = await startAlertmanager(binary!);
    const down = am.url;
    await am.stop();
    repo = await RolloutRepo.create({ count: 2, version: '1.0.0', spec: { version: '1.0.0' } });
    repo.propose({ version: '1.1.0', canary: 1, waves: 1, extra: alerts(down, `  select: 'severity="critical"'\n`) });
    const r = await repo.cli('run', repo.specPath);
    expect(r.code, r.stderr).toBe(3);
    const s = repo.state();
    expect(s.condition?.reason).toBe('AlertmanagerUnreachable');
    expect(s.condition?.message).toMatch(/did not answer before all\/canary starts: connection refused/);
    expect(s.waves[0]!.alerts?.before?.verdict).toBe('inconclusive');
    expect(upgraded(await repo.versions())).toEqual([]);
  });
});

describe.skipIf(binary === undefined)('silences for planned work (real Alertmanager)', () => {
  const SILENCE = `  select: 'severity="critical"'\n  silence: { duration: 10m, comment: "CHG-42" }\n`;

  function silencesOf(list: Awaited<ReturnType<TestAlertmanager['silences']>>) {
    return list.filter((x) => x.createdBy === 'fleetgate');
  }

  it('silences each target while it is drained and upgraded, and expires the silence once it is back', async () => {
    am = await startAlertmanager(binary!);
    repo = await RolloutRepo.create({ count: 3, version: '1.0.0', upgradeMs: 400, spec: { version: '1.0.0' } });
    const r = repo;
    r.propose({
      version: '1.1.0',
      canary: 1,
      waves: 2,
      maxUnavailable: 1,
      verifyTimeout: '10s',
      extra: alerts(am.url, SILENCE),
    });
    const address = new Map(r.fleet.targets.map((t) => [t.address, t.id]));
    // While it runs: which targets had an active silence, and how many at once.
    const seenActive = new Set<string>();
    let most = 0;
    const run = r.start('run', r.specPath);
    let done = false;
    void run.result.then(() => (done = true));
    while (!done) {
      const active = silencesOf(await am.silences()).filter((x) => x.status.state === 'active');
      most = Math.max(most, active.length);
      for (const x of active) {
        const instance = x.matchers.find((m) => m.name === 'instance')?.value ?? '';
        seenActive.add(address.get(instance) ?? instance);
        // The silence holds the selector's matchers (and the target's): the alerts the gate looks at, for this target.
        expect(x.matchers).toContainEqual({ name: 'severity', value: 'critical', isRegex: false, isEqual: true });
      }
      await new Promise((res) => setTimeout(res, 30));
    }
    const result = await run.result;
    expect(result.code, result.stderr).toBe(0);
    expect([...seenActive].sort()).toEqual(r.fleet.targets.map((t) => t.id).sort());
    expect(most).toBe(1);
    // Afterwards: one silence per target, every one expired, named after the rollout, wave and target.
    const all = silencesOf(await am.silences());
    expect(all).toHaveLength(3);
    expect(all.map((x) => x.status.state)).toEqual(['expired', 'expired', 'expired']);
    for (const x of all) {
      const id = address.get(x.matchers.find((m) => m.name === 'instance')!.value)!;
      expect(x.comment).toMatch(
        new RegExp(
          `rollout svc, wave all/(canary|1), target ${id} \\(upgrading ${id} to 1\\.1\\.0\\) — CHG-42 — \\[fleetgate rollout=svc\\]`,
        ),
      );
    }
    const s: RolloutState = r.state();
    expect(s.phase).toBe('Healthy');
    expect(s.silences).toBeUndefined();
  });

  /** A rollout killed with SIGKILL while its canary is upgraded: one silence left recorded in the state. */
  async function killedWithSilenceLeft() {
    am = await startAlertmanager(binary!);
    repo = await RolloutRepo.create({ count: 2, version: '1.0.0', upgradeMs: 4000, spec: { version: '1.0.0' } });
    const r = repo;
    r.propose({
      version: '1.1.0',
      canary: 1,
      waves: 1,
      maxUnavailable: 1,
      verifyTimeout: '20s',
      extra: alerts(am.url, SILENCE),
    });
    const first = r.start('run', r.specPath);
    await pollUntil(
      'a silence recorded while the canary is upgraded: not reached',
      20_000,
      () => (r.state().silences ?? []).length === 1,
      { intervalMs: 25 },
    );
    first.kill('SIGKILL');
    await first.result;
    return { r, manager: am, left: r.state().silences![0]! };
  }

  it('leaves the silence of a run killed mid-upgrade recorded in the state, and the next run expires it', async () => {
    const { r, manager, left } = await killedWithSilenceLeft();
    expect(left).toMatchObject({ wave: 'all/canary', target: expect.any(String) as string });
    const before = (await manager.silences()).find((x) => x.id === left.id);
    expect(before?.status.state).toBe('active');

    const second = await r.cli('run', r.specPath);
    expect(second.code, second.stderr).toBe(0);
    const after = await manager.silences();
    expect(after.find((x) => x.id === left.id)?.status.state).toBe('expired');
    expect(silencesOf(after).filter((x) => x.status.state !== 'expired')).toEqual([]);
    expect(r.state().silences).toBeUndefined();
  });

  it('expires the leftover silence when the rollout is aborted after a crash', async () => {
    const { r, manager, left } = await killedWithSilenceLeft();
    const aborted = await r.cli('resume', r.specPath, '--decision', 'abort');
    expect(aborted.code, aborted.stderr).toBe(1);
    expect(r.state().phase).toBe('Degraded');
    expect((await manager.silences()).find((x) => x.id === left.id)?.status.state).toBe('expired');
    expect(r.state().silences).toBeUndefined();
  });
});
