/**
 * Every provider's settings schema by registry key: what `src/spec/schema.ts`
 * builds `analysis.provider` from (and so the JSON Schema and `validate`).
 * A new provider adds its `<type>-settings.ts` here and its factory to `index.ts`.
 */
import { AlertsSchema } from './alertmanager-settings.js';
import { HttpSettingsSchema } from './http-settings.js';
import { PrometheusSettingsSchema } from './prometheus-settings.js';
import { ScrapeSettingsSchema } from './scrape-settings.js';

export const PROVIDER_SETTINGS_SCHEMAS = {
  prometheus: PrometheusSettingsSchema,
  scrape: ScrapeSettingsSchema,
  http: HttpSettingsSchema,
} as const;

/** The spec's `alerts` section (Alertmanager as a gate, silences): declared beside the providers' settings. */
export const ALERTS_SETTINGS_SCHEMA = AlertsSchema;
