/**
 * The metric provider registry: one provider per file in this folder, keyed
 * by the `type` it exports (the key written under `analysis.provider`).
 */
import { ConfigurationError } from '../../errors.js';
import type { MetricProvider, ProviderDeps, ProviderFactory } from '../types.js';
import * as http from './http.js';
import * as prometheus from './prometheus.js';
import * as scrape from './scrape.js';

const REGISTRY = new Map<string, ProviderFactory>([
  [prometheus.type, prometheus.createPrometheusProvider],
  [scrape.type, scrape.createScrapeProvider],
  [http.type, http.createHttpProvider],
]);

/** Registered provider types, in registration order: `['prometheus', 'scrape', 'http']`. */
export function getProviderTypes(): string[] {
  return [...REGISTRY.keys()];
}

/**
 * Creates the provider a spec's `analysis.provider` names.
 *
 * @param provider - `{type, config}` from the normalized spec (`AnalysisSpec.provider`).
 * @throws ConfigurationError when the type is unknown (listing the known ones) or its settings are invalid.
 */
export function createProvider(
  provider: { type: string; config: Record<string, unknown> },
  deps: ProviderDeps,
): MetricProvider {
  const factory = REGISTRY.get(provider.type);
  if (factory === undefined) {
    throw new ConfigurationError(
      `unknown metric provider type ${JSON.stringify(provider.type)}; known types: ${getProviderTypes().join(', ')}`,
    );
  }
  return factory(provider.config, deps);
}
