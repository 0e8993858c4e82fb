/**
 * Alertmanager's v2 API over undici: the active alerts (`GET /api/v2/alerts`),
 * and silences (`POST /api/v2/silences`, `GET /api/v2/silence/{id}`,
 * `GET /api/v2/silences`, `DELETE /api/v2/silence/{id}`). Never throws on a
 * request: every call returns an outcome, so a down Alertmanager is an answer
 * the gate turns into a pause (never a pass). Credentials come from the
 * environment variables the spec names, and are registered as secrets so they
 * are never printed.
 */
import { ConfigurationError } from '../../errors.js';
import type { SilenceMatcher } from '../../spec/matchers.js';
import type { AlertmanagerSpec } from '../../spec/types.js';
import {
  attemptsSuffix,
  expandEnv,
  redactUrl,
  secretFromEnv,
  sendWithRetries,
  type HttpOutcome,
  type RetryPolicy,
} from '../provider-support.js';
import type { ApiAlert } from './assess.js';

/** What the client needs from its surroundings. */
export interface AlertmanagerClientDeps {
  env: NodeJS.ProcessEnv;
  /** Registers a secret value (masked wherever Fleetgate writes). */
  mask: (secret: string) => void;
}

/** A silence as the API describes it (only what is read). */
export interface ApiSilence {
  id: string;
  /** `active`, `pending` or `expired`. */
  state: string;
  createdBy: string;
  comment: string;
  startsAt: string;
  endsAt: string;
  matchers: SilenceMatcher[];
}

/** A silence to create. Times are ISO-8601. */
export interface NewSilence {
  matchers: SilenceMatcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

/** A call's outcome: its value, or why there is none (network error, timeout, HTTP status, bad answer). */
export type Outcome<T> = { ok: true; value: T } | { ok: false; message: string };

/** The port the engine uses; {@link createAlertmanagerClient} makes the real one. */
export interface AlertmanagerClient {
  /** The base URL without credentials or query (for messages). */
  readonly where: string;
  /** Active alerts that are neither silenced nor inhibited, filtered by `filter` matchers (`name="value"` strings). */
  listAlerts(filter: readonly string[], signal?: AbortSignal): Promise<Outcome<ApiAlert[]>>;
  /** Creates a silence. @returns its id */
  createSilence(silence: NewSilence, signal?: AbortSignal): Promise<Outcome<string>>;
  /** One silence; `undefined` when Alertmanager does not know it. */
  getSilence(id: string, signal?: AbortSignal): Promise<Outcome<ApiSilence | undefined>>;
  /** Every silence Alertmanager holds (active, pending and recently expired). */
  listSilences(signal?: AbortSignal): Promise<Outcome<ApiSilence[]>>;
  /**
   * Expires a silence. A silence already expired, or one Alertmanager does not know (it
   * forgot it after its retention), counts as expired.
   */
  expireSilence(id: string, signal?: AbortSignal): Promise<Outcome<'expired' | 'already expired' | 'unknown'>>;
}

const SILENCE_ID = /^[A-Za-z0-9-]{1,64}$/;

function describeFailure(r: HttpOutcome & { ok: false }): string {
  return `${r.message}${attemptsSuffix(r.attempts)}`;
}

function httpError(status: number, body: string): string {
  let detail = body.trim().slice(0, 200).replace(/\s+/g, ' ');
  try {
    const parsed = JSON.parse(body) as unknown;
    if (typeof parsed === 'string') detail = parsed;
    else if (parsed && typeof parsed === 'object' && typeof (parsed as { message?: unknown }).message === 'string')
      detail = (parsed as { message: string }).message;
  } catch {
    // Not JSON: the excerpt.
  }
  return `HTTP ${status}${detail ? `: ${detail}` : ''}`;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringRecord(v: unknown): Record<string, string> | undefined {
  if (!isRecord(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/** Reads one alert of `GET /api/v2/alerts`; `undefined` when it is not one. */
export function decodeAlert(v: unknown): ApiAlert | undefined {
  if (!isRecord(v)) return undefined;
  const labels = stringRecord(v.labels);
  if (!labels || typeof v.startsAt !== 'string') return undefined;
  const status = isRecord(v.status) ? v.status : {};
  return {
    labels,
    startsAt: v.startsAt,
    ...(typeof v.fingerprint === 'string' ? { fingerprint: v.fingerprint } : {}),
    ...(typeof status.state === 'string' ? { state: status.state } : {}),
  };
}

function decodeSilence(v: unknown): ApiSilence | undefined {
  if (!isRecord(v) || typeof v.id !== 'string') return undefined;
  const status = isRecord(v.status) ? v.status : {};
  const matchers = Array.isArray(v.matchers)
    ? v.matchers.filter(isRecord).map((m) => ({
        name: String(m.name),
        value: String(m.value),
        isRegex: m.isRegex === true,
        isEqual: m.isEqual !== false,
      }))
    : [];
  return {
    id: v.id,
    state: typeof status.state === 'string' ? status.state : 'unknown',
    createdBy: typeof v.createdBy === 'string' ? v.createdBy : '',
    comment: typeof v.comment === 'string' ? v.comment : '',
    startsAt: typeof v.startsAt === 'string' ? v.startsAt : '',
    endsAt: typeof v.endsAt === 'string' ? v.endsAt : '',
    matchers,
  };
}

/**
 * Makes the client for the spec's `alerts.alertmanager`: expands `${VAR}` in the URL and
 * headers, reads the bearer token from the variable `bearerTokenEnv` names, and registers
 * every secret with `deps.mask` (the token and expanded header values are never printed).
 *
 * @throws ConfigurationError when the URL is not http(s), or a variable it names is unset
 */
export function createAlertmanagerClient(spec: AlertmanagerSpec, deps: AlertmanagerClientDeps): AlertmanagerClient {
  const where = 'alerts.alertmanager';
  const base = expandEnv(spec.url, deps.env, `${where}.url`).replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new ConfigurationError(
      `${where}.url must be an http(s) URL like "http://127.0.0.1:9093" (got ${JSON.stringify(redactUrl(base))})`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigurationError(`${where}.url must use http or https (got ${url.protocol})`);
  if (url.password) deps.mask(decodeURIComponent(url.password));
  const headers: Record<string, string> = { accept: 'application/json' };
  for (const [name, raw] of Object.entries(spec.headers)) {
    const value = expandEnv(raw, deps.env, `${where}.headers.${name}`);
    if (value !== raw) deps.mask(value);
    headers[name.toLowerCase()] = value;
  }
  if (spec.bearerTokenEnv !== undefined) {
    const token = secretFromEnv(`${where}.bearerTokenEnv`, spec.bearerTokenEnv, deps.env, deps.mask);
    headers.authorization = `Bearer ${token}`;
  }
  const policy: RetryPolicy = { timeoutMs: spec.timeoutMs, retries: spec.retries, backoffMs: spec.backoffMs };
  const shown = redactUrl(base);
  const send = (
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    signal: AbortSignal | undefined,
    body?: unknown,
    p: RetryPolicy = policy,
  ): Promise<HttpOutcome> =>
    sendWithRetries(
      {
        url: `${base}${path}`,
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ...(signal ? { signal } : {}),
      },
      p,
    );

  const getSilence = async (id: string, signal?: AbortSignal): Promise<Outcome<ApiSilence | undefined>> => {
    if (!SILENCE_ID.test(id)) return { ok: false, message: `not a silence id: ${JSON.stringify(id)}` };
    const r = await send('GET', `/api/v2/silence/${id}`, signal);
    if (!r.ok) return { ok: false, message: describeFailure(r) };
    if (r.status === 404) return { ok: true, value: undefined };
    if (r.status !== 200) return { ok: false, message: httpError(r.status, r.body) };
    const s = decodeSilence(parseJson(r.body));
    return s ? { ok: true, value: s } : { ok: false, message: 'not an Alertmanager silence' };
  };

  return {
    where: shown,
    async listAlerts(filter, signal) {
      const query = new URLSearchParams({ active: 'true', silenced: 'false', inhibited: 'false' });
      for (const f of filter) query.append('filter', f);
      const r = await send('GET', `/api/v2/alerts?${query.toString()}`, signal);
      if (!r.ok) return { ok: false, message: describeFailure(r) };
      if (r.status !== 200) return { ok: false, message: httpError(r.status, r.body) };
      const data = parseJson(r.body);
      if (!Array.isArray(data)) return { ok: false, message: 'not an Alertmanager v2 alerts answer (expected a list)' };
      const alerts: ApiAlert[] = [];
      for (const item of data) {
        const a = decodeAlert(item);
        if (!a)
          return { ok: false, message: 'not an Alertmanager v2 alerts answer (an alert without labels or startsAt)' };
        alerts.push(a);
      }
      return { ok: true, value: alerts };
    },
    async createSilence(silence, signal) {
      const r = await send('POST', '/api/v2/silences', signal, silence);
      if (!r.ok) return { ok: false, message: describeFailure(r) };
      if (r.status !== 200) return { ok: false, message: httpError(r.status, r.body) };
      const data = parseJson(r.body);
      const id = isRecord(data) ? data.silenceID : undefined;
      if (typeof id !== 'string' || !SILENCE_ID.test(id))
        return { ok: false, message: 'not an Alertmanager answer to a new silence (no silenceID)' };
      return { ok: true, value: id };
    },
    getSilence,
    async listSilences(signal) {
      const r = await send('GET', '/api/v2/silences', signal);
      if (!r.ok) return { ok: false, message: describeFailure(r) };
      if (r.status !== 200) return { ok: false, message: httpError(r.status, r.body) };
      const data = parseJson(r.body);
      if (!Array.isArray(data)) return { ok: false, message: 'not an Alertmanager v2 silences answer' };
      return { ok: true, value: data.map(decodeSilence).filter((s): s is ApiSilence => s !== undefined) };
    },
    async expireSilence(id, signal) {
      if (!SILENCE_ID.test(id)) return { ok: false, message: `not a silence id: ${JSON.stringify(id)}` };
      // Alertmanager answers 500 for a silence that is already expired or unknown: ask once, then look.
      const first = await send('DELETE', `/api/v2/silence/${id}`, signal, undefined, { ...policy, retries: 0 });
      if (first.ok && first.status === 200) return { ok: true, value: 'expired' };
      const seen = await getSilence(id, signal);
      if (seen.ok && seen.value === undefined) return { ok: true, value: 'unknown' };
      if (seen.ok && seen.value?.state === 'expired') return { ok: true, value: 'already expired' };
      const again = await send('DELETE', `/api/v2/silence/${id}`, signal);
      if (again.ok && again.status === 200) return { ok: true, value: 'expired' };
      return { ok: false, message: again.ok ? httpError(again.status, again.body) : describeFailure(again) };
    },
  };
}
