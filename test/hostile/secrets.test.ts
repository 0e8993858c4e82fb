/**
 * Secrets never appear in anything Fleetgate writes. A rollout runs with a fake
 * step secret in the environment (used by a command step, and printed by one
 * that fails) and a fake Prometheus bearer token (`bearerTokenEnv`; the fake
 * server echoes the Authorization header back in an error body). Then stdout,
 * stderr, the events file, the result file, the state file, `fleetgate status`
 * and every commit (`git log -p`) are searched for both: never present. The
 * secrets were used: the step saw its variable, the server saw the token.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HostileRepo, RECORDER } from './helpers.js';

const STEP_SECRET = 'fgSTEPsecret-7d1c0b5e9a';
const PROM_TOKEN = 'fgPROMtoken-3f9e2a61c4';

let repo: HostileRepo | undefined;
let server: Server | undefined;
afterEach(() => {
  repo?.remove();
  repo = undefined;
  server?.close();
  server = undefined;
});

/** A Prometheus that wants the token, answers `up` with 0.5 and echoes the Authorization header for `echo`. */
async function fakePrometheus(): Promise<{ port: number; authorizations: string[] }> {
  const authorizations: string[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const auth = req.headers.authorization ?? '';
      authorizations.push(auth);
      const query =
        new URLSearchParams(body).get('query') ?? new URL(req.url ?? '/', 'http://p').searchParams.get('query');
      res.setHeader('content-type', 'application/json');
      if (auth !== `Bearer ${PROM_TOKEN}`) {
        res.writeHead(401).end(JSON.stringify({ status: 'error', errorType: 'unauthorized', error: 'no token' }));
        return;
      }
      if (query?.includes('echo')) {
        // A hostile or careless backend: the credentials come back in the error.
        res
          .writeHead(400)
          .end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: `rejected for ${auth}` }));
        return;
      }
      const now = Date.now() / 1000;
      res.writeHead(200).end(
        JSON.stringify({
          status: 'success',
          data: { resultType: 'vector', result: [{ metric: {}, value: [now, '0.5'] }] },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, authorizations };
}

const step = (action: string) =>
  `{ run: [${JSON.stringify(process.execPath)}, ./recorder.mjs, ../record.jsonl, ./record.db, ${action}, '{{target.id}}', '{{version}}'] }`;

describe('secrets never appear in output, events, state, status or git', () => {
  it('a step secret (env) and a Prometheus bearer token: used, and found nowhere Fleetgate writes', async () => {
    const prom = await fakePrometheus();
    const spec = `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: svc
component: fleet-agent
version: 1.1.0
inventory: { file: ../inventory.json }
tiers:
  - name: all
    strategy:
      canary: 0
      waves: 1
      maxUnavailable: 1
      observe: 1s
      failureTolerance: "100%"
      circuitBreaker: { maxConsecutiveFailures: 10 }
steps:
  version: ${step('version')}
  drain: ${step("'{{target.labels.drain}}'")}
  upgrade: ${step('upgrade')}
  verify: ${step('verify')}
hooks:
  after: { run: [${JSON.stringify(process.execPath)}, ./recorder.mjs, ../record.jsonl, ./record.db, fail, hook] }
analysis:
  provider:
    prometheus: { address: 'http://127.0.0.1:${prom.port}', bearerTokenEnv: FAKE_PROM_TOKEN, timeout: 2s, retries: 0 }
  noData: pause
  metrics:
    - { name: up-metric, query: up, threshold: "< 1", severity: warning, interval: 200ms }
    - { name: echo-metric, query: echo, threshold: "< 1", severity: warning, interval: 200ms }
`;
    repo = new HostileRepo(
      spec,
      {
        targets: [
          { id: 't-1', address: 'h1', labels: { drain: 'drain' } },
          { id: 't-2', address: 'h2', labels: { drain: 'fail' } },
        ],
      },
      { FAKE_STEP_SECRET: STEP_SECRET, FAKE_PROM_TOKEN: PROM_TOKEN },
    );
    const r = repo;
    writeFileSync(join(r.dir, 'rollouts', 'recorder.mjs'), RECORDER);
    r.git('add', '.');
    r.git('commit', '--quiet', '-m', 'recorder');

    const outputs: string[] = [];
    for (const args of [
      ['run', r.specPath, '--events', 'events.jsonl', '--result-file', 'result.json'],
      ['run', r.specPath, '--json'],
      ['resume', r.specPath, '--decision', 'continue', '--events', 'events.jsonl'],
      ['status', r.specPath],
      ['status', r.specPath, '--json'],
    ]) {
      const res = await r.cli(...args);
      outputs.push(res.stdout, res.stderr);
    }
    outputs.push(r.read('events.jsonl'), r.read('result.json'), r.read('rollouts/svc.state.yaml'));
    outputs.push(r.git('log', '-p', '--all', '--format=%H %an %s%n%b'));

    // They were used …
    expect(prom.authorizations).toContain(`Bearer ${PROM_TOKEN}`);
    const recorded = r.read('record.jsonl');
    expect(recorded.length).toBeGreaterThan(0);
    // … the failing step printed its secret, the backend echoed the token …
    const all = outputs.join('\n');
    expect(all).toMatch(/failing on purpose; token=\*\*\*/);
    expect(all).toMatch(/rejected for Bearer \*\*\*|echo-metric/);
    // … and neither is anywhere Fleetgate wrote.
    expect(all).not.toContain(STEP_SECRET);
    expect(all).not.toContain(PROM_TOKEN);
    expect(all).not.toContain(STEP_SECRET.slice(2, 14));
    expect(all).not.toContain(PROM_TOKEN.slice(2, 14));
  });
});
