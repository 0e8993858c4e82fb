/**
 * Rolling replacement (`strategy.type: replace`) through the bundled CLI on real agents: every
 * target of the fleet is started by the local fleet's launcher (`fleetgate fleet provision`, a
 * detached agent process on a free loopback port) and the spec's provision and retire steps call
 * the same launcher, so a replacement starts and stops real processes.
 *
 * Given four agents on 1.0.0 listed in an inventory file, when the spec asks for 2.0.0 with
 * maxSurge 1 / maxUnavailable 0, then each old agent is replaced by a new one (its process
 * stopped only after the new one was observed healthy on 2.0.0), never more than one above the
 * fleet's size exists, the state records retired/replacedBy and replaces with the new address,
 * and the next rollout reaches the new targets through the same (unchanged) inventory file.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CLI, type CliResult } from '../helpers/rollout-repo.js';
import { gitIn } from '../helpers/git.js';
import { readAgentVersion } from '../../src/fleet/client.js';
import { retireAllLocalAgents } from '../../src/fleet/provision.js';
import { parseState } from '../../src/state/parse.js';
import type { RolloutState } from '../../src/state/types.js';

function cli(cwd: string, ...args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, CI: '1', NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((res) => child.on('exit', (code) => res({ code: code ?? 1, stdout, stderr })));
}

interface Given {
  dir: string;
  fleetDir: string;
  spec: string;
  state: () => RolloutState;
  events: (r: CliResult) => Array<Record<string, unknown>>;
}

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await retireAllLocalAgents(join(d, 'fleet'));
});

function specYaml(o: { version: string; maxSurge?: number; maxUnavailable?: number; breaker?: number }): string {
  const node = JSON.stringify(process.execPath);
  const cliPath = JSON.stringify(CLI);
  return `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: web
component: web
version: ${o.version}
inventory:
  file: ../inventory.yaml
tiers:
  - name: web
    select: { role: web }
    strategy:
      type: replace
      maxSurge: ${o.maxSurge ?? 1}
      maxUnavailable: ${o.maxUnavailable ?? 0}
      canary: 1
      waves: 3
      observe: 0s
      circuitBreaker: { maxConsecutiveFailures: ${o.breaker ?? 2} }
steps:
  version:
    http: { url: 'http://{{target.address}}/version', json: version }
    timeout: 2s
  verify:
    http: { url: 'http://{{target.address}}/healthz', expect: 200 }
    timeout: 1500ms
    interval: 50ms
  drain:
    http: { method: POST, url: 'http://{{target.address}}/drain' }
  provision:
    run: [${node}, ${cliPath}, fleet, provision, --dir, ../fleet, --version, '{{version}}', --replaces, '{{target.id}}', --traffic-rps, '0']
    timeout: 30s
  retire:
    run: [${node}, ${cliPath}, fleet, retire, --dir, ../fleet, --id, '{{target.id}}']
    timeout: 10s
`;
}

function blueGreenYaml(o: { version: string; keepOldPool: string; observe?: string; guarded?: boolean }): string {
  const node = JSON.stringify(process.execPath);
  const cliPath = JSON.stringify(CLI);
  // With `guarded`, the switch fails until the file ../switch-ok exists (a load balancer that refuses).
  const write = JSON.stringify(
    o.guarded === true
      ? "const fs = require('fs'); if (!fs.existsSync('../switch-ok')) process.exit(1); fs.writeFileSync(process.argv[1], process.argv[2])"
      : "require('fs').writeFileSync(process.argv[1], process.argv[2])",
  );
  return `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: web
component: web
version: ${o.version}
inventory:
  file: ../inventory.yaml
tiers:
  - name: web
    select: { role: web }
    strategy:
      type: blueGreen
      keepOldPool: ${o.keepOldPool}
      observe: ${o.observe ?? '300ms'}
      observeInterval: 100ms
steps:
  version:
    http: { url: 'http://{{target.address}}/version', json: version }
    timeout: 2s
  verify:
    http: { url: 'http://{{target.address}}/healthz', expect: 200 }
    timeout: 1500ms
    interval: 50ms
  provision:
    run: [${node}, ${cliPath}, fleet, provision, --dir, ../fleet, --version, '{{version}}', --replaces, '{{target.id}}', --traffic-rps, '0']
    timeout: 30s
  retire:
    run: [${node}, ${cliPath}, fleet, retire, --dir, ../fleet, --id, '{{target.id}}']
    timeout: 10s
  switch: # the "router": a file listing the addresses traffic goes to
    run: [${node}, -e, ${write}, ../router.txt, '{{pool.addresses}}']
# Analysis of the new pool before the switch: only its members report the new version.
analysis:
  provider: { scrape: {} }
  metrics:
    - name: pool-version
      query: 'gauge(fleet_agent_build_info{version="${o.version}"})'
      threshold: '>= 1'
      severity: critical
`;
}

/** Given: `count` agents on `version`, each started by the launcher, and a git repository with the spec. */
async function given(count: number, version: string, spec: string): Promise<Given> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-replace-'));
  dirs.push(dir);
  const fleetDir = join(dir, 'fleet');
  const targets = [];
  for (let i = 1; i <= count; i++) {
    const r = await cli(
      dir,
      'fleet',
      'provision',
      '--dir',
      fleetDir,
      '--version',
      version,
      '--id',
      `web-${i}`,
      '--traffic-rps',
      '0',
    );
    expect(r.code, r.stderr).toBe(0);
    const agent = JSON.parse(r.stdout) as { id: string; address: string };
    targets.push({ id: agent.id, address: agent.address, labels: { role: 'web' } });
  }
  writeFileSync(join(dir, 'inventory.yaml'), stringify({ targets }));
  mkdirSync(join(dir, 'rollouts'));
  writeFileSync(join(dir, 'rollouts', 'web.yaml'), spec);
  writeFileSync(join(dir, '.gitignore'), '.fleetgate/\nfleet/\n');
  gitIn(dir, 'init', '--quiet', '--initial-branch=main');
  gitIn(dir, 'add', '.');
  gitIn(dir, 'commit', '--quiet', '-m', 'initial');
  return {
    dir,
    fleetDir,
    spec: join('rollouts', 'web.yaml'),
    state: () => parseState(readFileSync(join(dir, 'rollouts', 'web.state.yaml'), 'utf8'), 'state'),
    events: (r) =>
      r.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

async function reports(address: string): Promise<string | undefined> {
  try {
    return (await readAgentVersion(address)).version;
  } catch {
    return undefined;
  }
}

describe('strategy.type: replace on the local fleet', () => {
  it('replaces every target (surge first), retires the old processes, and the inventory follows', async () => {
    const g = await given(4, '1.0.0', specYaml({ version: '2.0.0' }));
    const before = (await import('yaml')).parse(readFileSync(join(g.dir, 'inventory.yaml'), 'utf8')) as {
      targets: { id: string; address: string }[];
    };

    const r = await cli(g.dir, 'run', g.spec, '--json');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const state = g.state();
    expect(state.phase).toBe('Healthy');
    for (const old of before.targets) {
      const slot = state.targets[old.id]!;
      expect(slot).toMatchObject({ phase: 'Succeeded', retired: true, replacedBy: `${old.id}.g2`, version: '2.0.0' });
      const fresh = state.targets[`${old.id}.g2`]!;
      expect(fresh).toMatchObject({ phase: 'Succeeded', replaces: old.id, version: '2.0.0', labels: { role: 'web' } });
      expect(fresh.address).not.toBe(old.address);
      // Observed: the old process is gone, the new one answers 2.0.0.
      expect(await reports(old.address)).toBeUndefined();
      expect(await reports(fresh.address!)).toBe('2.0.0');
      expect(state.replacements?.[old.id]).toMatchObject({ by: `${old.id}.g2`, address: fresh.address });
    }

    // maxSurge 1, maxUnavailable 0: at most one target above the fleet's size, and each old one is
    // drained only after its replacement was observed healthy (n in service throughout).
    const events = g.events(r);
    let extra = 0;
    let most = 0;
    for (const e of events) {
      if (e.event === 'target_provisioned') most = Math.max(most, ++extra);
      if (e.event === 'target_retired') extra--;
    }
    expect(most).toBe(1);
    expect(extra).toBe(0);
    for (const old of before.targets) {
      const healthy = events.findIndex(
        (e) => e.event === 'target_health_check' && e.target === `${old.id}.g2` && e.healthy === true,
      );
      const drained = events.findIndex((e) => e.event === 'target_step' && e.target === old.id && e.step === 'drain');
      expect(healthy).toBeGreaterThanOrEqual(0);
      expect(drained).toBeGreaterThan(healthy);
    }

    // The next rollout: the inventory file still lists web-1…web-4 at their old addresses; the
    // state says who is in their place, so web-N.g2 are replaced by web-N.g3.
    writeFileSync(join(g.dir, g.spec), specYaml({ version: '3.0.0' }));
    gitIn(g.dir, 'commit', '--quiet', '-am', 'propose 3.0.0');
    const plan = await cli(g.dir, 'plan', g.spec, '--json');
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('web-1.g2');
    const again = await cli(g.dir, 'run', g.spec);
    expect(again.code, again.stderr + again.stdout).toBe(0);
    const next = g.state();
    expect(next.phase).toBe('Healthy');
    for (const old of before.targets) {
      expect(next.replacements?.[old.id]?.by).toBe(`${old.id}.g3`);
      expect(next.targets[`${old.id}.g2`]).toMatchObject({ retired: true, replacedBy: `${old.id}.g3` });
      expect(await reports(next.replacements![old.id]!.address)).toBe('3.0.0');
    }
    // One entry per inventory id, however many generations.
    expect(Object.keys(next.replacements ?? {}).sort()).toEqual(before.targets.map((t) => t.id).sort());
  }, 120_000);

  it('a provisioned target that is unhealthy is not put in service; rollback retires it and keeps the old one', async () => {
    const g = await given(3, '1.0.0', specYaml({ version: '2.0.0-broken', breaker: 1 }));
    const r = await cli(g.dir, 'run', g.spec);
    expect(r.code, r.stderr + r.stdout).toBe(3);
    let state = g.state();
    expect(state.phase).toBe('Paused');
    const slot = state.targets['web-1']!;
    expect(slot).toMatchObject({
      phase: 'Failed',
      reason: 'ReplacementUnhealthy',
      replace: { mode: 'surge', old: 'web-1', new: 'web-1.g2' },
    });
    expect(slot.message).toContain('web-1.g2');
    expect(slot.message).toContain('web-1 is still in service');
    expect(state.targets['web-1.g2']).toMatchObject({ phase: 'Failed', replaces: 'web-1' });
    const freshAddress = state.targets['web-1.g2']!.address!;
    // Observed: the old one still serves 1.0.0, the new one runs (left for inspection).
    expect(await reports(slot.address!)).toBe('1.0.0');
    expect(await reports(freshAddress)).toBe('2.0.0-broken');

    const back = await cli(g.dir, 'resume', g.spec, '--decision', 'rollback');
    expect(back.code, back.stderr + back.stdout).toBe(4);
    state = g.state();
    expect(state.phase).toBe('RolledBack');
    expect(state.targets['web-1']).toMatchObject({ phase: 'RolledBack', version: '1.0.0' });
    expect(state.targets['web-1']!.replace).toBeUndefined();
    expect(state.targets['web-1.g2']).toMatchObject({ retired: true });
    expect(await reports(freshAddress)).toBeUndefined();
    expect(await reports(state.targets['web-1']!.address!)).toBe('1.0.0');
  }, 120_000);
});

describe('strategy.type: replace, rolled back after it completed', () => {
  it('cannot restore the retired targets, so it replaces their replacements again on the old version', async () => {
    const g = await given(2, '1.0.0', specYaml({ version: '2.0.0' }));
    const r = await cli(g.dir, 'run', g.spec);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const back = await cli(g.dir, 'rollback', g.spec, '--to', '1.0.0');
    expect(back.code, back.stderr + back.stdout).toBe(4);
    const state = g.state();
    expect(state.phase).toBe('RolledBack');
    for (const id of ['web-1', 'web-2']) {
      // The inventory id leads to the newest target: a fresh one on 1.0.0, its predecessor retired.
      expect(state.replacements?.[id]?.by).toBe(`${id}.g3`);
      expect(state.targets[`${id}.g2`]).toMatchObject({ phase: 'RolledBack', retired: true, replacedBy: `${id}.g3` });
      expect(state.targets[`${id}.g3`]).toMatchObject({ replaces: `${id}.g2`, version: '1.0.0' });
      expect(await reports(state.replacements![id]!.address)).toBe('1.0.0');
    }
    expect(
      readdirSync(g.fleetDir)
        .filter((n) => n.endsWith('.json'))
        .sort(),
    ).toEqual(['web-1.g3.json', 'web-2.g3.json']);
  }, 120_000);
});

describe('strategy.type: replace after a crash', () => {
  it('a run killed right after a provision goes on with the target it provisioned (none is made twice)', async () => {
    const g = await given(2, '1.0.0', specYaml({ version: '2.0.0' }));
    const child = spawn(process.execPath, [CLI, 'run', g.spec, '--json'], {
      cwd: g.dir,
      env: { ...process.env, CI: '1', NO_COLOR: '1' },
    });
    let seen = '';
    const killed = new Promise<void>((res) => {
      child.stdout.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('"event":"target_provisioned"')) child.kill('SIGKILL');
      });
      child.on('exit', () => res());
    });
    await killed;
    const crashed = g.state();
    // Written before the crash: which target was provisioned, for which slot.
    expect(crashed.targets['web-1']).toMatchObject({
      phase: 'Progressing',
      replace: { mode: 'surge', new: 'web-1.g2' },
    });
    expect(crashed.targets['web-1.g2']).toMatchObject({ replaces: 'web-1' });

    const again = await cli(g.dir, 'run', g.spec);
    expect(again.code, again.stderr + again.stdout).toBe(0);
    const state = g.state();
    expect(state.phase).toBe('Healthy');
    expect(state.targets['web-1']).toMatchObject({ retired: true, replacedBy: 'web-1.g2' });
    expect(state.targets['web-1.g3']).toBeUndefined();
    // The launcher holds exactly the two new agents: nothing leaked, nothing made twice.
    const records = readdirSync(g.fleetDir)
      .filter((n) => n.endsWith('.json'))
      .sort();
    expect(records).toEqual(['web-1.g2.json', 'web-2.g2.json']);
  }, 120_000);
});

describe('strategy.type: replace without surge (maxSurge 0, maxUnavailable 1)', () => {
  it('takes each old target out first, within the budget, then provisions its replacement', async () => {
    const g = await given(3, '1.0.0', specYaml({ version: '2.0.0', maxSurge: 0, maxUnavailable: 1 }));
    const r = await cli(g.dir, 'run', g.spec, '--json');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const state = g.state();
    expect(state.phase).toBe('Healthy');
    const events = g.events(r);
    // Out of service: from the old target's drain until its slot completed (the new one in service).
    let out = 0;
    let most = 0;
    for (const e of events) {
      if (e.event === 'target_step' && e.step === 'drain') most = Math.max(most, ++out);
      if (e.event === 'target_completed') out--;
    }
    expect(most).toBe(1);
    for (const id of ['web-1', 'web-2', 'web-3']) {
      const drained = events.findIndex((e) => e.event === 'target_step' && e.target === id && e.step === 'drain');
      const provisioned = events.findIndex((e) => e.event === 'target_provisioned' && e.target === id);
      expect(drained).toBeGreaterThanOrEqual(0);
      expect(provisioned).toBeGreaterThan(drained);
      expect(state.targets[id]).toMatchObject({ retired: true, replacedBy: `${id}.g2` });
    }
  }, 120_000);
});

describe('strategy.type: blueGreen on the local fleet', () => {
  it('provisions the new pool, observes it, switches traffic, keeps the old pool; a rollback switches back', async () => {
    const g = await given(3, '1.0.0', blueGreenYaml({ version: '2.0.0', keepOldPool: '1h' }));
    const router = join(g.dir, 'router.txt');
    const r = await cli(g.dir, 'run', g.spec, '--json');
    // The old pool is kept for an hour: the run ends Progressing (exit 6), traffic on the new pool.
    expect(r.code, r.stderr + r.stdout).toBe(6);
    let state = g.state();
    expect(state.condition?.reason).toBe('OldPoolKept');
    const pool = state.pools?.web;
    expect(pool).toMatchObject({
      version: '2.0.0',
      old: ['web-1', 'web-2', 'web-3'],
      new: ['web-1.g2', 'web-2.g2', 'web-3.g2'],
    });
    expect(pool?.switchedAt).toBeDefined();
    const fresh = pool!.new.map((id) => state.targets[id]!.address!);
    const old = pool!.old.map((id) => state.targets[id]!.address!);
    expect(readFileSync(router, 'utf8')).toBe(fresh.join(','));
    // Observed: both pools run; the new one 2.0.0, the old one still 1.0.0 (kept for a switch back).
    for (const a of fresh) expect(await reports(a)).toBe('2.0.0');
    for (const a of old) expect(await reports(a)).toBe('1.0.0');
    // The pool was observed before the switch: its health checks came before the switch step.
    const events = g.events(r);
    const switched = events.findIndex((e) => e.event === 'pool_switched');
    const checked = events.findIndex((e) => e.event === 'target_health_check' && e.target === 'web-1.g2');
    expect(checked).toBeGreaterThanOrEqual(0);
    expect(switched).toBeGreaterThan(checked);
    // …and its analysis ran on the new pool (the old one reports 1.0.0: it would fail).
    expect(state.waves[0]).toMatchObject({ id: 'web/pool', phase: 'Completed', analysis: { verdict: 'pass' } });
    const analysed = events.findIndex((e) => e.event === 'analysis_completed' && e.verdict === 'pass');
    expect(switched).toBeGreaterThan(analysed);
    expect(analysed).toBeGreaterThanOrEqual(0);

    const back = await cli(g.dir, 'resume', g.spec, '--decision', 'rollback');
    expect(back.code, back.stderr + back.stdout).toBe(4);
    state = g.state();
    expect(state.phase).toBe('RolledBack');
    expect(state.pools?.web?.switchedBackAt).toBeDefined();
    expect(readFileSync(router, 'utf8')).toBe(old.join(','));
    for (const a of fresh) expect(await reports(a)).toBeUndefined();
    for (const a of old) expect(await reports(a)).toBe('1.0.0');
    for (const id of pool!.old) expect(state.targets[id]).toMatchObject({ phase: 'RolledBack', version: '1.0.0' });
  }, 120_000);

  it('retires the old pool once keepOldPool is over, and the inventory follows', async () => {
    const g = await given(2, '1.0.0', blueGreenYaml({ version: '2.0.0', keepOldPool: '0s' }));
    const r = await cli(g.dir, 'run', g.spec);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const state = g.state();
    expect(state.phase).toBe('Healthy');
    expect(state.pools?.web?.retiredAt).toBeDefined();
    for (const id of ['web-1', 'web-2']) {
      expect(state.targets[id]).toMatchObject({ retired: true, replacedBy: `${id}.g2` });
      expect(state.replacements?.[id]?.by).toBe(`${id}.g2`);
      expect(await reports(state.replacements![id]!.address)).toBe('2.0.0');
    }
    expect(readFileSync(join(g.dir, 'router.txt'), 'utf8')).toBe(
      ['web-1', 'web-2'].map((id) => state.replacements![id]!.address).join(','),
    );
  }, 120_000);

  it('a failed switch pauses with traffic on the old pool; continue switches', async () => {
    const g = await given(2, '1.0.0', blueGreenYaml({ version: '2.0.0', keepOldPool: '0s', guarded: true }));
    const r = await cli(g.dir, 'run', g.spec);
    expect(r.code, r.stderr + r.stdout).toBe(3);
    let state = g.state();
    expect(state.condition?.reason).toBe('SwitchFailed');
    expect(state.pools?.web?.switchedAt).toBeUndefined();
    expect(existsSync(join(g.dir, 'router.txt'))).toBe(false);
    for (const id of ['web-1', 'web-2']) expect(await reports(state.targets[id]!.address!)).toBe('1.0.0');

    writeFileSync(join(g.dir, 'switch-ok'), '');
    const go = await cli(g.dir, 'resume', g.spec, '--decision', 'continue');
    expect(go.code, go.stderr + go.stdout).toBe(0);
    state = g.state();
    expect(state.phase).toBe('Healthy');
    expect(readFileSync(join(g.dir, 'router.txt'), 'utf8')).toBe(
      ['web-1', 'web-2'].map((id) => state.replacements![id]!.address).join(','),
    );
  }, 120_000);
});
