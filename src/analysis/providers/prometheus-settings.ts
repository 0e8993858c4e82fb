/** Settings of the `prometheus` provider, as written under `analysis.provider.prometheus` (see `docs/providers/prometheus.md`). */
import { z } from 'zod';
import { e, envName, headers, positiveDuration, retrySettings, settings } from './settings-support.js';

export const PrometheusSettingsSchema = settings('prometheus', {
  address: z
    .string(e('must be the Prometheus URL', 'an http(s) URL like "http://127.0.0.1:9090" or "${PROM_URL}"'))
    .min(1, e('must be the Prometheus URL', 'an http(s) URL like "http://127.0.0.1:9090" or "${PROM_URL}"'))
    .describe(
      'Base URL of the Prometheus HTTP API, e.g. "http://127.0.0.1:9090"; ${VAR} is read from the environment.',
    ),
  bearerTokenEnv: envName()
    .optional()
    .describe('Name of the environment variable holding a bearer token (masked in logs).'),
  basicAuth: settings('prometheus.basicAuth', {
    usernameEnv: envName().describe('Name of the environment variable holding the user name.'),
    passwordEnv: envName().describe('Name of the environment variable holding the password (masked).'),
  })
    .optional()
    .describe('Basic authentication from two environment variables; not with bearerTokenEnv.'),
  headers: headers().optional().describe('Extra request headers.'),
  ...retrySettings({ timeout: '30s', retries: 2, backoff: '500ms' }),
  step: positiveDuration()
    .optional()
    .describe(
      'Step of range queries for per-interval samples (statistical metrics); default window / 30, at least 1s.',
    ),
}).meta({ id: 'PrometheusSettings', description: 'PromQL over the Prometheus HTTP API.' });
