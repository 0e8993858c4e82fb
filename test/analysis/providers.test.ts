import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HTTP_SETTINGS } from '../../src/analysis/providers/http.js';
import { createProvider, getProviderTypes } from '../../src/analysis/providers/index.js';
import { PROMETHEUS_SETTINGS } from '../../src/analysis/providers/prometheus.js';
import { SCRAPE_SETTINGS } from '../../src/analysis/providers/scrape.js';
import { ConfigurationError } from '../../src/errors.js';
import { parseSpec } from '../../src/spec/parse.js';
import { KNOWN_PROVIDER_TYPES } from '../../src/spec/schema.js';

const ROOT = resolve(import.meta.dirname, '../..');
const deps = { env: { PROM_URL: 'http://127.0.0.1:9090', PROM_TOKEN: 't' }, mask: () => undefined, now: () => 0 };

describe('provider registry', () => {
  it('registers exactly the provider types the spec schema accepts', () => {
    expect(getProviderTypes().sort()).toEqual([...KNOWN_PROVIDER_TYPES].sort());
  });

  it('refuses an unknown type with a ConfigurationError listing the known ones', () => {
    expect(() => createProvider({ type: 'datadog', config: {} }, deps)).toThrow(ConfigurationError);
    expect(() => createProvider({ type: 'datadog', config: {} }, deps)).toThrow(
      'unknown metric provider type "datadog"; known types: prometheus, scrape, http',
    );
  });

  it('creates each provider with its type', () => {
    expect(createProvider({ type: 'prometheus', config: { address: '${PROM_URL}' } }, deps).type).toBe('prometheus');
    expect(createProvider({ type: 'scrape', config: {} }, deps).type).toBe('scrape');
    expect(createProvider({ type: 'http', config: { url: 'http://x/{{query}}', json: 'v' } }, deps).type).toBe('http');
  });
});

describe('docs drift', () => {
  const settings: Record<string, readonly string[]> = {
    prometheus: PROMETHEUS_SETTINGS,
    scrape: SCRAPE_SETTINGS,
    http: HTTP_SETTINGS,
  };

  it.each(getProviderTypes())('provider %s has a docs page naming every setting', (type) => {
    const page = join(ROOT, 'docs/providers', `${type}.md`);
    expect(existsSync(page), page).toBe(true);
    const text = readFileSync(page, 'utf8');
    for (const key of settings[type] ?? []) expect(text, `${type}.md mentions ${key}`).toContain(`\`${key}\``);
  });

  it('docs/analysis.md links every provider page', () => {
    const text = readFileSync(join(ROOT, 'docs/analysis.md'), 'utf8');
    for (const type of getProviderTypes()) expect(text).toContain(`providers/${type}.md`);
  });
});

describe('rollouts/examples/analysis-seed000.yaml', () => {
  const file = 'rollouts/examples/analysis-seed000.yaml';
  const result = parseSpec(readFileSync(join(ROOT, file), 'utf8'), file);

  it('is a valid spec', () => {
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  it('implements seed 000 canary criteria with the right thresholds and severities', () => {
    if (!result.ok) throw new Error('invalid spec');
    const analysis = result.spec.analysis;
    expect(analysis?.provider.type).toBe('prometheus');
    const byName = new Map(analysis?.metrics.map((m) => [m.name, m]));
    expect(byName.get('scheduling-cycle-p99')).toMatchObject({
      threshold: { op: '<', value: 30 },
      severity: 'warning',
    });
    expect(byName.get('rejected-proposals')).toMatchObject({ maxIncreasePercent: 10, severity: 'warning' });
    expect(byName.get('heartbeat-latency-p99')).toMatchObject({
      threshold: { op: '<', value: 5 },
      severity: 'warning',
    });
    expect(byName.get('raft-commit-latency-p99')).toMatchObject({
      threshold: { op: '<', value: 5 },
      severity: 'critical',
    });
    expect(byName.get('api-5xx-ratio')).toMatchObject({ maxIncreasePercent: 5, severity: 'warning' });
    expect(byName.get('allocation-failure-rate')).toMatchObject({
      statistical: { passScore: 95, marginalScore: 75 },
      severity: 'critical',
    });
    // Its provider settings are accepted by the provider itself.
    expect(createProvider(analysis!.provider, deps).type).toBe('prometheus');
  });
});

describe('redactUrl', () => {
  it('drops credentials, query and fragment from URLs shown in messages and state', async () => {
    const { redactUrl } = await import('../../src/analysis/provider-support.js');
    expect(redactUrl('https://user:pw@prom.example.net/api/v1?token=x#f')).toBe('https://prom.example.net/api/v1');
    expect(redactUrl('http://127.0.0.1:9090')).toBe('http://127.0.0.1:9090');
    expect(redactUrl('http://127.0.0.1:9090/')).toBe('http://127.0.0.1:9090/');
    expect(redactUrl('not a url')).toBe('not a url');
  });

  it('a refused Prometheus with credentials in its address never shows them', async () => {
    const masked: string[] = [];
    const p = createProvider(
      { type: 'prometheus', config: { address: 'http://admin:hunter2@127.0.0.1:1', retries: 0 } },
      { ...deps, mask: (s) => void masked.push(s) },
    );
    const r = await p.measure({
      metric: {
        name: 'm',
        query: 'up',
        severity: 'warning',
        noData: 'pause',
        intervalMs: 1,
        count: 1,
        failureLimit: 0,
        inconclusiveLimit: 0,
      },
      query: 'up',
      cohort: { name: 'canary', targets: [] },
      window: { startMs: 0, endMs: 1 },
    });
    expect(masked).toContain('hunter2');
    expect(r).toEqual({
      ok: false,
      verdict: 'error',
      message: 'prometheus at http://127.0.0.1:1: connection refused (ECONNREFUSED)',
    });
  });
});
