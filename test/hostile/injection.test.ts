/**
 * Injection: spec fields, inventory labels, target ids and addresses and
 * versions carrying shell metacharacters, `${{ }}`, `{{ }}`, newlines and
 * `../` are either refused with a clear error or reach the target as inert
 * data. Proven by running real rollouts through the bundled CLI: argv steps
 * that record the argv and environment they get, HTTP steps against a server
 * that records the requests.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { formatIssue } from '../../src/spec/issue.js';
import { parseSpec } from '../../src/spec/parse.js';
import { HostileRepo, RECORDER, startRecordingServer, type Recorded } from './helpers.js';

let repo: HostileRepo | undefined;
let server: Server | undefined;
afterEach(() => {
  repo?.remove();
  repo = undefined;
  server?.close();
  server = undefined;
});

/** Values that would do something in a shell, a GitHub expression, a template, a path or a URL. */
function payloads(dir: string): string[] {
  const pwned = join(dir, 'PWNED');
  return [
    `$(touch ${pwned})`,
    `\`touch ${pwned}\``,
    `; touch ${pwned}`,
    `| touch ${pwned}`,
    `&& touch ${pwned}`,
    `\ntouch ${pwned}\n`,
    `'; touch ${pwned}; '`,
    `"; touch ${pwned}; "`,
    '${IFS}$HOME',
    '*',
    '~root',
    '${{ secrets.GITHUB_TOKEN }}',
    '${{ github.event.pull_request.title }}',
    '{{version}}',
    '{{ target.address }}',
    '../../../../etc/passwd',
    '..\\..\\windows',
    '--help',
    '-rf /',
    'a b\tc',
    'line1\r\nline2',
    'é 😀 \u2028',
    '%2e%2e%2f',
    '#fragment',
    '?q=1&x=2',
    'a+b=c',
  ];
}

const step = (action: string, extra = '') =>
  `{ run: [${JSON.stringify(process.execPath)}, ./recorder.mjs, ./record.jsonl, ./record.db, ${action}, '{{target.id}}', '{{target.address}}', '{{target.labels.zone}}', '{{rollout.name}}', '{{component}}', 'literal; $(id)', '{{version}}'], env: { REC_ZONE: '{{target.labels.zone}}' }${extra} }`;

function commandSpec(version = '1.1.0'): string {
  return `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: svc
component: fleet-agent
version: ${version}
inventory: { file: ../inventory.json }
tiers:
  - name: all
    strategy: { canary: 0, waves: "50%", maxUnavailable: 8, observe: 0s }
steps:
  version: ${step('version')}
  drain: ${step('drain')}
  upgrade: ${step('upgrade')}
  verify: ${step('verify', ', timeout: 30s, interval: 50ms')}
  undrain: ${step('undrain')}
`;
}

/** Files anywhere under `dir` named PWNED: a payload that ran. */
function pwned(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.git') continue;
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.includes('PWNED')) out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

describe('hostile values in argv steps arrive as single, unchanged arguments', () => {
  it('labels, ids and addresses full of shell and template syntax: every value is one argv element, nothing runs', async () => {
    repo = new HostileRepo(commandSpec(), { targets: [] });
    const r = repo;
    // Each target carries a payload in its id, its address and its label at once. Ids and
    // addresses have no whitespace (every inventory refuses it), so theirs say ${IFS} instead:
    // still a command to a shell, were one ever to see them.
    const tight = (v: string) => v.replace(/\s/g, '${IFS}');
    const targets = payloads(r.dir).map((v, i) => ({
      id: `t-${i}${tight(v)}`,
      address: `h${i}${tight(v)}`,
      labels: { zone: v },
    }));
    writeFileSync(join(r.dir, 'inventory.json'), JSON.stringify({ targets }, null, 2));
    writeFileSync(join(r.dir, 'rollouts', 'recorder.mjs'), RECORDER);
    r.git('add', '.');
    r.git('commit', '--quiet', '-m', 'hostile inventory');

    const run = await r.cli('run', r.specPath);

    expect(run.code, run.stderr).toBe(0);
    expect(pwned(r.dir)).toEqual([]);
    const records = r
      .read('rollouts/record.jsonl')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; argv: string[]; env: Record<string, string | undefined> });
    for (const t of targets) {
      const mine = records.filter((x) => x.argv[0] === t.id);
      // Health checks (verify) also run as budget probes of the tier before other members go down.
      expect(
        mine
          .filter((x) => x.action !== 'verify')
          .map((x) => x.action)
          .sort(),
      ).toEqual(['drain', 'undrain', 'upgrade', 'version', 'version', 'version'].sort());
      expect(mine.filter((x) => x.action === 'verify').length).toBeGreaterThanOrEqual(1);
      for (const x of mine) {
        // Exactly the values, each one element: nothing split, joined, expanded or re-templated.
        expect(x.argv).toEqual([t.id, t.address, t.labels.zone, 'svc', 'fleet-agent', 'literal; $(id)', '1.1.0']);
        expect(x.env).toEqual({ id: t.id, address: t.address, zone: t.labels.zone });
      }
    }
    const state = r.read('rollouts/svc.state.yaml');
    expect(state).toMatch(/phase: Healthy/);
  });

  it('a NUL byte cannot reach a command: the step fails, preflight says so and nothing is touched', async () => {
    repo = new HostileRepo(commandSpec(), {
      targets: [{ id: 't-1', address: 'h', labels: { zone: 'a\u0000b' } }],
    });
    const r = repo;
    writeFileSync(join(r.dir, 'rollouts', 'recorder.mjs'), RECORDER);
    r.git('add', '.');
    r.git('commit', '--quiet', '-m', 'recorder');
    const run = await r.cli('run', r.specPath);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /preflight: 1 target\(s\) did not answer the version step, nothing was touched: t-1 \(.*null bytes/,
    );
    expect(existsSync(join(r.dir, 'rollouts', 'record.jsonl'))).toBe(false);
  });
});

describe('hostile values in HTTP steps reach the target as data', () => {
  function httpSpec(opts: { header?: boolean; path?: string } = {}): string {
    const base = `http://{{target.address}}/v/${opts.path ?? '{{target.id}}'}`;
    const body = `'{"zone": "{{target.labels.zone}}", "id": "{{target.id}}", "version": "{{version}}"}'`;
    const header = opts.header ? ', headers: { x-zone: "{{target.labels.zone}}" }' : '';
    return `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: svc
component: fleet-agent
version: 1.1.0
inventory: { file: ../inventory.json }
tiers:
  - name: all
    strategy:
      canary: 0
      waves: "50%"
      maxUnavailable: 1
      observe: 0s
      failureTolerance: "100%"
      circuitBreaker: { maxConsecutiveFailures: 100 }
steps:
  version: { http: { url: '${base}/version?zone={{target.labels.zone}}', json: version${header} }, retries: 0 }
  drain: { http: { method: POST, url: '${base}/drain?zone={{target.labels.zone}}', body: ${body}${header} }, retries: 0 }
  upgrade: { http: { method: POST, url: '${base}/upgrade?version={{version}}&zone={{target.labels.zone}}', body: ${body} }, retries: 0 }
  verify: { http: { url: '${base}/healthz?zone={{target.labels.zone}}' }, timeout: 5s, interval: 50ms }
  undrain: { http: { method: POST, url: '${base}/undrain?zone={{target.labels.zone}}', body: ${body} }, retries: 0 }
`;
  }

  function requestsOf(requests: Recorded[], id: string): Recorded[] {
    return requests.filter((q) => decodeURIComponent(q.url.split('/')[2] ?? '') === id);
  }

  it('query, path and JSON body: every value arrives exactly as it was, in its place', async () => {
    const rec = await startRecordingServer();
    server = rec.server;
    repo = new HostileRepo(httpSpec(), { targets: [] });
    const r = repo;
    const values = payloads(r.dir).filter((v) => v !== '..');
    const targets = values.map((v, i) => ({
      id: `t-${i}${v.replace(/\s/g, '${IFS}')}`, // no whitespace in an id (every inventory refuses it)
      address: `127.0.0.1:${rec.port}`,
      labels: { zone: v },
    }));
    writeFileSync(join(r.dir, 'inventory.json'), JSON.stringify({ targets }, null, 2));
    r.git('add', '.');
    r.git('commit', '--quiet', '-m', 'hostile inventory');

    const run = await r.cli('run', r.specPath);

    expect(run.code, run.stderr).toBe(0);
    for (const t of targets) {
      const mine = requestsOf(rec.requests, t.id);
      const actions = mine.map((q) => `${q.method} ${new URL(q.url, 'http://x').pathname.split('/')[3]}`);
      // Health checks also run as budget probes of the tier before other members go down.
      expect(actions.filter((a) => a !== 'GET healthz').sort()).toEqual(
        ['GET version', 'GET version', 'GET version', 'POST drain', 'POST upgrade', 'POST undrain'].sort(),
      );
      expect(actions.filter((a) => a === 'GET healthz').length).toBeGreaterThanOrEqual(1);
      for (const q of mine) {
        const url = new URL(q.url, 'http://x');
        expect(url.pathname.split('/').length).toBe(4); // /v/<id>/<action>: the id stayed one segment
        expect(url.searchParams.get('zone')).toBe(t.labels.zone);
        expect(url.hash).toBe('');
        if (q.method === 'POST') {
          expect(JSON.parse(q.body)).toEqual({ zone: t.labels.zone, id: t.id, version: '1.1.0' });
        }
        if (url.pathname.endsWith('/upgrade')) expect(url.searchParams.get('version')).toBe('1.1.0');
      }
    }
    expect(pwned(r.dir)).toEqual([]);
  });

  it('a header value with a line break is refused by the HTTP client: preflight says so, nothing is touched', async () => {
    const rec = await startRecordingServer();
    server = rec.server;
    repo = new HostileRepo(httpSpec({ header: true }), {
      targets: [
        { id: 'ok', address: `127.0.0.1:${rec.port}`, labels: { zone: 'plain; $(id) ${{ x }}' } },
        { id: 'crlf', address: `127.0.0.1:${rec.port}`, labels: { zone: 'a\r\nx-injected: yes' } },
      ],
    });
    const r = repo;
    const run = await r.cli('run', r.specPath);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /preflight: 1 target\(s\) did not answer the version step, nothing was touched: crlf \(.*header/i,
    );
    expect(rec.requests.some((q) => 'x-injected' in q.headers)).toBe(false);
    expect(requestsOf(rec.requests, 'ok').every((q) => q.headers['x-zone'] === 'plain; $(id) ${{ x }}')).toBe(true);
  });

  it('an address that is not host:port (a path, a query, a fragment, user info) is refused before any request', async () => {
    const rec = await startRecordingServer();
    server = rec.server;
    const bad = [
      `127.0.0.1:${rec.port}/v/other/upgrade?version=6.6.6&`,
      `127.0.0.1:${rec.port}#`,
      `evil.invalid@127.0.0.1:${rec.port}`,
      `127.0.0.1:${rec.port}?`,
      `127.0.0.1:${rec.port}\\@evil`,
    ];
    for (const address of bad) {
      repo = new HostileRepo(httpSpec(), { targets: [{ id: 't-1', address, labels: { zone: 'z' } }] });
      const run = await repo.cli('run', repo.specPath);
      expect(run.code, address).toBe(1);
      expect(run.stderr).toMatch(
        /nothing was touched: t-1 \(.*\{\{target\.address\}\} of target t-1 is .* not a host or host:port/,
      );
      repo.remove();
      repo = undefined;
    }
    expect(rec.requests).toEqual([]);
  });

  it('a value that is a dot segment (".." or ".") in a URL path is refused: it would move the path', async () => {
    const rec = await startRecordingServer();
    server = rec.server;
    repo = new HostileRepo(httpSpec({ path: '{{target.labels.zone}}' }), {
      targets: [{ id: 't-1', address: `127.0.0.1:${rec.port}`, labels: { zone: '..' } }],
    });
    const run = await repo.cli('run', repo.specPath);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/\{\{target\.labels\.zone\}\} of target t-1 is "\.\."/);
    expect(rec.requests).toEqual([]);
  });
});

describe('hostile spec fields are refused with a location, or kept as inert text', () => {
  it('component is free text: kept exactly; {{component}} reaches steps as one argv element (above)', () => {
    const text = commandSpec().replace('component: fleet-agent', 'component: "fleet agent; $(id) ${{ x }}"');
    const result = parseSpec(text, 'rollouts/svc.yaml');
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.spec.component).toBe('fleet agent; $(id) ${{ x }}');
  });

  const base = commandSpec();
  const cases: [string, string, RegExp][] = [
    ['version', base.replace('version: 1.1.0', 'version: "1.1.0; rm -rf /"'), /rollouts\/svc\.yaml:5:\d+ version:/],
    ['version', base.replace('version: 1.1.0', 'version: "1.1.0\\n2.0.0"'), /rollouts\/svc\.yaml:5:\d+ version:/],
    ['name', base.replace('name: svc', 'name: "../../etc/passwd"'), /rollouts\/svc\.yaml:3:\d+ name:/],
    ['name', base.replace('name: svc', 'name: "svc; rm -rf /"'), /rollouts\/svc\.yaml:3:\d+ name:/],
    ['name', base.replace('name: svc', 'name: "${{ github.token }}"'), /rollouts\/svc\.yaml:3:\d+ name:/],
    ['inventory.file', base.replace('file: ../inventory.json', 'file: "../../../../etc/passwd"'), /./],
  ];
  for (const [field, text, where] of cases) {
    it(`${field}: ${JSON.stringify(text.split('\n').find((l) => l.startsWith(field.split('.')[0]!)) ?? '')}`, () => {
      const result = parseSpec(text, 'rollouts/svc.yaml');
      if (field === 'inventory.file') {
        // A path is data: it is read as a file (or refused when missing) and never executed.
        expect(result.ok).toBe(true);
        return;
      }
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.errors.map(formatIssue).join('\n')).toMatch(where);
    });
  }
});
