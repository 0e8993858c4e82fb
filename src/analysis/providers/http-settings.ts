/** Settings of the `http` provider, as written under `analysis.provider.http` (see `docs/providers/http.md`). */
import { z } from 'zod';
import { e, headers, retrySettings, settings } from './settings-support.js';

export const HttpSettingsSchema = settings('http', {
  url: z
    .string(e('must be a URL', 'an http(s) URL; ${VAR} is read from the environment'))
    .min(1, e('must be a URL', 'an http(s) URL'))
    .optional()
    .describe('URL template; {{query}} is filled with each metric query; absent: the query is the URL.'),
  json: z
    .string(e('must be a JSON path', 'dot-separated keys like data.value or items[2].p99'))
    .min(1, e('must be a JSON path', 'dot-separated keys like data.value or items[2].p99'))
    .optional()
    .describe('Field of the JSON answer holding the number, like data.value.'),
  headers: headers().optional().describe('Extra request headers.'),
  ...retrySettings({ timeout: '10s', retries: 2, backoff: '500ms' }),
}).meta({ id: 'HttpSettings', description: 'GET a URL and read a number from its JSON answer.' });
