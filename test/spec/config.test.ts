/**
 * The spec's `config` section (docs/config-rollouts.md): the revision (a hash of canonical
 * content), hot reload per key, and every mistake located at its line and column — the file
 * that does not exist, hot-reload keys the configuration does not have, a missing reload or
 * configRevision step, config placeholders without a config.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { changedKeys, configChangeMode, configRevision, valuesConfig } from '../../src/spec/config.js';
import { formatIssue } from '../../src/spec/issue.js';
import { parseSpec, readSpecFile } from '../../src/spec/parse.js';

const HEAD = `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: sched
component: scheduler
version: 1.0.0
inventory:
  file: inventory.yaml
`;

const STEPS = `steps:
  version: {http: {url: "http://{{target.address}}/version", json: version}}
  configRevision: {http: {url: "http://{{target.address}}/version", json: config}}
  upgrade: {http: {method: POST, url: "http://{{target.address}}/upgrade?version={{version}}&config={{config.revision}}", body: "{{config.content}}"}}
  reload: {http: {method: POST, url: "http://{{target.address}}/reload?config={{config.revision}}", body: "{{config.content}}"}}
  verify: {http: {url: "http://{{target.address}}/healthz"}}
`;

function issues(text: string): string[] {
  const r = parseSpec(text, 'sched.yaml');
  return r.ok ? r.warnings.map(formatIssue) : [...r.errors, ...r.warnings].map(formatIssue);
}

/** A spec and its files in a fresh folder, read as the CLI reads it (the config file too). */
async function readWith(spec: string, files: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-config-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const path = join(dir, 'sched.yaml');
  writeFileSync(path, spec);
  const result = await readSpecFile(path);
  const shown = (result.ok ? result.warnings : [...result.errors, ...result.warnings]).map((i) =>
    formatIssue({ ...i, file: 'sched.yaml' }),
  );
  return { result, shown };
}

describe('configuration revisions', () => {
  it('hash the canonical content: key order and formatting do not change a map, any byte changes text', () => {
    const a = valuesConfig({ telemetry: 'prod', costWeights: { b: 2, a: 1 } });
    const b = valuesConfig({ costWeights: { a: 1, b: 2 }, telemetry: 'prod' });
    expect(a.revision).toMatch(/^[0-9a-f]{12}$/);
    expect(b.revision).toBe(a.revision);
    expect(valuesConfig({ telemetry: 'debug', costWeights: { a: 1, b: 2 } }).revision).not.toBe(a.revision);
    const yaml = 'telemetry: prod # comment\ncostWeights: {a: 1, b: 2}\n';
    expect(configRevision(yaml, 'yaml', { telemetry: 'prod', costWeights: { a: 1, b: 2 } })).toBe(a.revision);
    expect(configRevision('x = 1\n', 'text')).not.toBe(configRevision('x = 1 \n', 'text'));
  });

  it('tell the keys a change touches, and whether hot reload applies (seed 000: weights yes, protocol no)', () => {
    const from = { content: '{"costWeights":{"a":1},"protocolVersion":3,"telemetry":"prod"}', format: 'json' as const };
    const weights = {
      content: '{"costWeights":{"a":2},"protocolVersion":3,"telemetry":"prod"}',
      format: 'json' as const,
    };
    const protocol = {
      content: '{"costWeights":{"a":1},"protocolVersion":4,"telemetry":"prod"}',
      format: 'json' as const,
    };
    const hot = ['costWeights', 'telemetry'];
    expect(changedKeys({ a: 1, b: [1] }, { b: [1], c: 2 })).toEqual(['a', 'c']);
    expect(configChangeMode(hot, from, weights)).toMatchObject({ mode: 'reload', keys: ['costWeights'] });
    expect(configChangeMode(hot, from, protocol)).toMatchObject({
      mode: 'full',
      keys: ['protocolVersion'],
      why: 'protocolVersion is not hot-reloadable',
    });
    // The previous content unknown: a key list cannot be judged; true reloads anything, false nothing.
    expect(configChangeMode(hot, undefined, weights).mode).toBe('full');
    expect(configChangeMode(true, undefined, protocol).mode).toBe('reload');
    expect(configChangeMode(false, from, weights).mode).toBe('full');
  });
});

describe('spec config', () => {
  it('normalizes inline values with their content (JSON, sorted keys) and revision', () => {
    const r = parseSpec(
      `${HEAD}config:\n  values: {telemetry: prod, costWeights: {locality: 0.4}}\n  hotReload: [telemetry]\n${STEPS}`,
      'sched.yaml',
    );
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    expect(r.spec.config).toMatchObject({
      source: { kind: 'values' },
      hotReload: ['telemetry'],
      format: 'json',
      data: { costWeights: { locality: 0.4 }, telemetry: 'prod' },
    });
    expect(r.spec.config?.content).toBe('{\n  "costWeights": {\n    "locality": 0.4\n  },\n  "telemetry": "prod"\n}\n');
    expect(r.spec.config?.revision).toBe(valuesConfig({ telemetry: 'prod', costWeights: { locality: 0.4 } }).revision);
    expect(r.warnings).toEqual([]);
  });

  it('reads config.file next to the spec: content, keys and revision', async () => {
    const { result, shown } = await readWith(
      `${HEAD}config:\n  file: sched.config.yaml\n  hotReload: [telemetry]\n${STEPS}`,
      {
        'sched.config.yaml': '# scheduler settings\ntelemetry: prod\nprotocolVersion: 3\n',
      },
    );
    expect(shown).toEqual([]);
    if (!result.ok) return;
    expect(result.spec.config).toMatchObject({
      source: { kind: 'file', path: 'sched.config.yaml' },
      format: 'yaml',
      content: '# scheduler settings\ntelemetry: prod\nprotocolVersion: 3\n',
      revision: valuesConfig({ telemetry: 'prod', protocolVersion: 3 }).revision,
    });
  });

  it('refuses a config file that does not exist, at config.file', async () => {
    const { shown } = await readWith(`${HEAD}config:\n  file: missing.json\n${STEPS}`);
    expect(shown).toHaveLength(1);
    expect(shown[0]).toMatch(
      /^sched\.yaml:9:9 config\.file: configuration file missing\.json does not exist \(looked for .*missing\.json\) \(expected a file next to the spec/,
    );
  });

  it('refuses hot-reload keys the configuration does not have, each at its place, with a guess', async () => {
    const { shown } = await readWith(
      `${HEAD}config:\n  file: sched.json\n  hotReload: [costWeight, telemetry, quotas]\n${STEPS}`,
      { 'sched.json': '{"costWeights": {"a": 1}, "telemetry": "prod", "protocolVersion": 3}' },
    );
    expect(shown).toEqual([
      'sched.yaml:10:15 config.hotReload[0]: "costWeight" is not a key of sched.json; did you mean "costWeights"? (expected one of costWeights, telemetry, protocolVersion)',
      'sched.yaml:10:38 config.hotReload[2]: "quotas" is not a key of sched.json (expected one of costWeights, telemetry, protocolVersion)',
    ]);
    expect(issues(`${HEAD}config:\n  values: {telemetry: prod}\n  hotReload: [telemetri]\n${STEPS}`)).toEqual([
      'sched.yaml:10:15 config.hotReload[0]: "telemetri" is not a key of the values; did you mean "telemetry"? (expected one of telemetry)',
    ]);
  });

  it('refuses a config file that is not what its name says, and keys of a text file', async () => {
    expect(
      (await readWith(`${HEAD}config:\n  file: sched.json\n${STEPS}`, { 'sched.json': '{"a": ' })).shown[0],
    ).toMatch(/^sched\.yaml:9:9 config\.file: configuration file sched\.json is not valid JSON/);
    expect(
      (await readWith(`${HEAD}config:\n  file: list.yaml\n${STEPS}`, { 'list.yaml': '- a\n- b\n' })).shown,
    ).toEqual([
      'sched.yaml:9:9 config.file: configuration file list.yaml must hold a map of keys (it is read as yaml from its name) (expected a map at the top level, or a file name not ending in .json, .yaml or .yml to read it as text)',
    ]);
    expect(
      (
        await readWith(`${HEAD}config:\n  file: nginx.conf\n  hotReload: [worker]\n${STEPS}`, {
          'nginx.conf': 'worker 4;\n',
        })
      ).shown,
    ).toEqual([
      'sched.yaml:10:14 config.hotReload: lists keys, but nginx.conf is read as opaque text (not .json, .yaml or .yml): it has no keys (expected true or false for a text configuration, or a .json/.yaml file)',
    ]);
  });

  it('refuses hot reload declared without a reload step, and a config without a configRevision step', () => {
    const noReload = STEPS.replace(/ {2}reload: .*\n/, '');
    expect(issues(`${HEAD}config:\n  values: {telemetry: prod}\n  hotReload: true\n${noReload}`)).toEqual([
      'sched.yaml:10:14 config.hotReload: declares hot reload, but there is no reload step (expected steps.reload: the step that applies the configuration without a restart, or hotReload: false)',
    ]);
    const noRevision = STEPS.replace(/ {2}configRevision: .*\n/, '');
    expect(issues(`${HEAD}config:\n  values: {telemetry: prod}\n${noRevision}`)).toEqual([
      'sched.yaml:8:1 config: needs a configRevision step to read the revision each target runs (steps has none) (expected steps.configRevision: a step printing the revision, like {http: {url: "http://{{target.address}}/version", json: config}})',
    ]);
  });

  it('refuses reload and configRevision steps and {{config.*}} without a config section', () => {
    expect(issues(`${HEAD}${STEPS}`)).toEqual([
      'sched.yaml:10:19 steps.configRevision: a configRevision step needs a config section: there is no configuration to read (expected config: {file: ...} or {values: {...}} at the top level, or no such step)',
      'sched.yaml:11:39 steps.upgrade.http.url: {{config.revision}} has no value: the spec has no config section (expected config: {file: ...} or {values: {...}} at the top level)',
      'sched.yaml:11:129 steps.upgrade.http.body: {{config.content}} has no value: the spec has no config section (expected config: {file: ...} or {values: {...}} at the top level)',
      'sched.yaml:12:11 steps.reload: a reload step needs a config section: there is no configuration to reload (expected config: {file: ...} or {values: {...}} at the top level, or no such step)',
      'sched.yaml:12:38 steps.reload.http.url: {{config.revision}} has no value: the spec has no config section (expected config: {file: ...} or {values: {...}} at the top level)',
      'sched.yaml:12:107 steps.reload.http.body: {{config.content}} has no value: the spec has no config section (expected config: {file: ...} or {values: {...}} at the top level)',
    ]);
  });

  it('needs exactly one of file or values; refuses unknown settings', () => {
    expect(issues(`${HEAD}config:\n  hotReload: true\n${STEPS}`)).toEqual([
      'sched.yaml:8:1 config: needs the configuration: a file or values (expected exactly one of file (next to the spec) or values (inline))',
    ]);
    expect(issues(`${HEAD}config:\n  file: a.json\n  values: {a: 1}\n${STEPS}`)).toEqual([
      'sched.yaml:10:11 config.values: use one of file or values, not both (expected exactly one of file (next to the spec) or values (inline))',
    ]);
    expect(issues(`${HEAD}config:\n  values: {a: 1}\n  hotreload: true\n${STEPS}`)[0]).toMatch(
      /^sched\.yaml:10:3 config\.hotreload: unknown config setting; did you mean "hotReload"\?/,
    );
  });

  it('warns when the upgrade step cannot hand the configuration to the target', () => {
    const blind = STEPS.replace('&config={{config.revision}}", body: "{{config.content}}"', '"');
    expect(issues(`${HEAD}config:\n  values: {telemetry: prod}\n  hotReload: true\n${blind}`)).toEqual([
      'sched.yaml:14:12 steps.upgrade: warning: does not pass the configuration to the target: name {{config.content}}, {{config.path}} or {{config.revision}} (a full cycle would apply nothing new) (expected a body or URL with {{config.*}}, or a run step (it gets FLEETGATE_CONFIG_PATH and FLEETGATE_CONFIG_REVISION))',
    ]);
  });
});
