/**
 * The local fleet agent: one simulated fleet member behind a real HTTP server
 * on 127.0.0.1. It answers health, readiness, version and Prometheus metrics,
 * accepts drain/undrain/upgrade, simulates a restart on upgrade, generates its
 * own synthetic traffic, and takes injected faults. Tests, the demo and the
 * benchmarks run it as a real process (`agent-main.ts`); the endpoints are
 * described in `docs/local-fleet.md`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { AgentMetrics, PROMETHEUS_CONTENT_TYPE } from './metrics.js';
import { createRandom, lognormalMs, type Random } from './prng.js';
import { isValidAgentVersion, parseVersionBehaviour, type VersionBehaviour } from './version-behaviour.js';

/** Fault modes set with `POST /_admin/fault?mode=...`. */
export const FAULT_MODES = ['none', 'hang', 'reset', '500', 'slow', 'revert'] as const;
/** An injected fault: see `docs/local-fleet.md#fault-injection`. */
export type FaultMode = (typeof FAULT_MODES)[number];

/** What `/version` reports as `state`, in precedence order upgrading > unhealthy > drained > ready. */
export type AgentState = 'ready' | 'drained' | 'upgrading' | 'unhealthy';

/** Options of one agent. Every duration is in milliseconds. */
export interface AgentOptions {
  /** Agent id, reported by `/version` and used as the `id` metric label. */
  id: string;
  /** Version it runs at start (must pass `isValidAgentVersion`). */
  version: string;
  /** TCP port on 127.0.0.1 (default 0: an ephemeral port). */
  port?: number;
  /** Length of the simulated restart after an upgrade (ms; default 50). */
  upgradeMs?: number;
  /** Seed of the agent's random stream, combined with its id (default 1). */
  seed?: number;
  /** Synthetic requests per second recorded into the metrics while ready (default 50; 0 turns it off). */
  trafficRps?: number;
  /** Share of requests answered 5xx on a plain version, as a ratio 0..1 (default 0.01). */
  baseErrorRate?: number;
  /** Median latency of a request on a plain version (ms; default 20). */
  baseLatencyMs?: number;
  /** Latency the `slow` fault adds to every response (ms; default 2000). */
  slowFaultMs?: number;
}

/** A point-in-time view of an agent, for in-process callers. */
export interface AgentSnapshot {
  id: string;
  version: string;
  /** Upgrade requests that changed the version. */
  upgrades: number;
  drained: boolean;
  state: AgentState;
  fault: FaultMode;
  /** Application requests (`GET /work`) received and not answered yet. */
  inflight: number;
  /** Configuration revision it runs (`null`: none given yet) and reloads applied without a restart. */
  config: string | null;
  reloads: number;
}

/** An agent whose server is listening. */
export interface RunningAgent {
  readonly id: string;
  /** Listening port on 127.0.0.1. */
  readonly port: number;
  /** `127.0.0.1:PORT`, the form a `Target.address` takes. */
  readonly address: string;
  /** Current state, without making a request. */
  snapshot(): AgentSnapshot;
  /** Stops traffic and timers, closes every connection and the server. Idempotent. */
  close(): Promise<void>;
}

const DEFAULTS = {
  port: 0,
  upgradeMs: 50,
  seed: 1,
  trafficRps: 50,
  baseErrorRate: 0.01,
  baseLatencyMs: 20,
  slowFaultMs: 2000,
} as const;

/** Spread of the log-normal latency (p99 ≈ 3.2× the median). */
const LATENCY_SIGMA = 0.5;
/** Longest simulated request latency (ms), before the `slow` fault. */
const MAX_LATENCY_MS = 10_000;
/** Requests held open by the `hang` fault; beyond this the socket is destroyed (bounded memory). */
const MAX_PARKED = 1024;
/** Interval of the synthetic traffic tick (ms). */
const TRAFFIC_TICK_MS = 100;
/** Longest gap the traffic tick catches up on after an event-loop stall (ms). */
const MAX_TICK_GAP_MS = 1000;

/** Paths counted individually by `/_admin/stats`; anything else is `other`. */
const STAT_PATHS = [
  '/healthz',
  '/readyz',
  '/version',
  '/metrics',
  '/work',
  '/inflight',
  '/drain',
  '/undrain',
  '/upgrade',
  '/reload',
  '/_admin/fault',
  '/_admin/stats',
] as const;

const ID_RE = /^[0-9A-Za-z][0-9A-Za-z._:-]{0,127}$/;

/** Whether `id` is acceptable as an agent id: 1–128 letters, digits, `.`, `_`, `:` or `-`. */
export function isValidAgentId(id: string): boolean {
  return ID_RE.test(id);
}

function isFaultMode(value: string): value is FaultMode {
  return (FAULT_MODES as readonly string[]).includes(value);
}

/** Result of an upgrade request. */
type UpgradeOutcome = { changed: false; version: string } | { changed: true; from: string; to: string };

/** Longest configuration body an agent accepts on `/reload` and `/upgrade` (bytes). */
export const MAX_CONFIG_BODY = 256 * 1024;

/** A configuration an agent was given: its revision and what its body says about behaviour. */
interface AgentConfig {
  revision: string;
  /**
   * Behaviour tags from the body's `"behaviour"` field (a JSON body), in the words of version
   * tags: `broken`, `flaky`, `errors10`, `slow3` (see docs/local-fleet.md).
   */
  tag: string;
}

/** The `"behaviour"` field of a configuration body, when it is JSON with one. */
function behaviourTag(body: string): string {
  try {
    const value: unknown = JSON.parse(body);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const tag = (value as Record<string, unknown>).behaviour;
      if (typeof tag === 'string') return tag;
    }
  } catch {
    // not JSON: no behaviour
  }
  return '';
}

/** A version's behaviour combined with a configuration's (either may break it; multipliers multiply). */
function combine(a: VersionBehaviour, b: VersionBehaviour): VersionBehaviour {
  return {
    broken: a.broken || b.broken,
    flaky: a.flaky || b.flaky,
    errorMultiplier: a.errorMultiplier * b.errorMultiplier,
    latencyMultiplier: a.latencyMultiplier * b.latencyMultiplier,
  };
}

/** The simulated fleet member: state machine and traffic, no HTTP. */
class SimulatedAgent {
  readonly metrics = new AgentMetrics();
  version: string;
  upgrades = 0;
  /** Configuration changes applied without a restart (`POST /reload`). */
  reloads = 0;
  /** The configuration it runs (absent: none given yet). */
  config: AgentConfig | undefined;
  drained = false;
  fault: FaultMode = 'none';
  private behaviour: VersionBehaviour;
  private restartTimer: NodeJS.Timeout | undefined;
  private healthProbes = 0;
  private readyProbes = 0;
  private trafficCarry = 0;
  private readonly random: Random;

  constructor(
    readonly id: string,
    version: string,
    private readonly opts: Required<Omit<AgentOptions, 'id' | 'version' | 'port'>>,
  ) {
    this.version = version;
    this.behaviour = parseVersionBehaviour(version);
    this.random = createRandom(opts.seed, id);
  }

  get upgrading(): boolean {
    return this.restartTimer !== undefined;
  }

  state(): AgentState {
    if (this.upgrading) return 'upgrading';
    if (this.behaviour.broken) return 'unhealthy';
    return this.drained ? 'drained' : 'ready';
  }

  /** Answers one `/healthz` probe: `undefined` when healthy, else the failing status and reason. */
  probeHealth(): { status: 'upgrading' | 'unhealthy'; reason: string } | undefined {
    if (this.upgrading) return { status: 'upgrading', reason: `restarting onto ${this.version}` };
    if (this.behaviour.broken) return { status: 'unhealthy', reason: this.brokenReason() };
    if (this.behaviour.flaky && ++this.healthProbes % 2 === 1) {
      return { status: 'unhealthy', reason: `version ${this.version} fails every other probe (flaky)` };
    }
    return undefined;
  }

  /** Answers one `/readyz` probe: `undefined` when ready, else the state that keeps it out of rotation. */
  probeReady(): { status: AgentState; reason: string } | undefined {
    const state = this.state();
    if (state === 'upgrading') return { status: state, reason: `restarting onto ${this.version}` };
    if (state === 'unhealthy') return { status: state, reason: this.brokenReason() };
    if (state === 'drained') return { status: state, reason: 'drained' };
    if (this.behaviour.flaky && ++this.readyProbes % 2 === 1) {
      return { status: 'unhealthy', reason: `version ${this.version} fails every other probe (flaky)` };
    }
    return undefined;
  }

  private brokenReason(): string {
    return parseVersionBehaviour(this.version).broken || !this.config
      ? `version ${this.version} does not start (broken)`
      : `configuration ${this.config.revision} breaks it (broken)`;
  }

  /** Applies a configuration without a restart; false when it runs that revision already. */
  reload(config: AgentConfig): boolean {
    if (config.revision === this.config?.revision) return false;
    this.config = config;
    this.reloads++;
    this.behaviour = this.behaviourNow();
    this.healthProbes = 0;
    this.readyProbes = 0;
    return true;
  }

  private behaviourNow(): VersionBehaviour {
    const own = parseVersionBehaviour(this.version);
    return this.config?.tag ? combine(own, parseVersionBehaviour(`0.0.0-${this.config.tag}`)) : own;
  }

  /** Upgrades to `to` (restart), taking `config` with it when given: a changed configuration alone restarts too. */
  upgrade(to: string, config?: AgentConfig): UpgradeOutcome {
    const configChanged = config !== undefined && config.revision !== this.config?.revision;
    if (config !== undefined) this.config = config;
    if (to === this.version && !configChanged) return { changed: false, version: to };
    const from = this.version;
    const revertTo = this.fault === 'revert' ? from : undefined;
    if (revertTo !== undefined) this.fault = 'none';
    this.upgrades++;
    this.switchVersion(to);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (revertTo !== undefined) this.switchVersion(revertTo);
    }, this.opts.upgradeMs);
    return { changed: true, from, to };
  }

  private switchVersion(version: string): void {
    this.version = version;
    this.behaviour = this.behaviourNow();
    this.healthProbes = 0;
    this.readyProbes = 0;
    // A restart: counters start again under the new version label.
    this.metrics.reset();
  }

  /** One application request served with the current version's behaviour: status and latency (ms). */
  sampleRequest(): { status: number; latencyMs: number } {
    const { baseErrorRate, baseLatencyMs } = this.opts;
    const errorRate = Math.min(1, baseErrorRate * this.behaviour.errorMultiplier);
    const status = this.random() < errorRate ? 500 : 200;
    const latencyMs = lognormalMs(
      this.random,
      baseLatencyMs * this.behaviour.latencyMultiplier,
      LATENCY_SIGMA,
      MAX_LATENCY_MS,
    );
    return { status, latencyMs };
  }

  /** Records the synthetic traffic of `elapsedMs` (only while ready: a load balancer sends nothing otherwise). */
  tick(elapsedMs: number): void {
    if (this.opts.trafficRps <= 0 || this.state() !== 'ready' || this.fault === 'hang' || this.fault === 'reset') {
      this.trafficCarry = 0;
      return;
    }
    const due = (this.opts.trafficRps * Math.min(elapsedMs, MAX_TICK_GAP_MS)) / 1000 + this.trafficCarry;
    const whole = Math.floor(due);
    this.trafficCarry = due - whole;
    for (let i = 0; i < whole; i++) {
      const sample = this.sampleRequest();
      const status = this.fault === '500' ? 500 : sample.status;
      const latencyMs = sample.latencyMs + (this.fault === 'slow' ? this.opts.slowFaultMs : 0);
      this.metrics.record(status, latencyMs / 1000);
    }
  }

  stop(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }
}

/** One shared timer drives the synthetic traffic of every agent in the process. */
const trafficAgents = new Set<SimulatedAgent>();
let trafficTimer: NodeJS.Timeout | undefined;
let lastTick = 0;

function joinTraffic(agent: SimulatedAgent): void {
  trafficAgents.add(agent);
  if (trafficTimer) return;
  lastTick = performance.now();
  trafficTimer = setInterval(() => {
    const now = performance.now();
    const elapsed = now - lastTick;
    lastTick = now;
    for (const a of trafficAgents) a.tick(elapsed);
  }, TRAFFIC_TICK_MS);
  // The servers keep the process alive; the traffic alone must not.
  trafficTimer.unref();
}

function leaveTraffic(agent: SimulatedAgent): void {
  trafficAgents.delete(agent);
  if (trafficAgents.size === 0 && trafficTimer) {
    clearInterval(trafficTimer);
    trafficTimer = undefined;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string, contentType: string): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
  });
  res.end(text);
}

const GET_PATHS = new Set(['/healthz', '/readyz', '/version', '/metrics', '/work', '/inflight', '/_admin/stats']);

/**
 * Reads `?delay=MS` of `GET /work`: a fixed latency in milliseconds (0 to {@link MAX_LATENCY_MS})
 * instead of the sampled one; `undefined` when absent, `null` when invalid.
 */
function parseDelay(url: URL): number | undefined | null {
  const raw = url.searchParams.get('delay');
  if (raw === null) return undefined;
  const ms = Number(raw);
  return raw.trim() !== '' && Number.isFinite(ms) && ms >= 0 && ms <= MAX_LATENCY_MS ? ms : null;
}
const POST_PATHS = new Set(['/drain', '/undrain', '/upgrade', '/reload', '/_admin/fault']);
/** Endpoints whose request body is read (a configuration); every other body is drained unread. */
const BODY_PATHS = new Set(['/upgrade', '/reload']);

/**
 * Reads `?config=REV` and the request body as the configuration given with it: `undefined` when
 * the query has none, `null` when the revision is invalid.
 */
function parseConfig(url: URL, body: string): AgentConfig | undefined | null {
  const revision = url.searchParams.get('config');
  if (revision === null || revision === '') return undefined;
  if (!isValidAgentVersion(revision)) return null;
  return { revision, tag: behaviourTag(body) };
}

/**
 * Starts one agent's HTTP server on 127.0.0.1 (never on other interfaces) and
 * its synthetic traffic.
 *
 * @throws Error when `id` or `version` is invalid, or the port cannot be bound (e.g. `EADDRINUSE`).
 */
export async function startAgentServer(options: AgentOptions): Promise<RunningAgent> {
  if (!isValidAgentId(options.id)) throw new Error(`invalid agent id ${JSON.stringify(options.id)}`);
  if (!isValidAgentVersion(options.version)) throw new Error(`invalid version ${JSON.stringify(options.version)}`);
  const opts = {
    upgradeMs: options.upgradeMs ?? DEFAULTS.upgradeMs,
    seed: options.seed ?? DEFAULTS.seed,
    trafficRps: options.trafficRps ?? DEFAULTS.trafficRps,
    baseErrorRate: options.baseErrorRate ?? DEFAULTS.baseErrorRate,
    baseLatencyMs: options.baseLatencyMs ?? DEFAULTS.baseLatencyMs,
    slowFaultMs: options.slowFaultMs ?? DEFAULTS.slowFaultMs,
  };
  for (const [name, value] of Object.entries(opts)) {
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number (got ${value})`);
  }
  if (opts.baseErrorRate > 1) throw new Error(`baseErrorRate is a ratio between 0 and 1 (got ${opts.baseErrorRate})`);

  const agent = new SimulatedAgent(options.id, options.version, opts);
  const stats = new Map<string, number>();
  const parked = new Set<{ req: IncomingMessage; res: ServerResponse; path: string; url: URL }>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  /** Application requests received and not answered yet; a restart cuts them. */
  const working = new Set<ServerResponse>();
  /** The body of a `/reload` or `/upgrade` request, read before it is routed. */
  const bodies = new WeakMap<ServerResponse, string>();
  /** `performance.now()` when the last application request arrived (`-Infinity`: none yet). */
  let lastWorkAt = Number.NEGATIVE_INFINITY;

  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const route = (res: ServerResponse, path: string, url: URL): void => {
    switch (path) {
      case '/healthz': {
        const failing = agent.probeHealth();
        const config = agent.config?.revision ?? null;
        if (failing) sendJson(res, 503, { id: agent.id, version: agent.version, config, ...failing });
        else sendJson(res, 200, { status: 'ok', id: agent.id, version: agent.version, config });
        return;
      }
      case '/readyz': {
        const failing = agent.probeReady();
        if (failing) sendJson(res, 503, { id: agent.id, ...failing });
        else sendJson(res, 200, { status: 'ready', id: agent.id });
        return;
      }
      case '/version':
        sendJson(res, 200, {
          id: agent.id,
          version: agent.version,
          upgrades: agent.upgrades,
          drained: agent.drained,
          state: agent.state(),
          inflight: working.size,
          config: agent.config?.revision ?? null,
          reloads: agent.reloads,
        });
        return;
      case '/inflight': {
        // A drain check: idle means drained, nothing in flight and nothing new for `quiet` ms
        // (a load balancer that health-checks /readyz keeps sending until its next probes fail).
        const quiet = Number(url.searchParams.get('quiet') ?? '0');
        if (!Number.isFinite(quiet) || quiet < 0) {
          sendJson(res, 400, { error: 'quiet must be a number of milliseconds ≥ 0' });
          return;
        }
        const idleMs = Math.round(performance.now() - lastWorkAt);
        const inflight = working.size;
        const idle = agent.drained && inflight === 0 && idleMs >= quiet;
        sendJson(res, idle ? 200 : 503, {
          id: agent.id,
          drained: agent.drained,
          inflight,
          idleMs: Number.isFinite(idleMs) ? idleMs : null,
          idle,
        });
        return;
      }
      case '/metrics':
        sendText(
          res,
          200,
          agent.metrics.render({ id: agent.id, version: agent.version, upgrades: agent.upgrades }),
          PROMETHEUS_CONTENT_TYPE,
        );
        return;
      case '/work': {
        const delay = parseDelay(url);
        if (delay === null) {
          sendJson(res, 400, { error: `delay must be a number of milliseconds from 0 to ${MAX_LATENCY_MS}` });
          return;
        }
        lastWorkAt = performance.now();
        const state = agent.state();
        if (state === 'upgrading' || state === 'unhealthy') {
          agent.metrics.record(503, 0);
          sendJson(res, 503, { id: agent.id, status: state });
          return;
        }
        const sample = agent.sampleRequest();
        const { status } = sample;
        const latencyMs = delay ?? sample.latencyMs;
        const version = agent.version;
        working.add(res);
        res.once('close', () => working.delete(res));
        later(latencyMs, () => {
          working.delete(res);
          // A restart in between means the process that took the request is gone.
          if (agent.version !== version) {
            res.destroy();
            return;
          }
          agent.metrics.record(status, latencyMs / 1000);
          sendJson(res, status, { id: agent.id, version, ok: status < 500 });
        });
        return;
      }
      case '/drain':
      case '/undrain':
        agent.drained = path === '/drain';
        sendJson(res, 200, { id: agent.id, drained: agent.drained, state: agent.state() });
        return;
      case '/reload': {
        const config = parseConfig(url, bodies.get(res) ?? '');
        if (config === undefined || config === null) {
          sendJson(res, 400, {
            error: config === undefined ? 'missing query parameter "config"' : 'invalid configuration revision',
          });
          return;
        }
        const from = agent.config?.revision ?? null;
        const changed = agent.reload(config);
        sendJson(res, 200, {
          id: agent.id,
          ...(changed ? { from, to: config.revision } : { config: config.revision, unchanged: true }),
          reloads: agent.reloads,
        });
        return;
      }
      case '/upgrade': {
        const to = url.searchParams.get('version');
        if (to === null || to === '') {
          sendJson(res, 400, { error: 'missing query parameter "version"' });
          return;
        }
        if (!isValidAgentVersion(to)) {
          sendJson(res, 400, { error: `invalid version ${JSON.stringify(to.slice(0, 200))}` });
          return;
        }
        const config = parseConfig(url, bodies.get(res) ?? '');
        if (config === null) {
          sendJson(res, 400, { error: 'invalid configuration revision' });
          return;
        }
        const outcome = agent.upgrade(to, config);
        // A restart ends the process that holds the requests in flight: their connections drop now.
        if (outcome.changed) for (const w of [...working]) w.destroy();
        if (!outcome.changed)
          sendJson(res, 200, {
            id: agent.id,
            version: outcome.version,
            config: agent.config?.revision ?? null,
            unchanged: true,
          });
        else sendJson(res, 202, { id: agent.id, from: outcome.from, to: outcome.to, upgradeMs: opts.upgradeMs });
        return;
      }
      case '/_admin/fault': {
        const mode = url.searchParams.get('mode') ?? '';
        if (!isFaultMode(mode)) {
          sendJson(res, 400, { error: `mode must be one of ${FAULT_MODES.join(', ')}` });
          return;
        }
        agent.fault = mode;
        sendJson(res, 200, { id: agent.id, fault: mode });
        if (mode !== 'hang') releaseParked();
        return;
      }
      case '/_admin/stats': {
        const requests: Record<string, number> = {};
        let total = 0;
        for (const [p, n] of stats) {
          requests[p] = n;
          total += n;
        }
        sendJson(res, 200, { id: agent.id, fault: agent.fault, parked: parked.size, total, requests });
        return;
      }
      default:
        sendJson(res, 404, { error: `no such endpoint ${path}` });
    }
  };

  /** Applies the fault mode, then routes. `/_admin/*` is never faulted. */
  const dispatch = (req: IncomingMessage, res: ServerResponse, path: string, url: URL): void => {
    if (closed) {
      res.destroy();
      return;
    }
    if (!path.startsWith('/_admin/')) {
      switch (agent.fault) {
        case 'hang':
          if (parked.size >= MAX_PARKED) {
            req.socket.destroy();
            return;
          }
          {
            const entry = { req, res, path, url };
            parked.add(entry);
            res.once('close', () => parked.delete(entry));
          }
          return;
        case 'reset':
          req.socket.destroy();
          return;
        case '500':
          if (path === '/work') agent.metrics.record(500, 0);
          sendJson(res, 500, { error: 'fault injected: 500' });
          return;
        case 'slow':
          later(opts.slowFaultMs, () => {
            if (!res.destroyed) route(res, path, url);
          });
          return;
        default:
          break;
      }
    }
    route(res, path, url);
  };

  function releaseParked(): void {
    const entries = [...parked];
    parked.clear();
    for (const e of entries) if (!e.res.destroyed) dispatch(e.req, e.res, e.path, e.url);
  }

  const server: Server = createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://agent.invalid');
    } catch (err) {
      req.resume();
      sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
      return;
    }
    // The configuration given with /upgrade and /reload is read; other bodies are drained unread
    // so keep-alive connections stay usable.
    if (!BODY_PATHS.has(url.pathname) || req.method !== 'POST') {
      req.resume();
      handle(req, res, url);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_CONFIG_BODY) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_CONFIG_BODY) {
        sendJson(res, 413, { error: `configuration body over ${MAX_CONFIG_BODY} bytes` });
        return;
      }
      bodies.set(res, Buffer.concat(chunks).toString('utf8'));
      handle(req, res, url);
    });
    req.on('error', () => res.destroy());
  });

  const handle = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    try {
      const path = url.pathname;
      const key = (STAT_PATHS as readonly string[]).includes(path) ? path : 'other';
      stats.set(key, (stats.get(key) ?? 0) + 1);
      const method = req.method ?? 'GET';
      if (GET_PATHS.has(path) && method !== 'GET' && method !== 'HEAD') {
        sendJson(res, 405, { error: `${method} not allowed on ${path}` }, { allow: 'GET, HEAD' });
        return;
      }
      if (POST_PATHS.has(path) && method !== 'POST') {
        sendJson(res, 405, { error: `${method} not allowed on ${path}` }, { allow: 'POST' });
        return;
      }
      dispatch(req, res, path, url);
    } catch (err) {
      sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
    }
  };

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ port: options.port ?? DEFAULTS.port, host: '127.0.0.1' }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  // Errors after listening (e.g. EMFILE on accept) must not crash the process.
  server.on('error', () => undefined);

  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('agent server has no TCP address');
  const port = addr.port;
  joinTraffic(agent);

  let closing: Promise<void> | undefined;
  return {
    id: agent.id,
    port,
    address: `127.0.0.1:${port}`,
    snapshot: () => ({
      id: agent.id,
      version: agent.version,
      upgrades: agent.upgrades,
      drained: agent.drained,
      state: agent.state(),
      fault: agent.fault,
      inflight: working.size,
      config: agent.config?.revision ?? null,
      reloads: agent.reloads,
    }),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        leaveTraffic(agent);
        agent.stop();
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const e of parked) e.res.destroy();
        parked.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
