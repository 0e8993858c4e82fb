/**
 * `prometheus` provider: PromQL over the Prometheus HTTP API
 * (`/api/v1/query`, `/api/v1/query_range`), with undici. See
 * `docs/providers/prometheus.md`.
 *
 * Every query is evaluated at the window's end (`time = endMs / 1000`), so a
 * window that elapsed long ago is measured the same way as one that just
 * closed. Requests are POSTed form-encoded (a `{{targets.regex}}` over
 * thousands of targets does not fit in a URL). Rules from the API reference
 * (research notes §7): sample values are strings and may be `"NaN"`, `"+Inf"`,
 * `"-Inf"`; an empty vector is no data, never a pass; HTTP 400/422/503 and
 * `status: "error"` carry `errorType` and `error`.
 */
import { ConfigurationError } from '../../errors.js';
import { parsePromFloat } from '../exposition.js';
import { formatValue } from '../messages.js';
import { formatPromDuration } from '../query.js';
import {
  attemptsSuffix,
  checkKnownKeys,
  configDurationMs,
  configHeaders,
  configInteger,
  configString,
  expandEnv,
  redactUrl,
  secretFromEnv,
  sendWithRetries,
  type RetryPolicy,
} from '../provider-support.js';
import type { MeasureRequest, MetricProvider, ProviderDeps, ProviderFactory, ProviderResult } from '../types.js';
import { countQueries } from './promql-ratio.js';

/** Registry key. */
export const type = 'prometheus';

/** Settings the provider accepts. */
export const PROMETHEUS_SETTINGS = [
  'address',
  'bearerTokenEnv',
  'basicAuth',
  'headers',
  'timeout',
  'retries',
  'backoff',
  'step',
] as const;

/** Defaults: 30 s per request, 2 retries from 500 ms, range step = window / 30 (at least 1 s). */
export const PROMETHEUS_DEFAULTS = {
  timeoutMs: 30_000,
  retries: 2,
  backoffMs: 500,
  rangePoints: 30,
  minStepMs: 1000,
} as const;

/** Normalized settings. */
export interface PrometheusSettings {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:9090` or `https://host/prometheus`. */
  address: string;
  headers: Record<string, string>;
  policy: RetryPolicy;
  /** Range-query step (ms); absent = window / 30, at least 1 s. */
  stepMs?: number;
}

/**
 * Validates and normalizes the settings, reading credentials from the
 * environment variables they name and registering them with `deps.mask`.
 *
 * @throws ConfigurationError on unknown settings, a missing address, an unset variable or bad values.
 */
export function parsePrometheusSettings(config: Record<string, unknown>, deps: ProviderDeps): PrometheusSettings {
  checkKnownKeys(type, config, PROMETHEUS_SETTINGS);
  const written = configString(type, config, 'address', true);
  const address = expandEnv(written, deps.env, `analysis.provider.${type}.address`).replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new ConfigurationError(
      `analysis.provider.${type}.address must be an http(s) URL like "http://127.0.0.1:9090" (got ${JSON.stringify(address)})`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigurationError(`analysis.provider.${type}.address must use http or https (got ${url.protocol})`);
  }
  if (url.password) deps.mask(decodeURIComponent(url.password));
  const headers = configHeaders(type, config, 'headers', deps.env, deps.mask);
  if (config.bearerTokenEnv !== undefined && config.basicAuth !== undefined) {
    throw new ConfigurationError(`analysis.provider.${type}: use bearerTokenEnv or basicAuth, not both`);
  }
  if (config.bearerTokenEnv !== undefined) {
    const token = secretFromEnv(`analysis.provider.${type}.bearerTokenEnv`, config.bearerTokenEnv, deps.env, deps.mask);
    headers.authorization = `Bearer ${token}`;
  }
  if (config.basicAuth !== undefined) {
    const auth = config.basicAuth as Record<string, unknown> | null;
    if (typeof auth !== 'object' || auth === null || Array.isArray(auth)) {
      throw new ConfigurationError(`analysis.provider.${type}.basicAuth must be {usernameEnv, passwordEnv}`);
    }
    checkKnownKeys(`${type}.basicAuth`, auth, ['usernameEnv', 'passwordEnv']);
    const user = secretFromEnv(
      `analysis.provider.${type}.basicAuth.usernameEnv`,
      auth.usernameEnv,
      deps.env,
      () => undefined,
    );
    const password = secretFromEnv(
      `analysis.provider.${type}.basicAuth.passwordEnv`,
      auth.passwordEnv,
      deps.env,
      deps.mask,
    );
    const encoded = Buffer.from(`${user}:${password}`).toString('base64');
    deps.mask(encoded);
    headers.authorization = `Basic ${encoded}`;
  }
  const settings: PrometheusSettings = {
    address,
    headers,
    policy: {
      timeoutMs: configDurationMs(type, config, 'timeout', PROMETHEUS_DEFAULTS.timeoutMs),
      retries: configInteger(type, config, 'retries', PROMETHEUS_DEFAULTS.retries, 0, 10),
      backoffMs: configDurationMs(type, config, 'backoff', PROMETHEUS_DEFAULTS.backoffMs),
    },
  };
  if (config.step !== undefined)
    settings.stepMs = configDurationMs(type, config, 'step', PROMETHEUS_DEFAULTS.minStepMs);
  return settings;
}

/** The API's JSON envelope (only what is read). */
interface ApiEnvelope {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

type Sample = [number, string];
interface VectorItem {
  metric?: Record<string, string>;
  value?: Sample;
}
interface MatrixItem {
  metric?: Record<string, string>;
  values?: Sample[];
}

/** A decoded query answer: its values, or why there are none. */
type Decoded =
  { ok: true; values: number[]; series: number } | { ok: false; verdict: 'error' | 'inconclusive'; message: string };

function describeSeries(metric: Record<string, string> | undefined): string {
  if (!metric || Object.keys(metric).length === 0) return '{}';
  const name = metric.__name__ ?? '';
  const labels = Object.entries(metric)
    .filter(([k]) => k !== '__name__')
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return `${name}{${labels}}`;
}

/** Reads a sample value `[t, "1.5"]`; `"NaN"`, `"+Inf"`, `"-Inf"` become those numbers (`Number("+Inf")` alone is NaN). */
function sampleValue(sample: unknown): number {
  if (!Array.isArray(sample) || typeof sample[1] !== 'string') return Number.NaN;
  return parsePromFloat(sample[1]) ?? Number.NaN;
}

/**
 * Turns an API answer into values. Empty results and non-finite values are
 * `inconclusive` (no data); malformed answers and API errors are `error`.
 * Exported for tests.
 */
export function decodeApiResponse(status: number, body: string, expect: 'instant' | 'range'): Decoded {
  let envelope: ApiEnvelope;
  try {
    envelope = JSON.parse(body) as ApiEnvelope;
  } catch {
    const excerpt = body.slice(0, 200).replace(/\s+/g, ' ').trim();
    return {
      ok: false,
      verdict: 'error',
      message: `HTTP ${status}: not a Prometheus API answer${excerpt ? ` (${excerpt})` : ''}`,
    };
  }
  if (status < 200 || status >= 300 || envelope.status !== 'success') {
    const kind = envelope.errorType ? ` ${envelope.errorType}` : '';
    const text = envelope.error ? `: ${envelope.error}` : '';
    return {
      ok: false,
      verdict: 'error',
      message: `HTTP ${status}${kind}${text || (envelope.status ? ` (status ${envelope.status})` : '')}`,
    };
  }
  const resultType = envelope.data?.resultType;
  const result = envelope.data?.result;
  let pairs: Array<{ series: string; value: number }> = [];
  let seriesCount = 0;
  if (resultType === 'vector' && Array.isArray(result) && expect === 'instant') {
    const items = result as VectorItem[];
    seriesCount = items.length;
    pairs = items.map((item) => ({ series: describeSeries(item.metric), value: sampleValue(item.value) }));
  } else if (resultType === 'scalar' && expect === 'instant') {
    seriesCount = 1;
    pairs = [{ series: 'scalar', value: sampleValue(result) }];
  } else if (resultType === 'matrix' && Array.isArray(result) && expect === 'range') {
    const items = result as MatrixItem[];
    seriesCount = items.length;
    pairs = items.flatMap((item) =>
      (item.values ?? []).map((v) => ({ series: describeSeries(item.metric), value: sampleValue(v) })),
    );
  } else if (resultType === 'matrix' && expect === 'instant') {
    return {
      ok: false,
      verdict: 'error',
      message: 'the query returns a range vector; wrap it in a function such as rate() or avg_over_time()',
    };
  } else {
    return { ok: false, verdict: 'error', message: `unexpected result type ${JSON.stringify(resultType)}` };
  }
  if (pairs.length === 0) return { ok: false, verdict: 'inconclusive', message: 'empty result' };
  const bad = pairs.find((p) => !Number.isFinite(p.value));
  if (bad && expect === 'instant') {
    return { ok: false, verdict: 'inconclusive', message: `value is ${formatValue(bad.value)} for ${bad.series}` };
  }
  const values = pairs.map((p) => p.value).filter(Number.isFinite);
  if (values.length === 0)
    return { ok: false, verdict: 'inconclusive', message: 'every value in the range is NaN or infinite' };
  return { ok: true, values, series: seriesCount };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** The `prometheus` provider. */
export class PrometheusProvider implements MetricProvider {
  readonly type = type;

  constructor(private readonly settings: PrometheusSettings) {}

  private async call(
    path: '/api/v1/query' | '/api/v1/query_range',
    params: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<Decoded> {
    // Ask the server to give up a little before the client does, so it answers 503 errorType "timeout" (research notes §7).
    const serverTimeoutS = Math.max(1, Math.floor(this.settings.policy.timeoutMs / 1000) - 1);
    const body = new URLSearchParams({ ...params, timeout: `${serverTimeoutS}s` }).toString();
    const outcome = await sendWithRetries(
      {
        url: `${this.settings.address}${path}`,
        method: 'POST',
        headers: {
          ...this.settings.headers,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body,
        ...(signal && { signal }),
      },
      this.settings.policy,
    );
    if (!outcome.ok) {
      return {
        ok: false,
        verdict: 'error',
        message: `prometheus at ${redactUrl(this.settings.address)}: ${outcome.message}${attemptsSuffix(outcome.attempts)}`,
      };
    }
    const decoded = decodeApiResponse(outcome.status, outcome.body, path === '/api/v1/query' ? 'instant' : 'range');
    if (!decoded.ok && decoded.verdict === 'error') {
      return {
        ...decoded,
        message: `prometheus at ${redactUrl(this.settings.address)}: ${decoded.message}${attemptsSuffix(outcome.attempts)}`,
      };
    }
    return decoded;
  }

  /**
   * Instant query at the window end. One series (or a scalar) is the value; several
   * series are per-series samples (e.g. `by (instance)`) and the value is their mean.
   * A statistical metric whose query returns one series also gets per-interval samples
   * from a range query over the window (step: `step` setting, else window / 30, ≥ 1 s).
   * Never throws.
   */
  async measure(req: MeasureRequest): Promise<ProviderResult> {
    const endS = req.window.endMs / 1000;
    const wantsCounts =
      req.metric.statistical === undefined &&
      (req.metric.maxIncreasePercent !== undefined || req.metric.minSamples !== undefined);
    const parts = wantsCounts ? countQueries(req.query) : undefined;
    if (parts) return this.measureCounts(parts, endS, req.signal);
    const instant = await this.call('/api/v1/query', { query: req.query, time: String(endS) }, req.signal);
    if (!instant.ok) return instant;
    if (instant.series > 1) return { ok: true, value: mean(instant.values), samples: instant.values };
    const value = instant.values[0] as number;
    if (!req.metric.statistical) return { ok: true, value };
    const lengthMs = Math.max(0, req.window.endMs - req.window.startMs);
    const stepMs =
      this.settings.stepMs ??
      Math.max(PROMETHEUS_DEFAULTS.minStepMs, Math.floor(lengthMs / PROMETHEUS_DEFAULTS.rangePoints));
    const range = await this.call(
      '/api/v1/query_range',
      {
        query: req.query,
        start: String(req.window.startMs / 1000),
        end: String(endS),
        step: formatPromDuration(stepMs),
      },
      req.signal,
    );
    if (!range.ok) return { ok: false, verdict: range.verdict, message: `range query for samples: ${range.message}` };
    return { ok: true, value, samples: range.values };
  }

  /** Ratios of counters (`sum(rate(A[w])) / sum(rate(B[w]))`) report event counts: see `promql-ratio.ts`. */
  countable(query: string): boolean {
    return countQueries(query) !== undefined;
  }

  /**
   * Evaluates a ratio of counters as its two sides' increases at the window end:
   * events (numerator) and exposure (denominator); the value is their ratio. An empty
   * numerator with requests counted is 0 events (no series for 5xx yet); an empty or
   * zero denominator is no data.
   */
  private async measureCounts(
    parts: { numerator: string; denominator: string },
    endS: number,
    signal: AbortSignal | undefined,
  ): Promise<ProviderResult> {
    const time = String(endS);
    const [num, den] = await Promise.all([
      this.call('/api/v1/query', { query: parts.numerator, time }, signal),
      this.call('/api/v1/query', { query: parts.denominator, time }, signal),
    ]);
    if (!den.ok) return { ok: false, verdict: den.verdict, message: `requests (${parts.denominator}): ${den.message}` };
    if (!num.ok && (num.verdict === 'error' || num.message !== 'empty result'))
      return { ok: false, verdict: num.verdict, message: `events (${parts.numerator}): ${num.message}` };
    const exposure = den.values.reduce((a, b) => a + b, 0);
    const events = num.ok ? num.values.reduce((a, b) => a + b, 0) : 0;
    if (!(exposure > 0))
      return {
        ok: false,
        verdict: 'inconclusive',
        message: `${parts.denominator} did not increase in the window (0/0)`,
      };
    return { ok: true, value: events / exposure, counts: { events, exposure } };
  }
}

/**
 * Creates the provider.
 *
 * @throws ConfigurationError on bad settings (see {@link parsePrometheusSettings}).
 */
export const createPrometheusProvider: ProviderFactory = (config, deps) =>
  new PrometheusProvider(parsePrometheusSettings(config, deps));
