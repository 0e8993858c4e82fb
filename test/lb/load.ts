/**
 * A bounded, open-loop HTTP load generator in the test process (undici): a fixed
 * number of requests per second to `GET /work` through the load balancer, a share
 * of them slow (`?delay=`), every outcome counted. Open loop: requests are sent on
 * schedule whether or not earlier ones have answered, as independent clients do,
 * so a slow or dropped backend shows as failures rather than as a lower rate.
 */
import { Pool } from 'undici';

export interface LoadOptions {
  /** `http://127.0.0.1:PORT` of the load balancer's frontend. */
  url: string;
  /** Requests per second (e.g. 200). */
  rps: number;
  /** Share of requests that are slow, as a ratio 0..1. */
  slowShare: number;
  /** Latency of a slow request (ms): `GET /work?delay=MS`. */
  slowMs: number;
  /** Hard bound on the generator's run time (ms): it stops sending then, whatever `stop()` does. */
  maxDurationMs: number;
  /** Time one request may take before it counts as failed (ms; default 5,000). */
  requestTimeoutMs?: number;
}

/** What the load generator counted. */
export interface LoadResult {
  sent: number;
  /** 200 answers. */
  ok: number;
  /** Requests answered with another status (HAProxy's 502/503, an agent's 503), by status. */
  failedByStatus: Record<string, number>;
  /** Connections reset or closed before an answer (ECONNRESET, socket closed). */
  resets: number;
  /** Other errors (timeouts, refused connections), by code. */
  otherErrors: Record<string, number>;
  /** Every request that did not end in 200: statuses + resets + other errors. */
  failed: number;
  /** Achieved rate over the run (requests per second sent). */
  rps: number;
  durationMs: number;
  /** Most requests open at once. */
  maxOpen: number;
}

const TICK_MS = 10;

function errorCode(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string }; name?: string };
  return e.code ?? e.cause?.code ?? e.name ?? 'error';
}

const RESET_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'UND_ERR_CLOSED']);

/**
 * Starts sending; `stop()` stops sending, waits for the requests in flight and returns the counts.
 * Slow requests are spread evenly (every 1/slowShare-th request), so the mix is the same in every run.
 */
export function startLoad(opts: LoadOptions): { stop(): Promise<LoadResult>; current(): LoadResult } {
  const pool = new Pool(opts.url, { connections: 128, pipelining: 1, keepAliveTimeout: 10_000 });
  const timeoutMs = opts.requestTimeoutMs ?? 5000;
  const r: LoadResult = {
    sent: 0,
    ok: 0,
    failedByStatus: {},
    resets: 0,
    otherErrors: {},
    failed: 0,
    rps: 0,
    durationMs: 0,
    maxOpen: 0,
  };
  const started = performance.now();
  const open = new Set<Promise<void>>();
  const slowEvery = opts.slowShare > 0 ? Math.max(1, Math.round(1 / opts.slowShare)) : 0;
  const one = async (n: number): Promise<void> => {
    const path = slowEvery > 0 && n % slowEvery === 0 ? `/work?delay=${opts.slowMs}` : '/work';
    try {
      const res = await pool.request({
        path,
        method: 'GET',
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      await res.body.dump();
      if (res.statusCode === 200) r.ok++;
      else {
        r.failedByStatus[res.statusCode] = (r.failedByStatus[res.statusCode] ?? 0) + 1;
        r.failed++;
      }
    } catch (err) {
      const code = errorCode(err);
      if (RESET_CODES.has(code)) r.resets++;
      else r.otherErrors[code] = (r.otherErrors[code] ?? 0) + 1;
      r.failed++;
    }
  };
  let stopped = false;
  const timer = setInterval(() => {
    const elapsed = performance.now() - started;
    if (stopped || elapsed > opts.maxDurationMs) {
      clearInterval(timer);
      return;
    }
    const due = Math.floor((elapsed * opts.rps) / 1000);
    while (r.sent < due) {
      const p = one(r.sent++);
      open.add(p);
      r.maxOpen = Math.max(r.maxOpen, open.size);
      void p.finally(() => open.delete(p));
    }
  }, TICK_MS);
  const snapshot = (): LoadResult => {
    const durationMs = Math.round(performance.now() - started);
    return { ...r, durationMs, rps: Math.round((r.sent * 1000) / Math.max(1, durationMs)) };
  };
  return {
    current: snapshot,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      const result = snapshot();
      await Promise.allSettled([...open]);
      await pool.close();
      return { ...snapshot(), durationMs: result.durationMs, rps: result.rps };
    },
  };
}
