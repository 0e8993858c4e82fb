/**
 * The ssh transport's pure parts, without an sshd: the remote command is quoted so that a POSIX
 * shell (here the local `/bin/sh`, as the remote login shell would) hands every element to the
 * program as exactly one unchanged argument; destinations refuse what ssh would read as options;
 * ssh's own failures are explained with the host. test/ssh/ runs the same against real sshd.
 */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildRemoteCommand, explainSshFailure, quotePosixWord, resolveDestination } from '../../src/engine/ssh.js';
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
