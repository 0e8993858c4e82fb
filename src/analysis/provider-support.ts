/**
 * What the metric providers share: reading their settings (with `${VAR}`
 * references expanded from the environment), credentials from environment
 * variable names, and HTTP requests through undici with a timeout and retries
 * with exponential backoff. Backend failures come back as values, never thrown.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { request } from 'undici';
import { ConfigurationError } from '../errors.js';
import { parseDuration } from '../spec/duration.js';

/** Settings of one provider as written under `analysis.provider.<type>`. */
export type ProviderConfig = Record<string, unknown>;

/**
 * Refuses settings the provider does not know (a typo would otherwise be ignored).
 *
 * @throws ConfigurationError listing the unknown and the known keys.
 */
export function checkKnownKeys(type: string, config: ProviderConfig, known: readonly string[]): void {
  const unknown = Object.keys(config).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new ConfigurationError(
      `analysis.provider.${type}: unknown setting${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}; known: ${known.join(', ')}`,
    );
  }
}

/**
 * Replaces `${NAME}` references with environment values (`$${` stays a literal `${`).
 *
 * @throws ConfigurationError naming the variable when it is not set.
 */
export function expandEnv(text: string, env: NodeJS.ProcessEnv, where: string): string {
  return text.replace(/\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (match, escaped: string | undefined, name: string) => {
    if (escaped !== undefined) return match.slice(1);
    const value = env[name];
    if (value === undefined)
      throw new ConfigurationError(`${where} refers to \${${name}}, which is not set in the environment`);
    return value;
  });
}

/**
 * Reads a string setting.
 *
 * @throws ConfigurationError when it is required and missing, or not a string.
 */
export function configString(type: string, config: ProviderConfig, key: string, required: true): string;
export function configString(type: string, config: ProviderConfig, key: string, required?: false): string | undefined;
export function configString(type: string, config: ProviderConfig, key: string, required = false): string | undefined {
  const value = config[key];
  if (value === undefined || value === null) {
    if (required) throw new ConfigurationError(`analysis.provider.${type}.${key} is required`);
    return undefined;
  }
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigurationError(
      `analysis.provider.${type}.${key} must be a non-empty string (got ${JSON.stringify(value)})`,
    );
  }
  return value;
}

/**
 * Reads a duration setting (`"10s"`, `"500ms"`, or a number of seconds) in milliseconds.
 *
 * @throws ConfigurationError when it is not a positive duration.
 */
export function configDurationMs(type: string, config: ProviderConfig, key: string, defaultMs: number): number {
  const value = config[key];
  if (value === undefined || value === null) return defaultMs;
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new ConfigurationError(
      `analysis.provider.${type}.${key} must be a duration like "10s" (got ${JSON.stringify(value)})`,
    );
  }
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (err) {
    throw new ConfigurationError(
      `analysis.provider.${type}.${key}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  if (ms <= 0)
    throw new ConfigurationError(`analysis.provider.${type}.${key} must be above zero (got ${JSON.stringify(value)})`);
  return ms;
}

/**
 * Reads a whole-number setting within `[min, max]`.
 *
 * @throws ConfigurationError when it is not such a number.
 */
export function configInteger(
  type: string,
  config: ProviderConfig,
  key: string,
  defaultValue: number,
  min: number,
  max: number,
): number {
  const value = config[key];
  if (value === undefined || value === null) return defaultValue;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(
      `analysis.provider.${type}.${key} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`,
    );
  }
  return value;
}

/**
 * Reads a map of strings (HTTP headers), expanding `${VAR}` in each value and
 * masking values that referenced a variable (they usually carry secrets).
 *
 * @throws ConfigurationError when it is not a map of strings or a variable is unset.
 */
export function configHeaders(
  type: string,
  config: ProviderConfig,
  key: string,
  env: NodeJS.ProcessEnv,
  mask: (s: string) => void,
): Record<string, string> {
  const value = config[key];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError(`analysis.provider.${type}.${key} must be a map of header names to strings`);
  }
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
    if (typeof raw !== 'string')
      throw new ConfigurationError(`analysis.provider.${type}.${key}.${name} must be a string`);
    const expanded = expandEnv(raw, env, `analysis.provider.${type}.${key}.${name}`);
    if (expanded !== raw) mask(expanded);
    out[name.toLowerCase()] = expanded;
  }
  return out;
}

/**
 * Reads a secret from the environment variable NAMED by a setting (the spec
 * holds the name, never the secret) and registers it with `mask`.
 *
 * @throws ConfigurationError when the setting is not a variable name or the variable is unset or empty.
 */
export function secretFromEnv(where: string, name: unknown, env: NodeJS.ProcessEnv, mask: (s: string) => void): string {
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new ConfigurationError(`${where} must name an environment variable (got ${JSON.stringify(name)})`);
  }
  const value = env[name];
  if (value === undefined || value === '')
    throw new ConfigurationError(`${where} names ${name}, which is not set in the environment`);
  mask(value);
  return value;
}

/** Retry and timeout settings of provider HTTP requests. */
export interface RetryPolicy {
  /** Time allowed for one attempt, ms. */
  timeoutMs: number;
  /** Extra attempts after a retryable failure (refused, reset, timeout, HTTP 5xx or 429). */
  retries: number;
  /** Delay before the first retry, ms; doubled for each further retry, at most 10 s. */
  backoffMs: number;
}

/** An HTTP exchange's outcome: a response of any status, or why there was none. */
export type HttpOutcome =
  | { ok: true; status: number; body: string; attempts: number }
  | { ok: false; message: string; attempts: number; aborted: boolean };

/** A request to send. */
export interface HttpRequest {
  url: string;
  method: 'GET' | 'POST' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** Most bytes of a response body read (a metrics page or a query result); more is an error. */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

function describeNetworkError(err: unknown, timeoutMs: number, timedOut: boolean): string {
  if (timedOut) return `timed out after ${timeoutMs / 1000}s`;
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return `connection reset (${code})`;
  if (code === 'ENOTFOUND') return 'host not found (ENOTFOUND)';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
    return `timed out after ${timeoutMs / 1000}s (${code})`;
  return `${e.message ?? String(err)}${code ? ` (${code})` : ''}`;
}

function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * Sends a request with undici, retrying network failures, timeouts and HTTP
 * 5xx/429 answers up to `policy.retries` times with exponential backoff.
 * Other statuses (2xx, 4xx) are returned as they are, after the first attempt.
 * Never throws: an abort through `req.signal` ends it with `aborted: true`.
 */
export async function sendWithRetries(req: HttpRequest, policy: RetryPolicy): Promise<HttpOutcome> {
  let attempts = 0;
  let last: HttpOutcome = { ok: false, message: 'not attempted', attempts: 0, aborted: false };
  for (let attempt = 0; attempt <= policy.retries; attempt++) {
    if (req.signal?.aborted) return { ok: false, message: 'aborted', attempts, aborted: true };
    if (attempt > 0) {
      const wait = Math.min(10_000, policy.backoffMs * 2 ** (attempt - 1));
      try {
        await delay(wait, undefined, req.signal ? { signal: req.signal } : undefined);
      } catch {
        return { ok: false, message: 'aborted', attempts, aborted: true };
      }
    }
    attempts++;
    const timeout = AbortSignal.timeout(policy.timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    try {
      const res = await request(req.url, {
        method: req.method,
        headers: req.headers ?? {},
        ...(req.body !== undefined && { body: req.body }),
        signal,
        headersTimeout: policy.timeoutMs,
        bodyTimeout: policy.timeoutMs,
      });
      const length = Number(res.headers['content-length'] ?? 0);
      if (length > MAX_RESPONSE_BYTES) {
        res.body.destroy();
        return {
          ok: false,
          message: `response of ${length} bytes is larger than ${MAX_RESPONSE_BYTES}`,
          attempts,
          aborted: false,
        };
      }
      const body = await res.body.text();
      last = { ok: true, status: res.statusCode, body, attempts };
      if (!isRetryableStatus(res.statusCode)) return last;
    } catch (err) {
      if (req.signal?.aborted) return { ok: false, message: 'aborted', attempts, aborted: true };
      last = {
        ok: false,
        message: describeNetworkError(err, policy.timeoutMs, timeout.aborted),
        attempts,
        aborted: false,
      };
    }
  }
  return last;
}

/**
 * A URL fit for messages, state and logs: user and password removed, and the
 * query string dropped (it may carry tokens): `https://u:p@host/api?q=1` → `https://host/api`.
 * Text that is not a URL is returned as it is.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
  } catch {
    return url;
  }
}

/** `" after 3 attempts"` when more than one attempt was made, else `""`. */
export function attemptsSuffix(attempts: number): string {
  return attempts > 1 ? ` after ${attempts} attempts` : '';
}
