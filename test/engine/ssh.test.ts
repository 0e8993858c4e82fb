/**
 * The ssh transport's pure parts, without an sshd: the remote command is quoted so that a POSIX
 * shell (here the local `/bin/sh`, as the remote login shell would) hands every element to the
 * program as exactly one unchanged argument; destinations refuse what ssh would read as options;
 * ssh's own failures are explained with the host; control masters are started once per target
 * and trusted only once they answer (through a scripted ssh). test/ssh/ runs the same against
 * real sshd.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildRemoteCommand,
  createSshTransport,
  explainSshFailure,
  quotePosixWord,
  resolveDestination,
  SshError,
  type SshExec,
} from '../../src/engine/ssh.js';
import type { SshSpec } from '../../src/spec/types.js';

/** What the program receives when `sh -c` runs the command built from `argv`. */
function argsReceived(argv: string[]): string[] {
  const r = spawnSync('/bin/sh', ['-c', buildRemoteCommand(['/usr/bin/printf', '%s\\0', ...argv])], {
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\0').slice(0, -1);
}

const HOSTILE = [
  '$(touch /tmp/fg-quote-pwned)',
  '`touch /tmp/fg-quote-pwned`',
  'a; touch /tmp/fg-quote-pwned',
  'a && b || c | d > /tmp/fg-quote-pwned',
  'line1\nline2',
  "it's",
  "'",
  "''",
  '"double" \\"escaped\\"',
  '*',
  '~',
  '~root/x',
  '$HOME ${PATH} $1 $@',
  '\\',
  '',
  ' leading and trailing ',
  '-rf',
  "'; touch /tmp/fg-quote-pwned; '",
  '\t\r',
];

describe('remote command quoting', () => {
  it('hands each hostile element over as one unchanged argument', () => {
    expect(argsReceived(HOSTILE)).toEqual(HOSTILE);
    expect(spawnSync('test', ['-e', '/tmp/fg-quote-pwned']).status).not.toBe(0);
  });

  it('holds for any text without a NUL byte', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\0')),
          { minLength: 1, maxLength: 6 },
        ),
        (argv) => {
          expect(argsReceived(argv)).toEqual(argv);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('quotes with single quotes only', () => {
    expect(quotePosixWord("it's")).toBe("'it'\\''s'");
    expect(() => buildRemoteCommand([])).toThrow(/needs a program/);
    expect(() => buildRemoteCommand(['a\0b'])).toThrow(/NUL/);
  });
});

const settings: SshSpec = {
  host: '{{target.host}}',
  port: '{{target.labels.p}}',
  user: '{{target.labels.u}}',
  strictHostKeyChecking: true,
  connectTimeoutMs: 1000,
};
const vars = (address: string, labels: Record<string, string>) => ({
  target: { id: 't1', address, labels },
  version: '1',
  rollout: { name: 'r' },
  component: 'c',
});

describe('destinations', () => {
  it('renders host, port and user', () => {
    expect(resolveDestination(settings, vars('web-1.example.net:8080', { p: '2222', u: 'deploy' }))).toMatchObject({
      host: 'web-1.example.net',
      port: 2222,
      user: 'deploy',
      label: 'deploy@web-1.example.net:2222',
    });
  });

  it('refuses values ssh would read as options, and non-ports', () => {
    expect(() => resolveDestination(settings, vars('-oProxyCommand=x', { p: '22', u: 'd' }))).toThrow(/not a host/);
    expect(() => resolveDestination(settings, vars('h', { p: '22', u: '-oX' }))).toThrow(/not a user/);
    expect(() => resolveDestination(settings, vars('h', { p: '99999', u: 'd' }))).toThrow(/not a port/);
  });
});

describe('ssh failures', () => {
  const dest = { host: 'web-1', port: 22, user: 'deploy', label: 'deploy@web-1:22' };
  it('names the host and how to pin it when its key is unknown', () => {
    const e = explainSshFailure(
      'No ED25519 host key is known for web-1 and you have requested strict checking.\r\nHost key verification failed.\r\n',
      't1',
      dest,
    );
    expect(e?.reason).toBe('host-key');
    expect(e?.message).toMatch(/host key verification failed for target t1 \(deploy@web-1:22\).*ssh\.knownHosts/);
  });
  it('says a changed key does not match', () => {
    const e = explainSshFailure(
      '@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.',
      't1',
      dest,
    );
    expect(e?.message).toMatch(/does not match the key pinned/);
  });
  it('explains refused keys and unreachable hosts', () => {
    expect(explainSshFailure('deploy@web-1: Permission denied (publickey).', 't1', dest)?.reason).toBe('auth');
    expect(explainSshFailure('ssh: connect to host web-1 port 22: Connection refused', 't1', dest)?.reason).toBe(
      'unreachable',
    );
    expect(explainSshFailure('something else', 't1', dest)).toBeUndefined();
  });
});

describe('control masters', () => {
  const settings: SshSpec = {
    host: '{{target.address}}',
    port: '22',
    strictHostKeyChecking: true,
    connectTimeoutMs: 300,
  };
  const vars = (id: string) => ({
    target: { id, address: '10.0.0.1', labels: {} },
    version: '1',
    rollout: { name: 'r' },
    component: 'c',
  });

  /**
   * A scripted ssh: `-f` starts a master (creates its socket), `-O check` answers while
   * `answers` says so, `-O exit` removes the socket; anything else fails the test.
   */
  function scriptedSsh(answers: () => boolean) {
    const calls: Array<{ op: 'start' | 'check' | 'exit'; daemonizes?: boolean }> = [];
    const exec: SshExec = async (file, args, o) => {
      const path = args.find((a) => a.startsWith('ControlPath='))!.slice('ControlPath='.length);
      await new Promise((r) => setTimeout(r, 5));
      if (args.includes('-f')) {
        calls.push({ op: 'start', ...(o.daemonizes !== undefined && { daemonizes: o.daemonizes }) });
        writeFileSync(path, '');
        return { stdout: '', stderr: '', exitCode: 0 };
      }
      const op = args[args.indexOf('-O') + 1];
      if (op === 'check') {
        calls.push({ op: 'check' });
        return answers()
          ? { stdout: '', stderr: 'Master running (pid=1)\n', exitCode: 0 }
          : { stdout: '', stderr: `Control socket connect(${path}): Connection refused\n`, exitCode: 255 };
      }
      if (op === 'exit') {
        calls.push({ op: 'exit' });
        rmSync(path, { force: true });
        return { stdout: '', stderr: '', exitCode: 0 };
      }
      throw new Error(`unexpected ssh call: ${file} ${args.join(' ')}`);
    };
    return { calls, exec };
  }

  it('starts one master per target for steps that connect at once, and leaves the backgrounded master alone', async () => {
    const ssh = scriptedSsh(() => true);
    const transport = createSshTransport(settings, { baseDir: '/', env: {}, exec: ssh.exec });
    const vias = await Promise.all([1, 2, 3, 4].map(() => transport.connect(vars('t1'))));
    expect(ssh.calls.filter((c) => c.op === 'start')).toEqual([{ op: 'start', daemonizes: true }]);
    expect(new Set(vias.map((v) => v.controlPath)).size).toBe(1);
    expect(vias[0]!.args).toContain('ControlMaster=no');
    await transport.close();
    expect(existsSync(vias[0]!.controlPath)).toBe(false);
  });

  it('fails the step, naming the target, when the master does not answer, and starts a new one next time', async () => {
    let answering = false;
    const ssh = scriptedSsh(() => answering);
    const transport = createSshTransport(settings, { baseDir: '/', env: {}, exec: ssh.exec });
    const failed = await transport.connect(vars('t1')).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(SshError);
    expect((failed as SshError).message).toMatch(/target t1 \(10\.0\.0\.1:22\).*control master does not answer/);
    expect(ssh.calls.at(-1)).toEqual({ op: 'exit' }); // a master too slow to answer does not hold a connection
    answering = true;
    const via = await transport.connect(vars('t1'));
    expect(ssh.calls.filter((c) => c.op === 'start')).toHaveLength(2);
    expect(existsSync(via.controlPath)).toBe(true);
    await transport.close();
  });

  it('drops a socket whose master is gone, so the next step starts a new master', async () => {
    const ssh = scriptedSsh(() => true);
    const transport = createSshTransport(settings, { baseDir: '/', env: {}, exec: ssh.exec });
    const via = await transport.connect(vars('t1'));
    await transport.connect(vars('t1'));
    expect(ssh.calls.filter((c) => c.op === 'start')).toHaveLength(1);
    transport.noteOutput(via, `Control socket connect(${via.controlPath}): Connection refused\n`);
    expect(existsSync(via.controlPath)).toBe(false);
    await transport.connect(vars('t1'));
    expect(ssh.calls.filter((c) => c.op === 'start')).toHaveLength(2);
    await transport.close();
  });
});
