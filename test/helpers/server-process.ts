/**
 * The lifecycle of a real server a test starts (HAProxy, Prometheus, sshd, …), in one place:
 * spawned in the foreground as a child of the test process, its output kept (the end of it,
 * for error messages), polled until ready, and stopped with SIGTERM, then SIGKILL once a grace
 * has passed. If the test process exits first, the child gets SIGKILL so none is left behind.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { pollUntil } from './poll.js';

/** A free TCP port on 127.0.0.1 (the kernel picks one; a small race with other processes remains). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** What {@link startServerProcess} starts. */
export interface ServerProcessOptions {
  /** Named in error messages: `haproxy`, `prometheus`, `sshd vm-1`. */
  name: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Milliseconds between SIGTERM and SIGKILL when stopping (default 3000). */
  graceMs?: number;
  /** How many characters of the end of stdout and stderr are kept (default 4000). */
  logLimit?: number;
  /** Runs once the process is gone, on every stop (removing its temporary folder, …). */
  afterStop?: () => Promise<void> | void;
}

/** A server started by {@link startServerProcess}. */
export interface ServerProcess {
  readonly name: string;
  readonly pid: number | undefined;
  /** The end of what it printed on stdout and stderr, interleaved as it came. */
  log: () => string;
  running: () => boolean;
  /** Its exit code, `null` while it runs or when a signal ended it. */
  exitCode: () => number | null;
  /**
   * Polls `check` every `intervalMs` (default 100) until it resolves true; a throw counts as
   * not ready yet.
   * @throws Error naming the server, `what`, `describe()` and its log when it exits or
   *   `timeoutMs` passes; the process is stopped first
   */
  waitUntil: (
    what: string,
    timeoutMs: number,
    check: () => Promise<boolean> | boolean,
    o?: { describe?: () => string; intervalMs?: number },
  ) => Promise<void>;
  /** SIGTERM, SIGKILL after the grace, waits for the exit, then `afterStop`. Idempotent. Safe to pass around unbound. */
  stop: () => Promise<void>;
}

/** Starts `file` with `args` (no shell), stdin closed, stdout and stderr collected. */
export function startServerProcess(file: string, args: readonly string[], o: ServerProcessOptions): ServerProcess {
  const limit = o.logLimit ?? 4000;
  const child = spawn(file, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (log = (log + chunk).slice(-limit)));
  }
  let gone: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      gone = signal ? `killed by ${signal}` : `exit ${code}`;
      resolve();
    });
    // A binary that cannot start (ENOENT): 'exit' may never come.
    child.once('error', (error) => {
      gone = error.message;
      resolve();
    });
  });
  const onParentExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', onParentExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.off('exit', onParentExit);
      if (gone === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), o.graceMs ?? 3000);
        await exited;
        clearTimeout(timer);
      }
      await o.afterStop?.();
    })();
    return stopping;
  };

  return {
    name: o.name,
    pid: child.pid,
    log: () => log,
    running: () => gone === undefined,
    exitCode: () => child.exitCode,
    async waitUntil(what, timeoutMs, check, w = {}) {
      try {
        await pollUntil(`${o.name}: ${what}`, timeoutMs, check, {
          ...w,
          gaveUp: () => (gone === undefined ? undefined : `it stopped: ${gone}`),
          describe: () => `${w.describe ? `${w.describe()}; ` : ''}log: ${log}`,
        });
      } catch (error) {
        await stop();
        throw error;
      }
    },
    stop,
  };
}
