/** The HAProxy recipe's runtime-API script refuses names that would add a command (no HAProxy needed). */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SCRIPT = resolve(import.meta.dirname, '../../rollouts/examples/haproxy/haproxy-runtime.mjs');
const run = (...args: string[]) =>
  spawnSync(process.execPath, [SCRIPT, ...args], {
    encoding: 'utf8',
    env: { ...process.env, HAPROXY_SOCKET: '/nonexistent/fleetgate-test.sock' },
  });

describe('haproxy-runtime.mjs', () => {
  it.each([
    ['web', 'web-1;shutdown sessions server web/web-2'],
    ['web', 'web-1\nset server web/web-2 state maint'],
    ['web;x', 'web-1'],
    ['web', ''],
  ])('refuses backend %j / server %j before reaching the socket (exit 2)', (backend, server) => {
    const r = run('set-state', backend, server, 'drain');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad (backend|server) name/);
  });

  it('refuses an unknown state or check, and says which socket it could not reach', () => {
    expect(run('set-state', 'web', 'web-1', 'halfway').status).toBe(2);
    expect(run('check', 'web', 'web-1', 'maybe').status).toBe(2);
    const r = run('check', 'web', 'web-1', 'up');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('/nonexistent/fleetgate-test.sock');
  });
});
