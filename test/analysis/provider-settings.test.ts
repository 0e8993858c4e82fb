/**
 * Provider settings are part of the spec schema (issue 11, part 6): a typo or a
 * bad value fails `validate` at its line and column, for every provider — also
 * through the bundled CLI (`fleetgate validate`, exit 1), as docs/spec.md promises
 * ("a typo never passes silently").
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssue } from '../../src/spec/issue.js';
import { parseSpec } from '../../src/spec/parse.js';

const HEAD = `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: p
component: api
version: 1.0.0
inventory: { targets: [{ id: a, address: '127.0.0.1:1' }] }
steps:
  version: { http: { url: 'http://{{target.address}}/version' } }
  upgrade: { run: [deploy, '{{version}}'] }
  verify: { http: { url: 'http://{{target.address}}/healthz' } }
analysis:
  metrics: [{ name: m, query: q, threshold: '< 1' }]
`;

function issues(provider: string): string[] {
  const r = parseSpec(`${HEAD}  provider: ${provider}\n`, 'r.yaml');
  return r.ok ? [] : r.errors.map(formatIssue);
}

describe('provider settings in the spec schema', () => {
  it('accepts every documented setting', () => {
    expect(
      issues(
        `{ prometheus: { address: '\${PROM_URL}', bearerTokenEnv: PROM_TOKEN, headers: { x-scope-orgid: t1 }, timeout: 30s, retries: 2, backoff: 500ms, step: 15s } }`,
      ),
    ).toEqual([]);
    expect(
      issues(`{ prometheus: { address: 'http://p:9090', basicAuth: { usernameEnv: PU, passwordEnv: PP } } }`),
    ).toEqual([]);
    expect(issues(`{ scrape: { scheme: https, path: /metrics, timeout: 5s, retries: 1, concurrency: 64 } }`)).toEqual(
      [],
    );
    expect(issues(`{ scrape: {} }`)).toEqual([]);
    expect(issues(`{ http: { url: 'http://q/{{query}}', json: data.value, timeout: 10 } }`)).toEqual([]);
  });

  it('locates a typo and names the setting meant', () => {
    expect(issues('{ scrape: { shceme: http } }')).toEqual([
      'r.yaml:13:25 analysis.provider.scrape.shceme: unknown scrape setting; did you mean "scheme"? (expected one of scheme, path, headers, timeout, retries, backoff, concurrency)',
    ]);
  });

  it('locates bad values', () => {
    expect(issues('{ prometheus: {} }')).toEqual([
      expect.stringMatching(/^r\.yaml:13:\d+ analysis\.provider\.prometheus\.address: is required/),
    ]);
    expect(issues('{ prometheus: { address: x, bearerTokenEnv: "my token" } }')[0]).toMatch(
      /analysis\.provider\.prometheus\.bearerTokenEnv: must be an environment variable name/,
    );
    expect(issues('{ scrape: { scheme: ftp } }')[0]).toMatch(
      /analysis\.provider\.scrape\.scheme: must be http or https/,
    );
    expect(issues('{ scrape: { path: metrics } }')[0]).toMatch(
      /analysis\.provider\.scrape\.path: must start with "\/"/,
    );
    expect(issues('{ http: { retries: -1 } }')[0]).toMatch(/analysis\.provider\.http\.retries: must be a whole number/);
  });
});

describe('fleetgate validate (the bundled CLI) on a provider setting typo', () => {
  const cli = resolve(import.meta.dirname, '../../dist/cli.js');

  it.each([
    ['prometheus', "{ prometheus: { adress: 'http://p:9090' } }", 'adress', 'address'],
    ['scrape', '{ scrape: { shceme: http } }', 'shceme', 'scheme'],
    ['http', "{ http: { url: 'http://q/{{query}}', jsn: value } }", 'jsn', 'json'],
  ])('%s: exit 1 and the typo at its line and column, naming the setting meant', (type, provider, typo, meant) => {
    expect(existsSync(cli), 'build first: node scripts/build.mjs').toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'fleetgate-provider-typo-'));
    try {
      writeFileSync(join(dir, 'r.yaml'), `${HEAD}  provider: ${provider}\n`);
      const r = spawnSync(process.execPath, [cli, 'validate', 'r.yaml'], { cwd: dir, encoding: 'utf8' });
      const col = `  provider: ${provider}`.indexOf(typo) + 1;
      expect(r.status, r.stdout + r.stderr).toBe(1);
      expect(r.stdout + r.stderr).toContain(
        `r.yaml:13:${col} analysis.provider.${type}.${typo}: unknown ${type} setting; did you mean "${meant}"?`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
