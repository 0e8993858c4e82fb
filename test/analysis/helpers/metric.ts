/** Builders for analysis unit tests: a normalized metric with defaults, and observations. */
import type { Observation } from '../../../src/analysis/extra-types.js';
import type { ProviderResult } from '../../../src/analysis/types.js';
import type { MetricSpec } from '../../../src/spec/types.js';

/** A metric with the normalized defaults (warning, pause, count 1, limits 0) and the given overrides. */
export function metric(overrides: Partial<MetricSpec> = {}): MetricSpec {
  return {
    name: 'error-rate',
    query: 'q',
    severity: 'warning',
    noData: 'pause',
    intervalMs: 60_000,
    count: 1,
    failureLimit: 0,
    inconclusiveLimit: 0,
    ...overrides,
  };
}

/** A successful provider result. */
export function ok(value: number, samples?: number[]): ProviderResult {
  return samples ? { ok: true, value, samples } : { ok: true, value };
}

/** A failed provider result. */
export function notOk(verdict: 'error' | 'inconclusive', message: string): ProviderResult {
  return { ok: false, verdict, message };
}

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

/** An observation over [12:00, 12:15] UTC, with an optional comparison. */
export function observation(
  result: ProviderResult,
  comparison?: { kind?: 'stable' | 'before'; result: ProviderResult },
  k = 0,
): Observation {
  return {
    window: { startMs: T0 + k * 60_000, endMs: T0 + (k + 1) * 60_000 },
    query: 'q',
    cohort: ['canary-1'],
    result,
    ...(comparison && { comparison: { kind: comparison.kind ?? 'stable', result: comparison.result } }),
    atMs: T0 + (k + 1) * 60_000,
  };
}
