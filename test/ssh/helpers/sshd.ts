/**
 * Real OpenSSH servers (Debian `openssh-server`) on 127.0.0.1 for the ssh step tests: one
 * sshd per fake VM, each with its own sshd_config, host key, free port and log (`-E`), key-only
 * auth against a client key pair generated for the test run. Each host's PATH starts with the
 * fake VM tools (`fake-vm.sh`) working on its own folder. Never the system service.
 *
 * Locating sshd goes through `scripts/sshd.sh`: on a developer machine without it,
 * {@link locateSshd} returns `undefined` after a LOUD message and the tests skip; as root (CI)
 * it installs the packages, and in CI (`CI` set) a missing sshd fails the run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';
import { freePort, startServerProcess, type ServerProcess } from '../../helpers/server-process.js';

const SCRIPT = resolve(import.meta.dirname, '../../../scripts/sshd.sh');
const FAKE_VM = resolve(import.meta.dirname, 'fake-vm.sh');
const TOOLS = ['dpkg-query', 'apt-get', 'systemctl', 'sudo', 'env', 'touch', 'rm'];

/**
 * The sshd binary, or `undefined` (after a loud message) when it is missing and cannot be installed.
 * @throws Error in CI (`CI` set) when it is missing and cannot be installed
 */
export function locateSshd(): string | undefined {
  const run = spawnSync('bash', [SCRIPT, ...(process.getuid?.() === 0 ? [] : ['--check'])], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  const path = run.status === 0 ? run.stdout.trim() : undefined;
  if (path === undefined && process.env.CI)
    throw new Error(`OpenSSH is required in CI and scripts/sshd.sh could not provide it:\n${run.stderr}`);
  if (path === undefined) {
    process.stderr.write(
      `\n${'!'.repeat(78)}\n!! SKIPPING the sshd tests: openssh-server is not installed.\n!! ${run.stderr.trim().split('\n').join('\n!! ')}\n${'!'.repeat(78)}\n\n`,
    );
  }
  return path;
}

function keygen(file: string): string {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'fleetgate-test', '-f', file]);
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr.toString()}`);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

/** One fake VM behind its own sshd. */
export interface FakeVm {
  id: string;
  port: number;
  /** Its host public key: `ssh-ed25519 AAAA…`. */
  hostKey: string;
  /** Its folder (`nginx.version`, `var/www/maintenance.flag`, `commands.log`). */
  root: string;
  version(): string;
  drained(): boolean;
  /** The tool calls it received, one line each: `name [arg] [arg]…`. */
  commands(): string[];
  /** SSH connections sshd accepted (its log's "Accepted publickey" lines). */
  connections(): number;
}

export interface SshFleet {
  dir: string;
  vms: FakeVm[];
  /** The client's private key (OpenSSH format). */
  privateKey: string;
  /** Versions whose service does not come up (`systemctl is-active` fails). */
  breakVersion(version: string): void;
  stop(): Promise<void>;
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise<boolean>((res) => {
    const c = createConnection({ port, host: '127.0.0.1' }, () => {
      c.destroy();
      res(true);
    });
    c.on('error', () => res(false));
  });
}

/** Starts `count` sshd processes, each a fake VM at `startVersion` (a Debian version like `1.26.1-1`). */
export async function startSshFleet(sshd: string, count: number, startVersion: string): Promise<SshFleet> {
  const dir = await mkdtemp('/tmp/fg-sshd-');
  // sshd's privilege separation needs this folder (Debian's service creates it at boot).
  mkdirSync('/run/sshd', { recursive: true });
  const privateKeyFile = join(dir, 'client_key');
  writeFileSync(join(dir, 'authorized_keys'), `${keygen(privateKeyFile)}\n`);
  const procs: ServerProcess[] = [];
  const vms: FakeVm[] = [];
  for (let i = 1; i <= count; i++) {
    const id = `vm-${i}`;
    const home = join(dir, id);
    const root = join(home, 'root');
    const bin = join(home, 'bin');
    mkdirSync(root, { recursive: true });
    mkdirSync(bin);
    for (const tool of TOOLS) symlinkSync(FAKE_VM, join(bin, tool));
    writeFileSync(join(root, 'nginx.version'), `${startVersion}\n`);
    const hostKey = keygen(join(home, 'host_key')).split(' ').slice(0, 2).join(' ');
    const port = await freePort();
    const log = join(home, 'sshd.log');
    writeFileSync(
      join(home, 'sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(home, 'host_key')}`,
        `PidFile ${join(home, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        'UsePAM no',
        'StrictModes no',
        'LogLevel VERBOSE',
        'MaxSessions 20',
        // SHLVL=1: bash (root's login shell) sources ~/.bashrc for ssh commands only at level 1, and
        // this machine's rc files are not the fake VM's.
        `SetEnv FAKEVM_ROOT=${root} PATH=${bin}:/usr/bin:/bin SHLVL=1`,
        '',
      ].join('\n'),
    );
    const p = startServerProcess(sshd, ['-D', '-f', join(home, 'sshd_config'), '-E', log], { name: `sshd ${id}` });
    procs.push(p);
    await p.waitUntil(`did not listen on port ${port}`, 5_000, () => listening(port), {
      describe: () => (existsSync(log) ? readFileSync(log, 'utf8') : 'no sshd log'),
      intervalMs: 50,
    });
    vms.push({
      id,
      port,
      hostKey,
      root,
      version: () => readFileSync(join(root, 'nginx.version'), 'utf8').trim(),
      drained: () => existsSync(join(root, 'var/www/maintenance.flag')),
      commands: () =>
        existsSync(join(root, 'commands.log'))
          ? readFileSync(join(root, 'commands.log'), 'utf8').split('\n').filter(Boolean)
          : [],
      connections: () =>
        readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => l.includes('Accepted publickey')).length,
    });
  }
  return {
    dir,
    vms,
    privateKey: readFileSync(privateKeyFile, 'utf8'),
    breakVersion: (v) => writeFileSync(join(dir, 'broken-versions'), `${v}\n`, { flag: 'a' }),
    async stop() {
      await Promise.all(procs.map((p) => p.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
