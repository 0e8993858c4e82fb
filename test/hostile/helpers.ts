/**
 * Helpers for the hostile-input tests: a throw-away git repository with a spec
 * and a JSON inventory, the bundled CLI run against it, a command that records
 * the argv and environment it gets, and an HTTP server that records requests.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitIn } from '../helpers/git.js';
import { CLI, type CliResult } from '../helpers/rollout-repo.js';

export class HostileRepo {
  readonly dir = mkdtempSync(join(tmpdir(), 'fleetgate-hostile-'));
  readonly specPath = 'rollouts/svc.yaml';

  constructor(spec: string, inventory: unknown, extraEnv: NodeJS.ProcessEnv = {}) {
    this.env = extraEnv;
    mkdirSync(join(this.dir, 'rollouts'));
    writeFileSync(join(this.dir, this.specPath), spec);
    writeFileSync(join(this.dir, 'inventory.json'), JSON.stringify(inventory, null, 2));
    writeFileSync(join(this.dir, '.gitignore'), '.fleetgate/\nrecord.*\n');
    this.git('init', '--quiet', '--initial-branch=main');
    this.git('add', '.');
    this.git('commit', '--quiet', '-m', 'initial');
  }

  private readonly env: NodeJS.ProcessEnv;

  git(...args: string[]): string {
    return gitIn(this.dir, ...args);
  }

  cli(...args: string[]): Promise<CliResult> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        cwd: this.dir,
        env: { ...process.env, CI: '1', NO_COLOR: '1', ...this.env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    });
  }

  read(rel: string): string {
    return readFileSync(join(this.dir, rel), 'utf8');
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A command step program: appends `{action, argv, env}` to `record.jsonl` and
 * keeps each target's version in a file of `record.db/` named by a hash of the
 * target id (`version` prints it, `upgrade` sets it to its last argument).
 */
export const RECORDER = `import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
const [log, db, action, ...rest] = process.argv.slice(2);
appendFileSync(log, JSON.stringify({ action, argv: rest, env: { id: process.env.FLEETGATE_TARGET_ID, address: process.env.FLEETGATE_TARGET_ADDRESS, zone: process.env.REC_ZONE } }) + '\\n');
mkdirSync(db, { recursive: true });
const file = db + '/' + createHash('sha1').update(rest[0] ?? '').digest('hex');
let version = '1.0.0';
try { version = readFileSync(file, 'utf8'); } catch {}
if (action === 'version') process.stdout.write(version);
if (action === 'upgrade') writeFileSync(file, rest[rest.length - 1]);
if (action === 'fail') { process.stderr.write('failing on purpose; token=' + (process.env.FAKE_STEP_SECRET ?? '') + '\\n'); process.exit(3); }
`;

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * A loopback server that records every request and plays a fleet: per path
 * prefix `/v/<id>/`, `version` answers `{version}`, `upgrade` sets it from the
 * `version` query parameter; everything else answers 200.
 */
export async function startRecordingServer(): Promise<{ server: Server; port: number; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const versions = new Map<string, string>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const url = new URL(req.url ?? '/', 'http://recorder.invalid');
      const parts = url.pathname.split('/');
      const id = parts[2] === undefined ? '' : decodeURIComponent(parts[2]);
      const action = parts[3];
      if (action === 'upgrade') versions.set(id, url.searchParams.get('version') ?? '?');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(action === 'version' ? { version: versions.get(id) ?? '1.0.0' } : { ok: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port, requests };
}
