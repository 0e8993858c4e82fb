/** The engine's config-rollout helpers (docs/config-rollouts.md): step values, per-target moves, what the state keeps. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  configVars,
  describeMove,
  pruneConfigs,
  rollbackConfigFor,
  targetMove,
} from '../../src/engine/config-change.js';
import { valuesConfig } from '../../src/spec/config.js';
import type { RolloutSpec } from '../../src/spec/types.js';
import { createEmptyState } from '../../src/state/types.js';

const dir = mkdtempSync(join(tmpdir(), 'fleetgate-config-change-'));
const now = valuesConfig({ telemetry: 'debug', protocolVersion: 3 });
const before = valuesConfig({ telemetry: 'prod', protocolVersion: 3 });

function spec(hotReload: boolean | string[] = ['telemetry']): RolloutSpec {
  return {
    name: 'sched',
    file: join(dir, 'sched.yaml'),
    config: { source: { kind: 'values' }, hotReload, ...now },
  } as unknown as RolloutSpec;
}

function state() {
  return {
    ...createEmptyState('sched'),
    configs: { [before.revision]: { content: before.content, format: 'json' as const } },
  };
}

describe('config step values', () => {
  it('give the revision and content, and write the file {{config.path}} names only when it is read', () => {
    const vars = configVars(spec(), state(), before.revision)!;
    expect(vars).toMatchObject({ revision: before.revision, content: before.content });
    const path = join(dir, '.fleetgate', 'config', `sched-${before.revision}.json`);
    expect(existsSync(path)).toBe(false);
    expect(vars.path).toBe(path);
    expect(readFileSync(path, 'utf8')).toBe(before.content);
    expect(configVars(spec(), state(), 'unknown00000')).toBeUndefined();
  });
});

describe('a target move', () => {
  const c = { spec: spec(), state: state() };
  it('reloads a hot-reloadable change on the right version, cycles anything else, skips a target already there', () => {
    expect(targetMove(c, true, before.revision, now.revision)).toMatchObject({ change: true, reload: true });
    expect(targetMove({ ...c, spec: spec(false) }, true, before.revision, now.revision)).toMatchObject({
      change: true,
      reload: false,
    });
    // The revision it runs is not recorded: the change cannot be judged by keys.
    expect(targetMove(c, true, 'by-hand00000', now.revision)).toMatchObject({ change: true, reload: false });
    expect(targetMove(c, true, undefined, now.revision)).toMatchObject({ change: true, reload: false });
    expect(targetMove(c, false, now.revision, now.revision)).toEqual({ change: true, reload: false });
    expect(targetMove(c, true, now.revision, now.revision)).toEqual({ change: false, reload: false });
  });

  it('a rollback restores what each target ran before, or what a `fleetgate rollback` restores for all', () => {
    const s = { ...state(), fromConfig: before.revision, toConfig: now.revision };
    expect(rollbackConfigFor({ spec: spec(), state: s }, { phase: 'Failed', configFrom: before.revision })).toBe(
      before.revision,
    );
    // Not recorded: the configuration is left as it is.
    expect(rollbackConfigFor({ spec: spec(), state: s }, { phase: 'Failed', configFrom: 'by-hand00000' })).toBe(
      undefined,
    );
    const all = { ...s, isRollback: true, toConfig: before.revision };
    expect(rollbackConfigFor({ spec: spec(), state: all }, { phase: 'Pending', configFrom: now.revision })).toBe(
      before.revision,
    );
  });
});

describe('what the state keeps', () => {
  it('drops configurations nothing refers to', () => {
    const s = {
      ...state(),
      toConfig: now.revision,
      configs: {
        [before.revision]: { content: before.content, format: 'json' as const },
        [now.revision]: { content: now.content, format: 'json' as const },
        old000000000: { content: '{}', format: 'json' as const },
      },
      targets: { 't-1': { phase: 'Succeeded' as const, configFrom: before.revision } },
    };
    pruneConfigs(s);
    expect(Object.keys(s.configs ?? {}).sort()).toEqual([before.revision, now.revision].sort());
  });

  it('names a configuration-only move by its revisions', () => {
    expect(describeMove({ fromVersion: '1.0.0', toVersion: '1.0.0', fromConfig: 'a', toConfig: 'b' })).toBe(
      '1.0.0, config a → b',
    );
    expect(describeMove({ fromVersion: '1.0.0', toVersion: '1.1.0', toConfig: 'b' })).toBe(
      '1.0.0 → 1.1.0, config none → b',
    );
    expect(describeMove({ fromVersion: '1.0.0', toVersion: '1.1.0' })).toBe('1.0.0 → 1.1.0');
  });
});
