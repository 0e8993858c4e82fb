/**
 * The `ssh` step kind's transport: how Fleetgate reaches a target with the system OpenSSH
 * client. One control master per target per run (`ControlMaster`, a socket in a per-run
 * temporary folder), reused by every step and health re-check of that target and closed
 * when the run ends (`ssh -O exit`); the private key and the pinned host keys live in that
 * folder (0600 / 0700) and are removed with it. The remote command is built from an argv
 * list, each element quoted for the remote POSIX shell by {@link quotePosixWord}.
 *
 * Nothing here goes through a local shell: `ssh` is started as argv by the caller's
 * executor (the step runner's process-group runner).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { SshSpec } from '../spec/types.js';
import { registerSecret } from '../util/secrets.js';
import { renderTemplate, type TemplateVars } from './template.js';

/** Seconds a control master stays up with no session before it exits by itself (a safety net: the run closes it). */
export const SSH_CONTROL_PERSIST_S = 300;

/** The connection settings used when a spec has `ssh` steps and no `ssh:` section. */
export const DEFAULT_SSH_SPEC: SshSpec = {
  host: '{{target.host}}',
  port: '22',
  strictHostKeyChecking: true,
  connectTimeoutMs: 10_000,
};

/** An SSH failure explained: the step message names the target, the destination and what to do. */
export class SshError extends Error {
  constructor(
    message: string,
    /** `host-key` (unknown or changed host key), `auth`, `unreachable`, `key` (unreadable key), `config`. */
    readonly reason: SshFailureReason,
  ) {
    super(message);
    this.name = 'SshError';
  }
}

export type SshFailureReason = 'host-key' | 'auth' | 'unreachable' | 'key' | 'config' | 'ssh';

/**
 * Quotes one word for a POSIX shell: wrapped in single quotes, each `'` written as `'\''`.
 * Inside single quotes a POSIX shell gives no character a meaning (no `$`, backtick, `\`,
 * glob, `~`, newline or `;` is special: POSIX.1-2017 XCU 2.2.2), so the word reaches the
 * program as exactly one unchanged argument. Written here rather than taken from `shell-quote`:
 * its `quote` switches between double quotes and backslashes by content (meant for `bash`
 * command lines), while this rule is the one the standard gives and fits on one line.
 */
export function quotePosixWord(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The command string `ssh` sends for `argv` (the remote login shell runs it with `-c`):
 * every element quoted by {@link quotePosixWord}, joined by spaces.
 * @throws Error when argv is empty or an element holds a NUL byte (no argv can carry one)
 */
export function buildRemoteCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('an ssh step needs a program to run');
  if (argv.some((a) => a.includes('\0'))) throw new Error('an ssh step argument holds a NUL byte');
  return argv.map(quotePosixWord).join(' ');
}

/** Where one target is reached: rendered from the `ssh:` section and the target. */
export interface SshDestination {
  host: string;
  port: number;
  user?: string;
  /** `user@host:port`, for messages. */
  label: string;
}

const HOST_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z_](?:[0-9A-Za-z._:%-]*[0-9A-Za-z_.])?)$/;
const USER_RE = /^[A-Za-z0-9._][A-Za-z0-9._-]*$/;

/**
 * Renders host, port and user for `vars.target`. A value that `ssh` could read as an option
 * (a leading `-`), or that is not a host name, address, port or user name, is refused.
 * @throws SshError (`config`) naming the target and the value
 */
export function resolveDestination(settings: SshSpec, vars: TemplateVars): SshDestination {
  const id = vars.target.id;
  const host = renderTemplate(settings.host, vars).replace(/^\[(.*)\]$/, '$1');
  if (!HOST_RE.test(host) || host.startsWith('-'))
    throw new SshError(`ssh host of target ${id} is ${JSON.stringify(host)}, not a host name or address`, 'config');
  const portText = renderTemplate(settings.port, vars);
  const port = Number(portText);
  if (!/^[0-9]{1,5}$/.test(portText) || port < 1 || port > 65535)
    throw new SshError(`ssh port of target ${id} is ${JSON.stringify(portText)}, not a port (1-65535)`, 'config');
  const user = settings.user === undefined ? undefined : renderTemplate(settings.user, vars);
  if (user !== undefined && !USER_RE.test(user))
    throw new SshError(`ssh user of target ${id} is ${JSON.stringify(user)}, not a user name`, 'config');
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { host, port, ...(user !== undefined && { user }), label: `${user ? `${user}@` : ''}${hostPart}:${port}` };
}

/**
 * Explains what `ssh` printed when it failed (exit 255) for a person: which host, what is
 * wrong and how to fix it. `undefined` when the output matches no known failure.
 */
export function explainSshFailure(stderr: string, target: string, dest: SshDestination): SshError | undefined {
  const where = `target ${target} (${dest.label})`;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/i.test(stderr)) {
    return new SshError(
      `host key verification failed for ${where}: the host's key does not match the key pinned for it. ` +
        'Nothing was run. If the host was reinstalled, check its new key out of band and update ssh.knownHosts ' +
        '(file, hosts, or the inventory label); otherwise treat it as a possible man-in-the-middle.',
      'host-key',
    );
  }
  if (/Host key verification failed|No .*host key is known/i.test(stderr)) {
    return new SshError(
      `host key verification failed for ${where}: no key is pinned for this host and strict host key checking is on. ` +
        `Nothing was run. Pin it: add its known_hosts line (from \`ssh-keyscan -p ${dest.port} ${dest.host}\`, ` +
        'checked against the host out of band) to ssh.knownHosts.file or ssh.knownHosts.hosts, or put its key in ' +
        'the inventory label named by ssh.knownHosts.label.',
      'host-key',
    );
  }
  if (/Permission denied \(|Too many authentication failures|no mutual signature/i.test(stderr)) {
    return new SshError(
      `authentication failed for ${where}: the server refused the key. Check ssh.identity (the key, or the ` +
        "environment variable holding it), ssh.user, and the user's ~/.ssh/authorized_keys on the host.",
      'auth',
    );
  }
  if (/Load key .*:|invalid format|error in libcrypto|bad permissions/i.test(stderr)) {
    return new SshError(
      `the private key for ${where} cannot be used: ${firstLine(stderr)}. An OpenSSH or PEM private key is ` +
        'expected, with its line breaks (a GitHub secret keeps them when pasted whole).',
      'key',
    );
  }
  if (
    /Connection refused|Connection timed out|timed out during banner|No route to host|Network is unreachable|Could not resolve hostname|Name or service not known|Connection closed by|Connection reset/i.test(
      stderr,
    )
  ) {
    return new SshError(`cannot reach ${where}: ${firstLine(stderr)}`, 'unreachable');
  }
  return undefined;
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '' && !l.startsWith('Warning: Permanently added')) ?? 'no output'
  );
}

/**
 * What the transport needs to run a program: the step runner's process-group executor.
 * `daemonizes` marks a program that backgrounds itself on success (`ssh -f`): after a clean
 * exit, what it left in its process group must not be ended (the backgrounded master is still
 * in the group for a moment, until its `setsid()`).
 */
export type SshExec = (
  file: string,
  args: string[],
  o: { timeoutMs: number; signal?: AbortSignal; daemonizes?: boolean },
) => Promise<{ stdout: string; stderr: string; exitCode: number | null; failed?: string }>;

export interface SshTransportOptions {
  /** Folder relative key and known_hosts paths resolve against (the spec file's folder). */
  baseDir: string;
  /** Environment the key variable is read from. */
  env: NodeJS.ProcessEnv;
  exec: SshExec;
  /** The ssh client (default `ssh` from PATH). */
  sshBinary?: string;
}

/** The argv of one `ssh` invocation that runs a remote command through the target's master. */
export interface SshInvocation {
  file: string;
  /** Options and destination; the caller appends the remote command as the last element. */
  args: string[];
  dest: SshDestination;
  /** The target's master socket the invocation goes through. */
  controlPath: string;
}

export interface SshTransport {
  /**
   * Makes sure the target's control master is up (opening it on first use: one SSH
   * connection per target per run) and returns the invocation that runs through it.
   * @throws SshError with a message that names the target and what to do (host key, auth, unreachable, key)
   */
  connect(vars: TemplateVars, signal?: AbortSignal): Promise<SshInvocation>;
  /**
   * Tells the transport what an invocation printed on stderr. When `ssh` could not reach the
   * master through its socket (it then connected on its own), the socket is dropped so that the
   * target's next step opens a new master instead of connecting on its own again.
   */
  noteOutput(invocation: SshInvocation, stderr: string): void;
  /** Closes every master (`ssh -O exit`) and removes the run's key and socket folder. Idempotent. */
  close(): Promise<void>;
}

/** What `ssh` prints when a ControlPath socket is there but no master answers on it. */
const MASTER_UNREACHABLE_RE = /Control socket connect\(|ControlSocket .* already exists/;

interface Master {
  controlPath: string;
  /** Set while the master is being started: every step of the target waits for the same start. */
  knownHostsFile?: string;
  opening?: Promise<void>;
  dest: SshDestination;
}

/**
 * Creates the transport of one run. Nothing is written until the first `connect`: then a
 * temporary folder (0700, under `/tmp` so socket paths stay far below the ~104-byte limit of
 * unix socket names) receives the key (0600) and the known_hosts file. The folder is also
 * removed when the process exits without `close()` (an uncaught error), and a master left
 * behind by a killed process exits after {@link SSH_CONTROL_PERSIST_S} seconds idle.
 */
export function createSshTransport(settings: SshSpec | undefined, opts: SshTransportOptions): SshTransport {
  const s = settings ?? DEFAULT_SSH_SPEC;
  const ssh = opts.sshBinary ?? 'ssh';
  let dir: string | undefined;
  let keyFile: string | undefined;
  let knownHosts: string | undefined;
  const masters = new Map<string, Master>();
  let made = 0;
  let closed = false;

  const onExit = (): void => {
    for (const m of masters.values()) {
      spawnSync(ssh, ['-o', `ControlPath=${m.controlPath}`, '-O', 'exit', 'fleetgate'], {
        stdio: 'ignore',
        timeout: 2_000,
      });
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  };

  function setUp(): string {
    if (dir) return dir;
    const root = process.platform !== 'win32' && existsSync('/tmp') ? '/tmp' : tmpdir();
    const made = mkdtempSync(join(root, 'fg-ssh-'));
    chmodSync(made, 0o700);
    dir = made;
    process.once('exit', onExit);
    try {
      if (s.identity) {
        let key: string;
        if (s.identity.kind === 'env') {
          const value = opts.env[s.identity.name];
          if (value === undefined || value.trim() === '')
            throw new SshError(
              `ssh.identity.env names ${s.identity.name}, which is not set (in GitHub Actions: env: {${s.identity.name}: \${{ secrets.… }}})`,
              'key',
            );
          registerSecret(value);
          for (const line of value.split(/\r?\n/)) if (!line.startsWith('-----')) registerSecret(line.trim());
          key = value;
        } else {
          key = readFileSync(resolveUserPath(s.identity.path, opts.baseDir), 'utf8');
        }
        keyFile = join(made, 'id');
        // OpenSSH refuses a key file others can read, and one without its final line break.
        writeFileSync(keyFile, `${key.replace(/\r\n/g, '\n').trim()}\n`, { mode: 0o600 });
      }
      if (s.knownHosts) {
        const lines = [...s.knownHosts.hosts];
        for (const f of s.knownHosts.files) lines.push(readFileSync(resolveUserPath(f, opts.baseDir), 'utf8'));
        knownHosts = join(made, 'known_hosts');
        writeFileSync(knownHosts, `${lines.join('\n')}\n`, { mode: 0o600 });
      }
    } catch (error) {
      if (error instanceof SshError) throw error;
      throw new SshError(`cannot prepare the ssh key or known_hosts: ${(error as Error).message}`, 'config');
    }
    return made;
  }

  function commonArgs(m: Master): string[] {
    const args = [
      '-T',
      '-o',
      'BatchMode=yes',
      '-o',
      `StrictHostKeyChecking=${s.strictHostKeyChecking ? 'yes' : 'accept-new'}`,
      '-o',
      `ConnectTimeout=${Math.max(1, Math.ceil(s.connectTimeoutMs / 1000))}`,
      '-o',
      'ServerAliveInterval=15',
      '-o',
      `ControlPath=${m.controlPath}`,
    ];
    if (knownHosts) {
      // Only the pinned keys count: the machine's global file is left out.
      const files = m.knownHostsFile ? `${knownHosts} ${m.knownHostsFile}` : knownHosts;
      args.push('-o', `UserKnownHostsFile=${files}`, '-o', 'GlobalKnownHostsFile=/dev/null');
    }
    if (keyFile) args.push('-o', 'IdentitiesOnly=yes', '-i', keyFile);
    args.push('-p', String(m.dest.port));
    if (m.dest.user) args.push('-l', m.dest.user);
    return args;
  }

  async function open(m: Master, target: string, signal?: AbortSignal): Promise<void> {
    // A socket left by a master that died without cleaning up (SIGKILL) would make the new master
    // run without multiplexing ("ControlSocket … already exists, disabling multiplexing").
    rmSync(m.controlPath, { force: true });
    const args = [
      ...commonArgs(m),
      '-o',
      'ControlMaster=yes',
      '-o',
      `ControlPersist=${SSH_CONTROL_PERSIST_S}`,
      '-f',
      '-N',
      '--',
      m.dest.host,
    ];
    // `daemonizes`: `ssh -f` exits once authenticated and its backgrounded child (the master) is
    // still in the process group until it calls setsid(); ending the group then would kill the
    // master and leave its socket behind, and every step would connect on its own.
    const out = await opts.exec(ssh, args, { timeoutMs: s.connectTimeoutMs + 5_000, signal, daemonizes: true });
    if (out.exitCode !== 0 || out.failed !== undefined) {
      throw (
        explainSshFailure(out.stderr, target, m.dest) ??
        new SshError(
          `cannot open the ssh connection to target ${target} (${m.dest.label}): ${out.failed ?? `exit ${out.exitCode}`}: ${firstLine(out.stderr)}`,
          'ssh',
        )
      );
    }
    // OpenSSH listens on the socket before `-f` returns; `-O check` asks the master itself (no new
    // connection) and confirms it is there before any step relies on it.
    const deadline = Date.now() + s.connectTimeoutMs;
    let last = 'its socket was not created';
    for (;;) {
      if (existsSync(m.controlPath)) {
        const check = await opts.exec(ssh, ['-o', `ControlPath=${m.controlPath}`, '-O', 'check', '--', m.dest.host], {
          timeoutMs: 2_000,
          signal,
        });
        if (check.exitCode === 0) return;
        last = firstLine(check.stderr);
      }
      // Stopping: a master that is there after all is closed with the others by close().
      if (signal?.aborted) throw new SshError(`the run is stopping: no step was run on target ${target}`, 'ssh');
      if (Date.now() >= deadline) break;
      await delay(10);
    }
    // One that is there but too slow to answer is asked to exit, so it does not hold a connection.
    await opts
      .exec(ssh, ['-o', `ControlPath=${m.controlPath}`, '-O', 'exit', '--', m.dest.host], { timeoutMs: 2_000 })
      .catch(() => undefined);
    rmSync(m.controlPath, { force: true });
    throw new SshError(
      `the ssh connection to target ${target} (${m.dest.label}) was opened but its control master does not answer ` +
        `(${last}); nothing was run on it. Steps connect through that master only, to keep one connection per target.`,
      'ssh',
    );
  }

  function forget(m: Master): void {
    if (m.opening === undefined) rmSync(m.controlPath, { force: true });
  }

  return {
    async connect(vars, signal) {
      if (closed) throw new SshError('the run is stopping: no new ssh connection', 'ssh');
      const base = setUp();
      const dest = resolveDestination(s, vars);
      const id = vars.target.id;
      let m = masters.get(id);
      if (!m || m.dest.label !== dest.label) {
        const n = made++;
        m = { controlPath: join(base, `c${n}`), dest };
        if (s.knownHosts?.label !== undefined) {
          const key = vars.target.labels[s.knownHosts.label];
          if (key !== undefined) {
            const name = dest.port === 22 ? dest.host.toLowerCase() : `[${dest.host.toLowerCase()}]:${dest.port}`;
            m.knownHostsFile = join(base, `k${n}`);
            writeFileSync(m.knownHostsFile, `${name} ${key.trim()}\n`, { mode: 0o600 });
          }
        }
        masters.set(id, m);
      }
      const master = m;
      // One start per target: concurrent steps wait for the same one. A master that ended (idle past
      // ControlPersist, the network dropped) removes its socket: open again.
      if (master.opening === undefined && !existsSync(master.controlPath))
        master.opening = open(master, id, signal).finally(() => (master.opening = undefined));
      if (master.opening !== undefined) await master.opening;
      return {
        file: ssh,
        args: [...commonArgs(master), '-o', 'ControlMaster=no', '--', dest.host],
        dest,
        controlPath: master.controlPath,
      };
    },
    noteOutput(invocation, stderr) {
      if (!MASTER_UNREACHABLE_RE.test(stderr)) return;
      for (const m of masters.values()) if (m.controlPath === invocation.controlPath) forget(m);
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(
        [...masters.values()].map((m) =>
          existsSync(m.controlPath)
            ? opts
                .exec(ssh, ['-o', `ControlPath=${m.controlPath}`, '-O', 'exit', '--', m.dest.host], {
                  timeoutMs: 5_000,
                })
                .catch(() => undefined)
            : Promise.resolve(undefined),
        ),
      );
      process.off('exit', onExit);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function resolveUserPath(path: string, baseDir: string): string {
  if (path === '~' || path.startsWith('~/')) return join(homedir(), path.slice(1));
  return isAbsolute(path) ? path : resolvePath(baseDir, path);
}
