/**
 * Small undici helpers for talking to a local fleet agent from tests, the demo
 * and benchmarks. Each call is one request with a timeout; failures throw
 * `AgentRequestError`.
 */
import { request } from 'undici';
import type { AgentState, FaultMode } from './agent.js';

/** Default time allowed for one request to an agent (ms). */
export const DEFAULT_AGENT_TIMEOUT_MS = 5000;

/** Per-call options. */
export interface AgentCallOptions {
  /** Time allowed for the whole request, body included (ms; default 5000). */
  timeoutMs?: number;
}

/** What an agent's `GET /version` reports. */
export interface AgentVersionReport {
  id: string;
  version: string;
  /** Upgrade requests that changed the version. */
  upgrades: number;
  drained: boolean;
  state: AgentState;
  /** Configuration revision it runs (`null`: none given yet; docs/config-rollouts.md). */
  config?: string | null;
  /** Configuration changes applied without a restart (`POST /reload`). */
  reloads?: number;
}

/** What an agent's `GET /_admin/stats` reports. */
export interface AgentStats {
  id: string;
  fault: FaultMode;
  /** Requests held open by the `hang` fault right now. */
  parked: number;
  /** Requests received since start, all paths. */
  total: number;
  /** Requests received since start by path (`other` for unknown paths). */
  requests: Record<string, number>;
}

/** A request to an agent failed: network error, timeout, unexpected status or body. */
export class AgentRequestError extends Error {
  constructor(
    message: string,
    /** HTTP status, when the agent answered. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = AgentRequestError.name;
  }
}

async function callAgent(
  address: string,
  method: 'GET' | 'POST',
  path: string,
  opts: AgentCallOptions = {},
): Promise<unknown> {
  const url = `http://${address}${path}`;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_AGENT_TIMEOUT_MS;
  let res;
  try {
    res = await request(url, { method, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const why =
      err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')
        ? `no answer within ${timeoutMs} ms`
        : String(err);
    throw new AgentRequestError(`${method} ${url}: ${why}`, undefined, { cause: err });
  }
  let text: string;
  try {
    text = await res.body.text();
  } catch (err) {
    throw new AgentRequestError(`${method} ${url}: reading the answer failed: ${String(err)}`, res.statusCode, {
      cause: err,
    });
  }
  if (res.statusCode < 200 || res.statusCode >= 300) {
    throw new AgentRequestError(`${method} ${url}: HTTP ${res.statusCode} ${text.slice(0, 200)}`, res.statusCode);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new AgentRequestError(`${method} ${url}: answer is not JSON: ${text.slice(0, 200)}`, res.statusCode, {
      cause: err,
    });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads an agent's `/version`.
 *
 * @param address `host:port`, e.g. a `Target.address` of a local fleet.
 * @throws AgentRequestError on a network error, timeout, non-2xx status or malformed answer.
 */
export async function readAgentVersion(address: string, opts?: AgentCallOptions): Promise<AgentVersionReport> {
  const body = await callAgent(address, 'GET', '/version', opts);
  if (
    !isRecord(body) ||
    typeof body.id !== 'string' ||
    typeof body.version !== 'string' ||
    typeof body.upgrades !== 'number'
  ) {
    throw new AgentRequestError(
      `GET http://${address}/version: unexpected answer ${JSON.stringify(body).slice(0, 200)}`,
    );
  }
  return {
    id: body.id,
    version: body.version,
    upgrades: body.upgrades,
    drained: body.drained === true,
    state: body.state as AgentState,
    config: typeof body.config === 'string' ? body.config : null,
    reloads: typeof body.reloads === 'number' ? body.reloads : 0,
  };
}

/**
 * Sets an agent's injected fault (`none` clears it). `/_admin/*` is never
 * faulted, so this works even while the agent hangs or resets other requests.
 *
 * @throws AgentRequestError when the agent refuses the mode or does not answer.
 */
export async function setAgentFault(address: string, mode: FaultMode, opts?: AgentCallOptions): Promise<void> {
  await callAgent(address, 'POST', `/_admin/fault?mode=${encodeURIComponent(mode)}`, opts);
}

/**
 * Reads an agent's request counts by path (`/_admin/stats`).
 *
 * @throws AgentRequestError on a network error, timeout, non-2xx status or malformed answer.
 */
export async function readAgentStats(address: string, opts?: AgentCallOptions): Promise<AgentStats> {
  const body = await callAgent(address, 'GET', '/_admin/stats', opts);
  if (!isRecord(body) || typeof body.total !== 'number' || !isRecord(body.requests)) {
    throw new AgentRequestError(
      `GET http://${address}/_admin/stats: unexpected answer ${JSON.stringify(body).slice(0, 200)}`,
    );
  }
  return body as unknown as AgentStats;
}
