/**
 * `http` provider: GETs a URL and picks a number out of the JSON answer with
 * a dotted path. For metric backends with a JSON API of their own, or a
 * service's own stats endpoint. See `docs/providers/http.md`.
 *
 * The URL is the provider's `url` setting with `{{query}}` replaced by the
 * metric's rendered query (URL-encoded), or — without a `url` setting — the
 * rendered query itself. The JSON path is the URL's fragment (`#data.value`,
 * never sent to the server) or else the `json` setting. A number (or numeric
 * string) is the value; an array of numbers gives samples and their mean.
 */
import { ConfigurationError } from '../../errors.js';
import { formatValue } from '../messages.js';
import {
  attemptsSuffix,
  checkKnownKeys,
  configDurationMs,
  configHeaders,
  configInteger,
  configString,
  expandEnv,
  redactUrl,
  sendWithRetries,
  type RetryPolicy,
} from '../provider-support.js';
import type { MeasureRequest, MetricProvider, ProviderDeps, ProviderFactory, ProviderResult } from '../types.js';

/** Registry key. */
export const type = 'http';

/** Settings the provider accepts. */
export const HTTP_SETTINGS = ['url', 'json', 'headers', 'timeout', 'retries', 'backoff'] as const;

/** Defaults: 10 s per request, 2 retries from 500 ms. */
export const HTTP_DEFAULTS = { timeoutMs: 10_000, retries: 2, backoffMs: 500 } as const;

/** Normalized settings. */
export interface HttpProviderSettings {
  /** URL template (`${VAR}` already expanded); `{{query}}` is filled per measurement. Absent: the query is the URL. */
  url?: string;
  /** Default dotted JSON path. */
  json?: string;
  headers: Record<string, string>;
  policy: RetryPolicy;
}

/**
 * Validates and normalizes the settings.
 *
 * @throws ConfigurationError on unknown settings, an unset `${VAR}` or bad values.
 */
export function parseHttpSettings(config: Record<string, unknown>, deps: ProviderDeps): HttpProviderSettings {
  checkKnownKeys(type, config, HTTP_SETTINGS);
  const written = configString(type, config, 'url');
  const json = configString(type, config, 'json');
  const settings: HttpProviderSettings = {
    headers: configHeaders(type, config, 'headers', deps.env, deps.mask),
    policy: {
      timeoutMs: configDurationMs(type, config, 'timeout', HTTP_DEFAULTS.timeoutMs),
      retries: configInteger(type, config, 'retries', HTTP_DEFAULTS.retries, 0, 10),
      backoffMs: configDurationMs(type, config, 'backoff', HTTP_DEFAULTS.backoffMs),
    },
  };
  if (written !== undefined) settings.url = expandEnv(written, deps.env, `analysis.provider.${type}.url`);
  if (json !== undefined) settings.json = json;
  return settings;
}

/**
 * Reads a dotted path (`data.result.0.value`, `items[2].p99`) from parsed JSON.
 *
 * @returns the value found, or `undefined` when a step is missing.
 */
export function readJsonPath(data: unknown, path: string): unknown {
  const steps = path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((s) => s !== '');
  let current: unknown = data;
  for (const step of steps) {
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      if (!/^\d+$/.test(step)) return undefined;
      current = current[Number(step)];
    } else {
      if (!Object.hasOwn(current, step)) return undefined;
      current = (current as Record<string, unknown>)[step];
    }
  }
  return current;
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value.trim());
    return Number.isNaN(n) && value.trim() !== 'NaN' ? undefined : n;
  }
  return undefined;
}

/** The `http` provider. */
export class HttpMetricProvider implements MetricProvider {
  readonly type = type;

  constructor(private readonly settings: HttpProviderSettings) {}

  /** The URL and JSON path a rendered query resolves to, or why it does not. */
  resolve(query: string): { url: string; path: string } | { error: string } {
    const raw =
      this.settings.url !== undefined
        ? this.settings.url.replace(/\{\{\s*query\s*\}\}/g, () => encodeURIComponent(query))
        : query.trim();
    const hash = raw.indexOf('#');
    const url = hash >= 0 ? raw.slice(0, hash) : raw;
    const path = (hash >= 0 ? decodeURIComponent(raw.slice(hash + 1)) : '') || this.settings.json;
    if (!/^https?:\/\//.test(url)) return { error: `not an http(s) URL: ${JSON.stringify(url)}` };
    if (path === undefined) return { error: 'no JSON path: add "#path.to.number" to the URL or set json' };
    return { url, path };
  }

  /** GETs the URL and reads the number at the JSON path. Never throws. */
  async measure(req: MeasureRequest): Promise<ProviderResult> {
    const target = this.resolve(req.query);
    if ('error' in target) return { ok: false, verdict: 'error', message: target.error };
    const outcome = await sendWithRetries(
      {
        url: target.url,
        method: 'GET',
        headers: { accept: 'application/json', ...this.settings.headers },
        ...(req.signal && { signal: req.signal }),
      },
      this.settings.policy,
    );
    const where = redactUrl(target.url);
    if (!outcome.ok)
      return {
        ok: false,
        verdict: 'error',
        message: `GET ${where}: ${outcome.message}${attemptsSuffix(outcome.attempts)}`,
      };
    if (outcome.status < 200 || outcome.status >= 300) {
      return {
        ok: false,
        verdict: 'error',
        message: `GET ${where}: HTTP ${outcome.status}${attemptsSuffix(outcome.attempts)}`,
      };
    }
    let data: unknown;
    try {
      data = JSON.parse(outcome.body);
    } catch {
      return { ok: false, verdict: 'error', message: `GET ${where}: the answer is not JSON` };
    }
    const found = readJsonPath(data, target.path);
    if (found === undefined || found === null)
      return { ok: false, verdict: 'inconclusive', message: `no value at ${target.path}` };
    if (Array.isArray(found)) {
      const numbers = found.map(toNumber);
      if (numbers.some((n) => n === undefined))
        return { ok: false, verdict: 'error', message: `${target.path} is an array with non-numbers` };
      const samples = (numbers as number[]).filter(Number.isFinite);
      if (samples.length === 0)
        return { ok: false, verdict: 'inconclusive', message: `${target.path} holds no finite number` };
      return { ok: true, value: samples.reduce((a, b) => a + b, 0) / samples.length, samples };
    }
    const value = toNumber(found);
    if (value === undefined)
      return {
        ok: false,
        verdict: 'error',
        message: `${target.path} is not a number (${JSON.stringify(found).slice(0, 80)})`,
      };
    if (!Number.isFinite(value))
      return { ok: false, verdict: 'inconclusive', message: `value is ${formatValue(value)} at ${target.path}` };
    return { ok: true, value };
  }
}

/**
 * Creates the provider.
 *
 * @throws ConfigurationError on bad settings (see {@link parseHttpSettings}).
 */
export const createHttpProvider: ProviderFactory = (config, deps) => {
  const settings = parseHttpSettings(config, deps);
  if (settings.url !== undefined && !/^https?:\/\//.test(settings.url)) {
    throw new ConfigurationError(
      `analysis.provider.${type}.url must be an http(s) URL (got ${JSON.stringify(settings.url)})`,
    );
  }
  return new HttpMetricProvider(settings);
};
