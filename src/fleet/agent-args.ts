/**
 * Command-line arguments of the local fleet agent program (`dist/agent.js`).
 * Pure: argv in, options or a list of problems out.
 */
import { parseArgs } from 'node:util';
import { isValidAgentId, type AgentOptions } from './agent.js';
import { isValidAgentVersion } from './version-behaviour.js';

/** Most agents one process may serve (`--count`). */
export const MAX_AGENTS_PER_PROCESS = 20_000;

/** Parsed arguments of the agent program. */
export interface AgentProgramOptions {
  /** One entry per agent the process serves, ports already assigned (0 = ephemeral). */
  agents: AgentOptions[];
  /** Exit when stdin reaches end of file (the parent that spawned us died). */
  exitOnStdinClose: boolean;
  /** `--help` was given. */
  help: boolean;
}

/** Usage text printed by `--help` and after an argument error. */
export const AGENT_USAGE = `Usage: node dist/agent.js --version V (--id ID | --count N [--id-prefix P] [--first-index I]) [options]

Serves one or more simulated fleet agents on 127.0.0.1 and prints one JSON line
{"agents":[{"id","address","port"}, ...]} once every agent listens. Runs until SIGTERM/SIGINT.

  --id ID               id of the single agent
  --count N             serve N agents from this process, ids P+I .. P+I+N-1 (default 1)
  --id-prefix P         id prefix with --count (default "agent-")
  --first-index I       number of the first agent with --count (default 1)
  --version V           version every agent runs at start (required)
  --port P              port of the first agent; the next ones use P+1, P+2, ... (default 0: ephemeral)
  --upgrade-ms MS       simulated restart after an upgrade, in ms (default 50)
  --seed S              seed of the deterministic random streams (default 1)
  --traffic-rps R       synthetic requests per second per agent (default 50; 0 = off)
  --base-error-rate E   5xx ratio of a plain version, 0..1 (default 0.01)
  --base-latency-ms MS  median request latency of a plain version, in ms (default 20)
  --exit-on-stdin-close exit when stdin closes (used by the launcher so no agent outlives it)
  --help                show this text
`;

function parseNumber(
  name: string,
  raw: string | undefined,
  problems: string[],
  opts: { integer?: boolean; min?: number; max?: number } = {},
): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  const min = opts.min ?? 0;
  const bad =
    raw.trim() === '' ||
    !Number.isFinite(value) ||
    (opts.integer === true && !Number.isInteger(value)) ||
    value < min ||
    (opts.max !== undefined && value > opts.max);
  if (bad) {
    const range = opts.max !== undefined ? `between ${min} and ${opts.max}` : `at least ${min}`;
    problems.push(
      `--${name} must be ${opts.integer === true ? 'an integer' : 'a number'} ${range} (got ${JSON.stringify(raw)})`,
    );
    return undefined;
  }
  return value;
}

/**
 * Parses the agent program's argv (without `node` and the script).
 *
 * @returns the options, or `{problems}` listing every bad argument.
 */
export function parseAgentArgs(argv: readonly string[]): AgentProgramOptions | { problems: string[] } {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        id: { type: 'string' },
        count: { type: 'string' },
        'id-prefix': { type: 'string' },
        'first-index': { type: 'string' },
        version: { type: 'string' },
        port: { type: 'string' },
        'upgrade-ms': { type: 'string' },
        seed: { type: 'string' },
        'traffic-rps': { type: 'string' },
        'base-error-rate': { type: 'string' },
        'base-latency-ms': { type: 'string' },
        'exit-on-stdin-close': { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    return { problems: [err instanceof Error ? err.message : String(err)] };
  }
  if (values.help === true) return { agents: [], exitOnStdinClose: false, help: true };

  const problems: string[] = [];
  const count = parseNumber('count', values.count, problems, { integer: true, min: 1, max: MAX_AGENTS_PER_PROCESS });
  const firstIndex = parseNumber('first-index', values['first-index'], problems, { integer: true, min: 0 });
  const port = parseNumber('port', values.port, problems, { integer: true, min: 0, max: 65535 });
  const upgradeMs = parseNumber('upgrade-ms', values['upgrade-ms'], problems);
  const seed = parseNumber('seed', values.seed, problems, { integer: true, min: -2147483648, max: 4294967295 });
  const trafficRps = parseNumber('traffic-rps', values['traffic-rps'], problems);
  const baseErrorRate = parseNumber('base-error-rate', values['base-error-rate'], problems, { max: 1 });
  const baseLatencyMs = parseNumber('base-latency-ms', values['base-latency-ms'], problems);

  const version = values.version;
  if (version === undefined) problems.push('--version is required');
  else if (!isValidAgentVersion(version)) problems.push(`--version ${JSON.stringify(version)} is not a valid version`);

  let ids: string[] = [];
  if (values.id !== undefined) {
    if (count !== undefined && count !== 1) problems.push('--id names a single agent; use --id-prefix with --count');
    if (values['id-prefix'] !== undefined || values['first-index'] !== undefined)
      problems.push('--id cannot be combined with --id-prefix or --first-index');
    if (!isValidAgentId(values.id))
      problems.push(`--id ${JSON.stringify(values.id)} is not a valid id (letters, digits, . _ : -)`);
    ids = [values.id];
  } else if (count !== undefined) {
    const prefix = values['id-prefix'] ?? 'agent-';
    const first = firstIndex ?? 1;
    ids = Array.from({ length: count }, (_, i) => `${prefix}${first + i}`);
    const bad = ids.find((id) => !isValidAgentId(id));
    if (bad !== undefined) problems.push(`--id-prefix gives invalid ids such as ${JSON.stringify(bad)}`);
  } else {
    problems.push('give --id ID for one agent or --count N for several');
  }
  if (port !== undefined && port > 0 && port + ids.length - 1 > 65535)
    problems.push(`--port ${port} leaves no room for ${ids.length} agents`);

  if (problems.length > 0 || version === undefined) return { problems };
  const agents = ids.map((id, i): AgentOptions => ({
    id,
    version,
    port: port !== undefined && port > 0 ? port + i : 0,
    ...(upgradeMs !== undefined && { upgradeMs }),
    ...(seed !== undefined && { seed }),
    ...(trafficRps !== undefined && { trafficRps }),
    ...(baseErrorRate !== undefined && { baseErrorRate }),
    ...(baseLatencyMs !== undefined && { baseLatencyMs }),
  }));
  return { agents, exitOnStdinClose: values['exit-on-stdin-close'] === true, help: false };
}
