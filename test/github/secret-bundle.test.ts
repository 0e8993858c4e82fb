/**
 * The FLEETGATE_SECRETS bundle (issue 12, item 1): each name is exported for the steps, each
 * value masked (line by line) before anything runs, the bundle itself removed from the
 * environment, and a malformed bundle refused without echoing it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRunnerMask, expandSecretBundle, maskPieces } from '../../src/github/secret-bundle.js';

const KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nQyNTUxOQAAACD2\n-----END OPENSSH PRIVATE KEY-----\n';

describe('expandSecretBundle', () => {
  it('exports every name, masks every value and every line of a key, and drops the bundle', () => {
    const env: NodeJS.ProcessEnv = {
      FLEETGATE_SECRETS: JSON.stringify({ PROM_TOKEN: 'prom-secret-1', SSH_PRIVATE_KEY: KEY, EXTRA_PASS: 'hunter22' }),
    };
    const masked: string[] = [];
    const r = expandSecretBundle(env, (p) => masked.push(p));
    expect(r.exported.sort()).toEqual(['EXTRA_PASS', 'PROM_TOKEN', 'SSH_PRIVATE_KEY']);
    expect(env.PROM_TOKEN).toBe('prom-secret-1');
    expect(env.SSH_PRIVATE_KEY).toBe(KEY);
    expect(env.FLEETGATE_SECRETS).toBeUndefined();
    expect(masked).toEqual(expect.arrayContaining(['prom-secret-1', 'hunter22', 'b3BlbnNzaC1rZXktdjEAAAAA']));
    expect(masked).toContain('-----BEGIN OPENSSH PRIVATE KEY-----');
  });

  it('keeps a value the step set itself; fills one mapped from an absent secret (empty)', () => {
    const env: NodeJS.ProcessEnv = {
      FLEETGATE_SECRETS: '{"PROM_TOKEN":"from-bundle","AGENT_ADMIN_TOKEN":"bundle-admin"}',
      PROM_TOKEN: 'from-step',
      AGENT_ADMIN_TOKEN: '',
    };
    const r = expandSecretBundle(env, () => undefined);
    expect(env.PROM_TOKEN).toBe('from-step');
    expect(env.AGENT_ADMIN_TOKEN).toBe('bundle-admin');
    expect(r).toEqual({ exported: ['AGENT_ADMIN_TOKEN'], kept: ['PROM_TOKEN'] });
  });

  it('does nothing without a bundle (a caller that passes none maps an empty string)', () => {
    const env: NodeJS.ProcessEnv = { FLEETGATE_SECRETS: '' };
    expect(expandSecretBundle(env, () => undefined)).toEqual({ exported: [], kept: [] });
    expect('FLEETGATE_SECRETS' in env).toBe(false);
  });

  it('refuses malformed bundles and reserved names without showing a value', () => {
    const refuse = (raw: string) => () => expandSecretBundle({ FLEETGATE_SECRETS: raw }, () => undefined);
    expect(refuse('PROM_TOKEN=abc-secret')).toThrow(/not valid JSON.*content is not shown/);
    expect(refuse('["abc-secret"]')).toThrow(/must be a JSON object/);
    expect(refuse('{"PATH":"/tmp/evil"}')).toThrow(/PATH is reserved/);
    expect(refuse('{"NODE_OPTIONS":"--require /tmp/x"}')).toThrow(/NODE_OPTIONS is reserved/);
    expect(refuse('{"GITHUB_TOKEN":"x"}')).toThrow(/GITHUB_TOKEN is reserved/);
    expect(refuse('{"bad name":"abc-secret"}')).toThrow(/not an environment variable name/);
    expect(refuse('{"N":42}')).toThrow(/N: the value must be a string/);
    try {
      refuse('{"PATH":"abc-secret-value"}')();
    } catch (e) {
      expect((e as Error).message).not.toContain('abc-secret-value');
    }
  });

  it('masks in the runner with ::add-mask:: (one line per piece)', () => {
    const lines: string[] = [];
    const mask = createRunnerMask({ GITHUB_ACTIONS: 'true' }, (l) => lines.push(l));
    for (const p of maskPieces('50%\nsecret-line')) mask(p);
    expect(lines).toEqual(['::add-mask::secret-line\n']);
    mask('a%b\rcdef');
    expect(lines.at(-1)).toBe('::add-mask::a%25b%0Dcdef\n');
    const quiet: string[] = [];
    createRunnerMask({}, (l) => quiet.push(l))('value-1234');
    expect(quiet).toEqual([]);
  });
});

describe('the CLI exports the bundle before any command', () => {
  const cli = join(import.meta.dirname, '../../dist/cli.js');
  it.runIf(existsSync(cli))('a spec step sees the name, the log sees the mask, not the value', () => {
    const r = spawnSync(process.execPath, [cli, 'validate', '/nonexistent/spec.yaml'], {
      env: { ...process.env, GITHUB_ACTIONS: 'true', FLEETGATE_SECRETS: '{"PROM_TOKEN":"tok-visible-nowhere"}' },
      encoding: 'utf8',
    });
    expect(r.stdout).toContain('::add-mask::tok-visible-nowhere');
    expect(r.stdout.replace(/^::add-mask::.*$/gm, '')).not.toContain('tok-visible-nowhere');
    expect(r.stderr).not.toContain('tok-visible-nowhere');
  });
});
