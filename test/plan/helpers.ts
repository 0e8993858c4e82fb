/**
 * Builders for planner tests: complete `RolloutSpec` objects and fleets as
 * plain data (the planner does not depend on the spec parser).
 */
import type { RolloutSpec, Size, StrategySpec, Target, TierSpec } from '../../src/spec/types.js';

/** `5` → count, `'20%'` → percent, `'auto'` → auto. */
export function size(value: number | `${number}%` | 'auto'): Size {
  if (value === 'auto') return { kind: 'auto' };
  if (typeof value === 'number') return { kind: 'count', value };
  return { kind: 'percent', value: Number(value.slice(0, -1)) };
}

/** A strategy with the spec's defaults (auto canary and waves, maxUnavailable 1, 15 min window, 60 s per target). */
export function strategy(overrides: Partial<StrategySpec> = {}): StrategySpec {
  return {
    canary: { kind: 'auto' },
    waves: { kind: 'auto' },
    maxUnavailable: { kind: 'count', value: 1 },
    observeMs: 15 * 60_000,
    observeIntervalMs: 30_000,
    circuitBreaker: { maxConsecutiveFailures: 2 },
    failureTolerancePercent: 0,
    quorum: false,
    leaderLabel: 'leader',
    expectedTargetMs: 60_000,
    ...overrides,
  };
}

/** A tier selecting `select`, with the default strategy changed by `overrides`. */
export function tier(name: string, select: Record<string, string>, overrides: Partial<StrategySpec> = {}): TierSpec {
  return { name, select, strategy: strategy(overrides) };
}

/** A complete normalized spec with the given tiers (inline inventory left empty; the planner takes targets separately). */
export function spec(tiers: TierSpec[], overrides: Partial<RolloutSpec> = {}): RolloutSpec {
  const http = {
    kind: 'http' as const,
    method: 'GET',
    url: 'http://{{target.address}}/',
    headers: {},
    expect: [200],
    timeoutMs: 1000,
    retries: 0,
    intervalMs: 100,
  };
  return {
    apiVersion: 'fleetgate/v1alpha1',
    kind: 'Rollout',
    name: 'test',
    component: 'agent',
    version: '1.2.0',
    inventory: { kind: 'inline', targets: [] },
    tiers,
    steps: { version: { ...http, json: 'version' }, upgrade: { ...http, method: 'POST' }, verify: http },
    hooks: {},
    gates: {},
    versionPolicy: { allowDowngrade: false, stepThrough: [] },
    rollback: { waves: { kind: 'percent', value: 50 } },
    exclude: [],
    file: 'rollouts/test.yaml',
    ...overrides,
  };
}

/** `count` targets `<prefix>-1` … `<prefix>-<count>` with the given labels. */
export function fleet(prefix: string, count: number, labels: Record<string, string> = {}): Target[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${i + 1}`,
    address: `${prefix}-${i + 1}.test:8080`,
    labels: { ...labels },
  }));
}

/** Deterministic shuffle (seeded LCG) for order-independence checks. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
