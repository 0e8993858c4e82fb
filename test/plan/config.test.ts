/** `plan`'s configuration line (docs/config-rollouts.md): config only or with the version, hot reload or full cycle. */
import { describe, expect, it } from 'vitest';
import { planConfig } from '../../src/plan/config.js';
import { formatIssue } from '../../src/spec/issue.js';
import { parseSpec } from '../../src/spec/parse.js';
import type { RolloutSpec } from '../../src/spec/types.js';
import { createEmptyState, type RolloutState } from '../../src/state/types.js';

function spec(version: string, values: string, hotReload = '[telemetry]'): RolloutSpec {
  const r = parseSpec(
    `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: sched
component: scheduler
version: ${version}
inventory: {file: inventory.yaml}
config: {values: ${values}, hotReload: ${hotReload}}
steps:
  version: {run: [sched, --version]}
  configRevision: {run: [sched, --config-revision]}
  upgrade: {run: [sched-install, "{{version}}"]}
  reload: {run: [sched-reload]}
  verify: {run: [sched, --check]}
`,
    'sched.yaml',
  );
  if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
  return r.spec;
}

/** A state healthy at `version` with the configuration of `from` (its content kept). */
function healthy(version: string, from: RolloutSpec): RolloutState {
  const c = from.config!;
  return {
    ...createEmptyState('sched'),
    phase: 'Healthy',
    toVersion: version,
    lastKnownGood: version,
    toConfig: c.revision,
    lastKnownGoodConfig: c.revision,
    configs: { [c.revision!]: { content: c.content!, format: c.format! } },
  };
}

describe('planConfig', () => {
  const prod = spec('1.0.0', '{telemetry: prod, protocolVersion: 3}');
  const debug = spec('1.0.0', '{telemetry: debug, protocolVersion: 3}');
  const proto = spec('1.0.0', '{telemetry: prod, protocolVersion: 4}');

  it('says configuration only and hot reload when only hot-reloadable keys change', () => {
    expect(planConfig(debug, healthy('1.0.0', prod))).toMatchObject({
      change: 'config-only',
      mode: 'reload',
      keys: ['telemetry'],
      from: prod.config!.revision,
      revision: debug.config!.revision,
      text: `configuration only: ${prod.config!.revision} → ${debug.config!.revision}, hot reload (the reload step: no drain, no upgrade); keys changed: telemetry`,
    });
  });

  it('says full cycle when another key changes, or the version changes too', () => {
    expect(planConfig(proto, healthy('1.0.0', prod))).toMatchObject({ change: 'config-only', mode: 'full' });
    expect(planConfig(proto, healthy('1.0.0', prod))?.text).toContain('protocolVersion is not hot-reloadable');
    const upgrade = spec('1.1.0', '{telemetry: debug, protocolVersion: 3}');
    expect(planConfig(upgrade, healthy('1.0.0', prod))).toMatchObject({ change: 'with-version', mode: 'full' });
  });

  it('says unchanged, or unknown before any rollout recorded a revision; nothing without config', () => {
    expect(planConfig(prod, healthy('1.0.0', prod))).toMatchObject({ change: 'unchanged' });
    expect(planConfig(prod, undefined)).toMatchObject({ change: 'unknown', mode: 'full' });
    expect(planConfig(spec('1.0.0', '{telemetry: prod}', 'true'), undefined)).toMatchObject({ mode: 'reload' });
    expect(planConfig({ ...prod, config: undefined }, undefined)).toBeUndefined();
  });
});
