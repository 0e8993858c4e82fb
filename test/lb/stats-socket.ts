/**
 * A tiny client of HAProxy's runtime API (the stats socket) over `node:net`:
 * one command per connection, the answer read to the end.
 */
import { createConnection } from 'node:net';

/** One server row of `show stat` (CSV), with the columns the tests read. */
export interface ServerStat {
  /** `pxname`: the backend. */
  backend: string;
  /** `svname`: the server name (the target id). */
  server: string;
  /** `status`: `UP`, `DOWN`, `DRAIN`, `MAINT`, `NOLB`, or a transition such as `UP 1/2`. */
  status: string;
  /** `scur`: current sessions on the server. */
  scur: number;
}

/**
 * Sends `command` over the unix socket at `path` and resolves with the whole answer.
 *
 * @throws Error when the socket cannot be reached or does not answer within `timeoutMs` (default 2,000 ms).
 */
export function sendRuntimeCommand(path: string, command: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let answer = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`${path}: no answer within ${timeoutMs} ms`)));
    socket.on('connect', () => socket.end(`${command}\n`));
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', (hadError) => {
      if (!hadError) resolve(answer);
    });
  });
}

/** Parses `show stat` CSV into server rows (frontends and the BACKEND summary rows are left out). */
export function parseServerStats(csv: string): ServerStat[] {
  const lines = csv.split('\n').filter((l) => l !== '');
  const header = (lines.shift() ?? '').replace(/^# /, '').split(',');
  const col = (name: string): number => header.indexOf(name);
  const [px, sv, st, sc] = [col('pxname'), col('svname'), col('status'), col('scur')];
  if (px < 0 || sv < 0 || st < 0 || sc < 0) throw new Error(`not a show stat answer: ${csv.slice(0, 200)}`);
  return lines
    .map((l) => l.split(','))
    .filter((c) => c[sv] !== 'FRONTEND' && c[sv] !== 'BACKEND')
    .map((c) => ({ backend: c[px]!, server: c[sv]!, status: c[st]!, scur: Number(c[sc]) }));
}

/** `show stat` over the socket, as server rows. */
export async function readServerStats(path: string): Promise<ServerStat[]> {
  return parseServerStats(await sendRuntimeCommand(path, 'show stat'));
}
