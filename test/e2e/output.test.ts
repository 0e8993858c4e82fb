/**
 * Output hygiene through the bundled CLI (issue 9, part 10): colour only on a
 * terminal (NO_COLOR and FORCE_COLOR honoured), errors as JSON with `--json`,
 * and one line per pause. Real agent processes, real git repositories.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, RolloutRepo, specText, type CliResult } from '../helpers/rollout-repo.js';
import { acquireLock } from '../../src/state/lock.js';

const ESC = '\x1b[';
const BREAKER = 'circuit breaker tripped: 2 consecutive target failures';

/**
 * A fleet on 1.1.0 asked for 1.2.0-broken: its first wave's two targets go down at once and
 * both fail, which trips the breaker (one at a time, the first failure alone would stop the wave).
 */
function brokenRollout(): Promise<RolloutRepo> {
  return RolloutRepo.create({
    count: 4,
    version: '1.1.0',
    spec: { version: '1.2.0-broken', canary: 0, waves: 2, maxUnavailable: 2, verifyTimeout: '600ms' },
  });
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** Every non-empty stdout line is JSON; returns them parsed (throws on anything else). */
function jsonLines(stdout: string): Record<string, unknown>[] {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

interface JsonError {
  name: string;
  reason: string;
  message: string;
  exitCode: number;
  issues?: { file: string; line: number; col: number; path: string; message: string }[];
}

/** `--json` on failure: only JSON on stdout, the last line `{error}` with the process's exit code. */
function expectJsonError(r: CliResult, code: number): JsonError {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout.trim(), r.stderr).not.toBe('');
  let lines: Record<string, unknown>[] = [];
  expect(() => (lines = jsonLines(r.stdout)), r.stdout).not.toThrow();
  const last = lines.at(-1) as { error?: JsonError };
  expect(last.error, r.stdout).toBeDefined();
  expect(last.error).toMatchObject({ exitCode: code });
  expect(typeof last.error!.name).toBe('string');
  expect(typeof last.error!.reason).toBe('string');
  expect(typeof last.error!.message).toBe('string');
  // Only the last line is an error; anything before it is an event.
  for (const l of lines.slice(0, -1)) expect(typeof l.event).toBe('string');
  return last.error!;
}

describe('a paused rollout', () => {
  let repo: RolloutRepo;
  let pausing: CliResult;

  beforeAll(async () => {
    repo = await brokenRollout();
    // CI set, NO_COLOR not: picocolors alone would colour this pipe.
    pausing = await repo.cliWith({ NO_COLOR: undefined, FORCE_COLOR: undefined }, 'run', repo.specPath);
  });
  afterAll(async () => {
    await repo?.close();
  });

  it('pauses on the breaker and says so once, without colour codes on a pipe in CI', () => {
    expect(pausing.code, pausing.stderr).toBe(3);
    expect(repo.state().phase).toBe('Paused');
    const all = `${pausing.stdout}\n${pausing.stderr}`;
    expect(count(all, BREAKER), all).toBe(1);
    expect(count(all, '⏸'), all).toBe(1);
    expect(pausing.stderr).toMatch(/paused \(CircuitBreakerTripped\): circuit breaker tripped/);
    expect(all).not.toContain(ESC);
  });

  const plain: [string, Record<string, string | undefined>][] = [
    ['CI=1', { CI: '1', NO_COLOR: undefined, FORCE_COLOR: undefined }],
    ['CI=1 NO_COLOR=1', { CI: '1', NO_COLOR: '1', FORCE_COLOR: undefined }],
    ['TERM=xterm-256color', { CI: undefined, NO_COLOR: undefined, FORCE_COLOR: undefined, TERM: 'xterm-256color' }],
    [
      'TERM=xterm-256color NO_COLOR=1',
      { CI: undefined, NO_COLOR: '1', FORCE_COLOR: undefined, TERM: 'xterm-256color' },
    ],
    ['FORCE_COLOR=1 NO_COLOR=1 (NO_COLOR wins)', { CI: '1', NO_COLOR: '1', FORCE_COLOR: '1' }],
  ];
  for (const [label, env] of plain) {
    it(`status to a pipe with ${label} has no escape sequence at all`, async () => {
      const r = await repo.cliWith(env, 'status', repo.specPath);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stdout).toMatch(/phase Paused/);
      expect(r.stdout).toMatch(/┌/); // the waves table is there, borders and all
      expect(r.stdout).not.toContain(ESC);
      expect(r.stderr).not.toContain(ESC);
    });
  }

  it('status to a pipe with FORCE_COLOR=1 is coloured', async () => {
    const r = await repo.cliWith({ CI: undefined, NO_COLOR: undefined, FORCE_COLOR: '1' }, 'status', repo.specPath);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toContain(ESC);
  });

  it('run --json on a paused rollout prints a JSON error with exit code 3', async () => {
    const r = await repo.cli('run', repo.specPath, '--json');
    const error = expectJsonError(r, 3);
    expect(error).toMatchObject({ name: 'RolloutPausedError', reason: 'Paused' });
    expect(error.message).toMatch(/is paused: circuit breaker tripped/);
  });

  it('the paused run names the spec path it was given in its resume hint (not rollouts/<name>.yaml)', async () => {
    const written = `./${repo.specPath}`;
    const r = await repo.cli('run', written, '--json');
    const error = expectJsonError(r, 3);
    expect(error.message).toContain(`decide with: fleetgate resume ${written} --decision continue|rollback|abort`);
  });

  it('run --json while another run holds the lock prints a JSON error with exit code 1', async () => {
    const lock = await acquireLock(join(repo.dir, 'rollouts', '.fleetgate', 'svc.lock'), { owner: 'output test' });
    try {
      const r = await repo.cli('run', repo.specPath, '--json');
      const error = expectJsonError(r, 1);
      expect(error).toMatchObject({ name: 'RolloutLockedError', reason: 'Locked' });
      expect(error.message).toMatch(/another run of this rollout is in progress \(output test/);
    } finally {
      await lock.release();
    }
  });
});

describe('--json errors', () => {
  let repo: RolloutRepo;
  beforeAll(async () => {
    repo = await RolloutRepo.create({ count: 2, version: '1.1.0', spec: { version: '1.0.5' } });
  });
  afterAll(async () => {
    await repo?.close();
  });

  it('run --json refused by the version policy prints a JSON error after its events', async () => {
    const r = await repo.cli('run', repo.specPath, '--json');
    const error = expectJsonError(r, 1);
    expect(error).toMatchObject({ name: 'VersionPolicyError', reason: 'Downgrade' });
    expect(error.message).toMatch(/refusing to downgrade 1\.1\.0 → 1\.0\.5/);
  });

  it('an unknown flag with --json is a JSON usage error (exit 2)', async () => {
    const r = await repo.cli('run', repo.specPath, '--json', '--no-such-flag');
    const error = expectJsonError(r, 2);
    expect(error.reason).toBe('commander.unknownOption');
  });

  const commands: string[][] = [
    ['run'],
    ['resume', '--decision', 'continue'],
    ['rollback'],
    ['plan'],
    ['preflight'],
    ['status'],
    ['drift'],
  ];
  for (const cmd of commands) {
    it(`${cmd[0]} --json on an invalid spec prints the issues as a JSON error (exit 1)`, async () => {
      const spec = join(repo.dir, 'rollouts', 'bad.yaml');
      writeFileSync(spec, specText({ name: 'bad', version: 'not-semver' }).replace('canary: 1', 'canary: twenty'));
      const r = await repo.cli(cmd[0]!, 'rollouts/bad.yaml', ...cmd.slice(1), '--json');
      const error = expectJsonError(r, 1);
      expect(error).toMatchObject({ name: 'SpecValidationError', reason: 'SpecInvalid' });
      expect(error.issues?.length).toBeGreaterThanOrEqual(2);
      expect(error.issues).toContainEqual(expect.objectContaining({ file: 'rollouts/bad.yaml', path: 'version' }));
      for (const i of error.issues!) expect(i.line).toBeGreaterThan(0);
    });
  }
});

describe('one line per pause', () => {
  let repo: RolloutRepo | undefined;
  afterAll(async () => {
    await repo?.close();
  });

  it('a gate that nobody approves (no terminal) is one line', async () => {
    repo = await RolloutRepo.create({
      count: 2,
      version: '1.0.0',
      spec: { version: '1.1.0', canary: 1, waves: 1, extra: 'gates: { canary: approve-canary }\n' },
    });
    const r = await repo.cli('run', repo.specPath);
    expect(r.code, r.stderr).toBe(3);
    const all = `${r.stdout}\n${r.stderr}`;
    expect(count(all, 'waiting for approval of gate "approve-canary"'), all).toBe(1);
    expect(count(all, '⏸'), all).toBe(1);
  });

  const hasScript = spawnSync('script', ['--version']).status === 0;
  if (!hasScript) console.warn('!!! `script` (util-linux) is missing: the live-terminal pause test is skipped');

  it.skipIf(!hasScript)('on a live terminal (a pseudo-terminal) the breaker pause is one line', async () => {
    await repo?.close();
    repo = await brokenRollout();
    const dir = repo.dir;
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', TERM: 'xterm' };
    delete env.CI;
    delete env.FORCE_COLOR;
    const command = `'${process.execPath}' '${CLI}' run ${repo.specPath}; echo "exit=$?"`;
    const out = await new Promise<string>((resolve) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: dir, env });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.stderr.on('data', (d: Buffer) => (text += d.toString()));
      child.on('exit', () => resolve(text));
    });
    expect(out).toMatch(/exit=3/);
    expect(repo.state().phase).toBe('Paused');
    // eslint-disable-next-line no-control-regex
    const text = out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    expect(count(text, BREAKER), text).toBe(1);
    expect(count(text, '⏸'), text).toBe(1);
  });
});
