/**
 * The `ssh` step kind against real OpenSSH servers (Debian `openssh-server`, one sshd per fake
 * VM on 127.0.0.1, key-only auth, host keys pinned): the quoting holds against hostile
 * arguments, `rollouts/examples/vm-ssh.yaml`'s own steps roll 6 VMs, a broken version trips the
 * breaker and is rolled back, a host key that does not match fails with a clear error and
 * touches nothing, and each run opens at most one SSH connection per target (counted from
 * sshd's own log).
 *
 * The example runs as written except for what a test machine must change: the inventory
 * (127.0.0.1, each VM's port and host key), the user (root: the tests run as root) and the
 * waits (observation windows, the drain's grace, verify's budget), which would make the test
 * take an hour. Its steps, ssh settings' shape, key variable and pinning are the example's.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { loadSpec } from '../../src/spec/parse.js';
import { createStepRunner } from '../../src/engine/steps.js';
import { systemClock } from '../../src/util/clock.js';
import type { SshSpec } from '../../src/spec/types.js';
import { locateSshd, startSshFleet, type SshFleet } from './helpers/sshd.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli.js');
const EXAMPLE = join(ROOT, 'rollouts/examples/vm-ssh.yaml');
const sshd = locateSshd();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(dir: string, env: Record<string, string>, ...args: string[]): Promise<Run> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => res({ code: code ?? -1, stdout, stderr }));
  });
}

/** A scratch git repository holding the example spec with the test machine's inventory, user and waits. */
function repoWithExample(fleet: SshFleet, o: { version: string; hostKeyOf?: (i: number) => string }): string {
  const dir = mkdtempSync(join(tmpdir(), 'fg-vmssh-'));
  mkdirSync(join(dir, 'rollouts/inventory'), { recursive: true });
  const doc = parseDocument(readFileSync(EXAMPLE, 'utf8'));
  doc.set('version', o.version);
  doc.setIn(['ssh', 'user'], 'root');
  doc.setIn(['ssh', 'port'], '{{target.labels.ssh-port}}');
  doc.setIn(['steps', 'drain', 'grace'], '0s');
  doc.setIn(['steps', 'verify', 'timeout'], '3s');
  doc.setIn(['steps', 'verify', 'interval'], '0.5s');
  for (const i of [0, 1]) doc.setIn(['tiers', i, 'strategy', 'observe'], '1s');
  doc.delete('hooks'); // its backup script is the user's
  writeFileSync(join(dir, 'rollouts/vm-ssh.yaml'), doc.toString());
  const targets = fleet.vms.slice(0, 6).map((vm, i) => ({
    id: vm.id,
    address: '127.0.0.1',
    labels: {
      env: i < 2 ? 'staging' : 'production',
      'ssh-port': String(vm.port),
      'ssh-host-key': o.hostKeyOf?.(i) ?? vm.hostKey,
    },
  }));
  writeFileSync(join(dir, 'rollouts/inventory/vms.yaml'), JSON.stringify({ targets }, null, 2));
  const git = (...a: string[]) => spawn('git', a, { cwd: dir, stdio: 'ignore' });
  git('init', '-q');
  return dir;
}

describe.skipIf(sshd === undefined)('ssh steps over a real sshd (Debian openssh-server)', () => {
  let fleet: SshFleet;
  let vms: SshFleet['vms'];
  const env = (): Record<string, string> => ({
    SSH_PRIVATE_KEY: fleet.privateKey,
    GIT_AUTHOR_NAME: 'test',
    GIT_AUTHOR_EMAIL: 'test@example.net',
    GIT_COMMITTER_NAME: 'test',
    GIT_COMMITTER_EMAIL: 'test@example.net',
  });
  const dirs: string[] = [];

  beforeAll(async () => {
    // Six VMs for the rollouts, a seventh for the quoting test (so its connection is not counted).
    fleet = await startSshFleet(sshd!, 7, '1.26.1-1');
    vms = fleet.vms.slice(0, 6);
  }, 60_000);
  afterAll(async () => {
    await fleet?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('delivers every hostile argument to the remote program unchanged, one argument each', async () => {
    const vm = fleet.vms[6]!;
    const settings: SshSpec = {
      host: '127.0.0.1',
      port: String(vm.port),
      user: 'root',
      identity: { kind: 'env', name: 'SSH_PRIVATE_KEY' },
      knownHosts: { files: [], hosts: [`[127.0.0.1]:${vm.port} ${vm.hostKey}`] },
      strictHostKeyChecking: true,
      connectTimeoutMs: 5_000,
    };
    process.env.SSH_PRIVATE_KEY = fleet.privateKey;
    const runner = createStepRunner({ clock: systemClock, baseDir: ROOT, ssh: settings });
    const payloads = [
      '$(touch /tmp/fg-pwned)',
      '`touch /tmp/fg-pwned`',
      'a; touch /tmp/fg-pwned',
      'line1\nline2',
      'it\'s "quoted"',
      '*',
      '~',
      '~root',
      '$HOME ${PATH}',
      '&& || | > <',
      '\\',
      '',
      '-rf',
      "'; touch /tmp/fg-pwned; '",
    ];
    const vars = {
      target: { id: vm.id, address: '127.0.0.1', labels: {} },
      version: '1',
      rollout: { name: 'q' },
      component: 'c',
    };
    const r = await runner.run(
      { kind: 'ssh', ssh: ['/usr/bin/printf', '<%s>', ...payloads], timeoutMs: 10_000, retries: 0, intervalMs: 100 },
      vars,
      { extractVersion: true },
    );
    await runner.close();
    expect(r.message).toContain('exit 0');
    expect(r.version).toBe(payloads.map((p) => `<${p}>`).join(''));
    expect(() => readFileSync('/tmp/fg-pwned')).toThrow();
  });

  it('rolls the 6 VMs with the example steps, one SSH connection per VM per run', async () => {
    const dir = repoWithExample(fleet, { version: '1.26.2' });
    dirs.push(dir);
    await loadSpec(join(dir, 'rollouts/vm-ssh.yaml')); // the copy is still a valid spec
    const before = vms.map((v) => v.connections());
    const pre = await cli(dir, env(), 'preflight', 'rollouts/vm-ssh.yaml');
    expect(pre.code, pre.stderr).toBe(0);
    const afterPreflight = vms.map((v) => v.connections());
    const run = await cli(dir, env(), 'run', 'rollouts/vm-ssh.yaml', '--yes');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const after = vms.map((v) => v.connections());
    for (const vm of vms) {
      expect(vm.version()).toBe('1.26.2-1');
      expect(vm.drained()).toBe(false);
    }
    const preflightConns = afterPreflight.map((n, i) => n - before[i]!);
    const runConns = after.map((n, i) => n - afterPreflight[i]!);
    const steps = vms.map((v) => v.commands().length);
    process.stdout.write(
      `\nSSH connections per VM — preflight: ${preflightConns.join(',')}; run: ${runConns.join(',')} (tool calls on each VM: ${steps.join(',')})\n`,
    );
    vms.forEach((vm, i) => {
      if (preflightConns[i]! > 1 || runConns[i]! > 1)
        process.stdout.write(`${vm.id}'s sshd log:\n${readFileSync(join(vm.root, '../sshd.log'), 'utf8')}`);
    });
    // One connection per VM per run (53 for this rollout without multiplexing), and one for preflight.
    expect(preflightConns).toEqual(vms.map(() => 1));
    expect(runConns).toEqual(vms.map(() => 1));
  }, 120_000);

  it('a broken version fails its health checks and pauses the rollout, and the rollback returns the touched VMs', async () => {
    fleet.breakVersion('1.26.3');
    const dir = repoWithExample(fleet, { version: '1.26.3' });
    dirs.push(dir);
    const before = vms.map((v) => v.connections());
    const run = await cli(dir, env(), 'run', 'rollouts/vm-ssh.yaml', '--yes');
    // Paused: staging's first wave holds both staging VMs, and with no failure tolerance its first failed
    // VM fails the wave (the breaker's 2 in a row would trip on the second).
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(3);
    expect(`${run.stdout}${run.stderr}`).toMatch(/WaveFailureToleranceExceeded|CircuitBreaker/);
    const touched = vms.filter((v) => v.version() === '1.26.3-1');
    expect(touched.length).toBeGreaterThanOrEqual(1);
    expect(vms.slice(2).every((v) => v.version() === '1.26.2-1')).toBe(true); // production untouched
    const back = await cli(dir, env(), 'resume', 'rollouts/vm-ssh.yaml', '--decision', 'rollback', '--yes');
    expect([0, 4], `${back.stdout}\n${back.stderr}`).toContain(back.code);
    for (const vm of vms) expect(vm.version()).toBe('1.26.2-1');
    const conns = vms.map((v, i) => v.connections() - before[i]!);
    process.stdout.write(`\nSSH connections per VM — broken run + rollback run: ${conns.join(',')}\n`);
    // At most one per VM per run: the broken run touches staging only, the rollback run every VM it
    // must return (and reads the versions of the others).
    for (const n of conns) expect(n).toBeLessThanOrEqual(2);
  }, 120_000);

  it('a host key that does not match fails with an error naming the host, and touches nothing', async () => {
    const dir = repoWithExample(fleet, {
      version: '1.26.4',
      hostKeyOf: (i) => (i === 0 ? vms[1]!.hostKey : vms[i]!.hostKey),
    });
    dirs.push(dir);
    const calls = vms.map((v) => v.commands().length);
    const run = await cli(dir, env(), 'run', 'rollouts/vm-ssh.yaml', '--yes');
    expect(run.code).not.toBe(0);
    expect(`${run.stdout}${run.stderr}`).toMatch(
      /host key verification failed for target vm-1 \(root@127\.0\.0\.1:\d+\)/,
    );
    expect(vms[0]!.commands().length).toBe(calls[0]);
    expect(vms[0]!.version()).toBe('1.26.2-1');
  }, 120_000);
});
