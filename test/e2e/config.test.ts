/**
 * Config-only rollouts (docs/config-rollouts.md) through the bundled CLI against real agents:
 * the example under rollouts/examples/ run as it is (the first configuration is a full cycle,
 * a hot-reloadable change a reload without restart, a protocol change the full cycle again),
 * `plan` saying which, the engine observing each agent's revision (a drifted agent is found,
 * an agent already on the revision is not touched), `rollback --to <revision>`, and a broken
 * configuration rolled back by reloading the previous one.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readAgentVersion } from '../../src/fleet/client.js';
import { valuesConfig } from '../../src/spec/config.js';
import { parseState } from '../../src/state/parse.js';
import type { RolloutState } from '../../src/state/types.js';
import { RolloutRepo } from '../helpers/rollout-repo.js';

const EXAMPLES = resolve(import.meta.dirname, '../../rollouts/examples');

let repo: RolloutRepo | undefined;
afterEach(async () => {
  await repo?.close();
  repo = undefined;
});

/** What every agent reports: version, configuration revision, restarts and reloads. */
async function agents(r: RolloutRepo) {
  return Promise.all(
    r.fleet.targets.map(async (t) => {
      const v = await readAgentVersion(t.address);
      return { version: v.version, config: v.config, upgrades: v.upgrades, reloads: v.reloads };
    }),
  );
}

function stateOf(r: RolloutRepo, spec: string): RolloutState {
  const path = join(r.dir, spec.replace(/\.yaml$/, '.state.yaml'));
  return parseState(readFileSync(path, 'utf8'), path);
}

/** The revision of a JSON configuration (a hash of its canonical content, as Fleetgate computes it). */
function revisionOf(json: string): string {
  return valuesConfig(JSON.parse(json) as Record<string, unknown>).revision;
}

describe('the config-reload example on the local fleet', () => {
  it('rolls the first configuration in a full cycle, a telemetry change by reload, a protocol change by restart', async () => {
    repo = await RolloutRepo.create({ count: 4, version: '1.0.0', spec: { version: '1.0.0' } });
    const r = repo;
    const spec = 'rollouts/config-reload.yaml';
    const file = join(r.dir, 'rollouts/config-reload/scheduler.json');
    cpSync(join(EXAMPLES, 'config-reload.yaml'), join(r.dir, spec));
    cpSync(join(EXAMPLES, 'config-reload'), join(r.dir, 'rollouts/config-reload'), { recursive: true });
    mkdirSync(join(r.dir, 'inventory'));
    await r.fleet.writeInventory(join(r.dir, 'inventory/local-fleet.yaml'));
    r.git('add', '.');
    r.git('commit', '--quiet', '-m', 'config-reload example');
    const first = readFileSync(file, 'utf8');
    const a = revisionOf(first);

    expect((await r.cli('validate', spec)).stdout).toContain(`${spec}: valid`);
    const plan0 = await r.cli('plan', spec);
    expect(plan0.stdout).toContain(`Configuration: configuration ${a}: no revision recorded yet`);

    // 1. No agent runs a configuration Fleetgate knows: the full cycle (a restart each).
    const run1 = await r.cli('run', spec, '--yes');
    expect(run1.code, run1.stderr + run1.stdout).toBe(0);
    expect(await agents(r)).toEqual(
      r.fleet.targets.map(() => ({ version: '1.0.0', config: a, upgrades: 1, reloads: 0 })),
    );
    const preflight = JSON.parse((await r.cli('preflight', spec, '--json')).stdout) as { config: unknown };
    expect(preflight.config).toEqual({ desired: a, revisions: { [a]: 4 } });
    let state = stateOf(r, spec);
    expect(state).toMatchObject({ phase: 'Healthy', toConfig: a, lastKnownGoodConfig: a, toVersion: '1.0.0' });
    expect(Object.values(state.targets).every((t) => t.config === a)).toBe(true);
    expect(state.configs?.[a]).toMatchObject({
      content: first,
      format: 'json',
      source: 'file:config-reload/scheduler.json',
    });

    // 2. Only the telemetry mode changes (hot-reloadable, seed 000): reloaded in place, no restart.
    const second = first.replace('"telemetry": "prod"', '"telemetry": "debug"');
    writeFileSync(file, second);
    r.git('commit', '--quiet', '-am', 'telemetry: debug');
    const b = revisionOf(second);
    const plan1 = await r.cli('plan', spec);
    expect(plan1.stdout).toContain(
      `Configuration: configuration only: ${a} → ${b}, hot reload (the reload step: no drain, no upgrade); keys changed: telemetry`,
    );
    const planJson = JSON.parse((await r.cli('plan', spec, '--json')).stdout) as { config: unknown };
    expect(planJson.config).toMatchObject({
      revision: b,
      from: a,
      change: 'config-only',
      mode: 'reload',
      keys: ['telemetry'],
    });
    const run2 = await r.cli('run', spec, '--yes', '--json');
    expect(run2.code, run2.stderr).toBe(0);
    const events = run2.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const steps = events.filter((e) => e.event === 'target_step').map((e) => e.step);
    expect(new Set(steps)).toEqual(new Set(['reload']));
    // The same tiers, canary and waves as a version: the canary first, observed, then the waves.
    expect(events.filter((e) => e.event === 'wave_completed').map((e) => e.wave)).toEqual([
      'schedulers/canary',
      'schedulers/1',
      'schedulers/2',
    ]);
    expect(await agents(r)).toEqual(
      r.fleet.targets.map(() => ({ version: '1.0.0', config: b, upgrades: 1, reloads: 1 })),
    );
    state = stateOf(r, spec);
    expect(state.history[0]).toMatchObject({
      from: '1.0.0',
      to: '1.0.0',
      fromConfig: a,
      toConfig: b,
      phase: 'Healthy',
    });
    expect(r.git('log', '--format=%s', '-1')).toContain(`1.0.0, config ${a} → ${b}`);

    // The desired state is reached: nothing is touched again.
    const again = await r.cli('run', spec, '--yes');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`already Healthy at 1.0.0 (config ${b})`);

    // 3. The protocol version is not hot-reloadable: the full cycle, a restart each.
    const third = second.replace('"protocolVersion": 3', '"protocolVersion": 4');
    writeFileSync(file, third);
    r.git('commit', '--quiet', '-am', 'protocol 4');
    const c = revisionOf(third);
    expect((await r.cli('plan', spec)).stdout).toContain(
      `configuration only: ${b} → ${c}, full cycle (drain, upgrade, verify, undrain); keys changed: protocolVersion (protocolVersion is not hot-reloadable)`,
    );
    const run3 = await r.cli('run', spec, '--yes');
    expect(run3.code, run3.stderr + run3.stdout).toBe(0);
    expect(await agents(r)).toEqual(
      r.fleet.targets.map(() => ({ version: '1.0.0', config: c, upgrades: 2, reloads: 1 })),
    );

    // Drift: an agent given another configuration behind Fleetgate's back is found.
    const odd = r.fleet.targets[2]!;
    await fetch(`http://${odd.address}/reload?config=by-hand`, { method: 'POST', body: '{}' });
    const drift = await r.cli('drift', spec, '--json');
    expect(drift.code).toBe(5);
    expect(JSON.parse(drift.stdout)).toMatchObject({
      drifted: [{ target: odd.id, expected: '1.0.0', reported: '1.0.0', expectedConfig: c, reportedConfig: 'by-hand' }],
    });
    expect((await r.cli('drift', spec)).stdout).toContain(
      `${odd.id}: expected 1.0.0, reports 1.0.0; configuration expected ${c}, reports by-hand`,
    );

    // A rollback to a configuration the state kept: observed first, each agent back on it.
    const back = await r.cli('rollback', spec, '--to', a, '--reason', 'back to the first settings');
    expect(back.code, back.stderr + back.stdout).toBe(4);
    expect((await agents(r)).map((x) => x.config)).toEqual(r.fleet.targets.map(() => a));
    state = stateOf(r, spec);
    expect(state).toMatchObject({
      phase: 'RolledBack',
      isRollback: true,
      toConfig: a,
      fromConfig: c,
      lastKnownGoodConfig: a,
    });
    const refused = await r.cli('rollback', spec, '--to', 'feedfeedfeed');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('configuration revisions kept:');
  });
});

/** A spec over the local agents with an inline-free config file and hot reload of telemetry and behaviour. */
function specWithConfig(version: string, hotReload: string): string {
  return `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: svc
component: fleet-agent
version: ${version}
inventory:
  file: ../inventory.yaml
config:
  file: svc.config.json
  hotReload: ${hotReload}
tiers:
  - name: all
    strategy: { canary: 1, waves: 3, maxUnavailable: 2, observe: 0s, circuitBreaker: { maxConsecutiveFailures: 1 } }
steps:
  version: { http: { url: 'http://{{target.address}}/version', json: version }, timeout: 2s }
  configRevision: { http: { url: 'http://{{target.address}}/version', json: config }, timeout: 2s }
  drain: { http: { method: POST, url: 'http://{{target.address}}/drain' }, grace: 0s }
  upgrade:
    http: { method: POST, url: 'http://{{target.address}}/upgrade?version={{version}}&config={{config.revision}}', body: '{{config.content}}', expect: [200, 202] }
  reload:
    http: { method: POST, url: 'http://{{target.address}}/reload?config={{config.revision}}', body: '{{config.content}}' }
  verify: { http: { url: 'http://{{target.address}}/healthz', expect: 200 }, timeout: 1s, interval: 50ms }
  undrain: { http: { method: POST, url: 'http://{{target.address}}/undrain' } }
`;
}

describe('config-only rollouts on a fleet rolled before', () => {
  it('adding a config to a healthy spec touches the agents; a broken config is rolled back by reload', async () => {
    repo = await RolloutRepo.create({ count: 4, version: '1.0.0', spec: { version: '1.1.0' } });
    const r = repo;
    const spec = r.specPath;
    const run0 = await r.cli('run', spec, '--yes');
    expect(run0.code, run0.stderr).toBe(0);

    // Before issue 13 a changed upgrade URL (&config=v3) said "already Healthy": the revision is now desired state.
    const good = '{"telemetry": "prod", "behaviour": ""}\n';
    writeFileSync(join(r.dir, 'rollouts/svc.config.json'), good);
    writeFileSync(join(r.dir, spec), specWithConfig('1.1.0', '[telemetry, behaviour]'));
    r.git('add', '.');
    r.git('commit', '--quiet', '-m', 'config');
    const a = revisionOf(good);
    const run1 = await r.cli('run', spec, '--yes');
    expect(run1.code, run1.stderr + run1.stdout).toBe(0);
    expect(run1.stdout).not.toContain('already');
    expect(await agents(r)).toEqual(
      r.fleet.targets.map(() => ({ version: '1.1.0', config: a, upgrades: 2, reloads: 0 })),
    );

    // A hot-reloadable change that breaks the canary: paused, then the canary reloads the previous one.
    const bad = '{"telemetry": "debug", "behaviour": "broken"}\n';
    writeFileSync(join(r.dir, 'rollouts/svc.config.json'), bad);
    r.git('commit', '--quiet', '-am', 'broken config');
    const b = revisionOf(bad);
    const run2 = await r.cli('run', spec, '--yes');
    expect(run2.code, run2.stderr + run2.stdout).toBe(3);
    const canary = r.fleet.targets[0]!;
    const after = await agents(r);
    expect(after[0]).toEqual({ version: '1.1.0', config: b, upgrades: 2, reloads: 1 });
    expect(after.slice(1).map((x) => x.config)).toEqual([a, a, a]);
    expect(stateOf(r, spec).targets[canary.id]).toMatchObject({ phase: 'Failed', config: b, configFrom: a });

    const back = await r.cli('resume', spec, '--decision', 'rollback', '--reason', 'broken settings');
    expect(back.code, back.stderr + back.stdout).toBe(4);
    // Restored by reloading the previous configuration (its content kept in the state): no restart.
    const restored = await agents(r);
    expect(restored.map((x) => [x.version, x.config, x.upgrades])).toEqual(r.fleet.targets.map(() => ['1.1.0', a, 2]));
    expect(restored[0]!.reloads).toBe(2);
    const state = stateOf(r, spec);
    expect(state).toMatchObject({ phase: 'RolledBack', rolledBackFrom: '1.1.0', rolledBackFromConfig: b });
    expect(state.targets[canary.id]).toMatchObject({ phase: 'RolledBack', config: a });

    // The rolled-back configuration is not rolled out again unless asked.
    const refused = await r.cli('run', spec, '--yes');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`1.1.0 (config ${b}) was rolled back`);
    const status = await r.cli('status', spec);
    expect(status.stdout).toContain(`configuration: ${a} → ${b}   last known good: ${a}   spec wants: ${b}`);
  });
});
