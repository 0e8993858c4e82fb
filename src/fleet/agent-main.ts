/**
 * The local fleet agent program, bundled to `dist/agent.js`:
 *
 *   node dist/agent.js --id edge-1 --version 1.0.0
 *   node dist/agent.js --count 500 --id-prefix edge- --version 1.0.0
 *
 * Prints one JSON line `{"agents":[{"id","address","port"}, ...]}` on stdout
 * once every agent listens, then runs until SIGTERM or SIGINT, closes every
 * server and exits 0. Exit 2 on bad arguments, 1 when an agent cannot start.
 * See `docs/local-fleet.md`.
 */
import { AGENT_USAGE, parseAgentArgs } from './agent-args.js';
import { startAgentServer, type RunningAgent } from './agent.js';

/** Agents started at once; keeps a 10,000-agent process from opening every socket in one burst. */
const STARTED_AT_ONCE = 256;
/** Longest a graceful shutdown may take before the process exits anyway (ms). */
const SHUTDOWN_DEADLINE_MS = 5000;

async function main(): Promise<number> {
  const parsed = parseAgentArgs(process.argv.slice(2));
  if ('problems' in parsed) {
    for (const p of parsed.problems) process.stderr.write(`agent: ${p}\n`);
    process.stderr.write(`\n${AGENT_USAGE}`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(AGENT_USAGE);
    return 0;
  }

  const running: RunningAgent[] = [];
  let stopping: Promise<void> | undefined;
  const shutdown = (code: number): Promise<void> => {
    stopping ??= (async () => {
      setTimeout(() => process.exit(code), SHUTDOWN_DEADLINE_MS).unref();
      await Promise.allSettled(running.map((a) => a.close()));
      process.exit(code);
    })();
    return stopping;
  };
  process.once('SIGTERM', () => void shutdown(0));
  // A parent that stopped reading our stdout is gone: shut down rather than crash on EPIPE.
  process.stdout.on('error', () => void shutdown(0));
  process.once('SIGINT', () => void shutdown(0));
  if (parsed.exitOnStdinClose) {
    process.stdin.on('end', () => void shutdown(0));
    process.stdin.on('error', () => void shutdown(0));
    process.stdin.resume();
  }

  try {
    for (let i = 0; i < parsed.agents.length; i += STARTED_AT_ONCE) {
      const group = parsed.agents.slice(i, i + STARTED_AT_ONCE);
      const results = await Promise.allSettled(group.map((opts) => startAgentServer(opts)));
      for (const r of results) if (r.status === 'fulfilled') running.push(r.value);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
  } catch (err) {
    process.stderr.write(`agent: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    await shutdown(1);
    return 1;
  }

  const line = JSON.stringify({ agents: running.map((a) => ({ id: a.id, address: a.address, port: a.port })) });
  process.stdout.write(`${line}\n`);
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`agent: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
