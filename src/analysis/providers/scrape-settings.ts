/** Settings of the `scrape` provider, as written under `analysis.provider.scrape` (see `docs/providers/scrape.md`). */
import { z } from 'zod';
import { e, headers, retrySettings, settings, wholeNumber } from './settings-support.js';

export const ScrapeSettingsSchema = settings('scrape', {
  scheme: z
    .enum(['http', 'https'], e('must be http or https', 'http or https'))
    .optional()
    .describe('URL scheme of the metrics page (default http).')
    .meta({ default: 'http' }),
  path: z
    .string(e('must be a path', 'a path starting with "/"'))
    .regex(/^\//, e('must start with "/"', 'a path like "/metrics"'))
    .optional()
    .describe('Path of the metrics page on each target (default /metrics).')
    .meta({ default: '/metrics' }),
  headers: headers().optional().describe('Extra request headers.'),
  ...retrySettings({ timeout: '5s', retries: 1, backoff: '200ms' }),
  concurrency: wholeNumber(1, 1024).optional().describe('Targets scraped at once (default 32).').meta({ default: 32 }),
}).meta({ id: 'ScrapeSettings', description: "Reads each target's own /metrics at both ends of the window." });
