/**
 * Written spec → the `RolloutSpec` the program uses: defaults applied,
 * durations in milliseconds, percents as percent numbers, sizes as `Size`,
 * label values as strings.
 */
import { normalizeAlerts } from './alerts.js';
import { normalizeSlo } from './slo.js';
import { normalizeSchedule } from './schedule.js';
import { normalizeNotify } from './notify.js';
import { normalizeConfig } from './config.js';
import { normalizeSelector } from './selector.js';
import { normalizeChoiceSizes } from './explicit-targets.js';
import { ConfigurationError } from '../errors.js';
import {
  DEFAULT_CANARY,
  DEFAULT_DISCOVER_TIMEOUT,
  DEFAULT_EXPECTED_TARGET_DURATION,
  DEFAULT_FAILURE_LIMIT,
  DEFAULT_FAILURE_TOLERANCE,
  DEFAULT_HTTP_EXPECT,
  DEFAULT_HTTP_METHOD,
  DEFAULT_INCONCLUSIVE_LIMIT,
  DEFAULT_LEADER_LABEL,
  DEFAULT_MARGINAL_SCORE,
  DEFAULT_MAX_CONSECUTIVE_FAILURES,
  DEFAULT_MAX_UNAVAILABLE,
  DEFAULT_MAX_SURGE,
  DEFAULT_KEEP_OLD_POOL,
  DEFAULT_METRIC_COUNT,
  DEFAULT_METRIC_INTERVAL,
  DEFAULT_NO_DATA,
  DEFAULT_OBSERVE,
  DEFAULT_OBSERVE_INTERVAL,
  DEFAULT_PASS_SCORE,
  DEFAULT_ROLLBACK_WAVES_SIZE,
  DEFAULT_SEVERITY,
  DEFAULT_SSH_CONNECT_TIMEOUT,
  DEFAULT_SSH_HOST,
  DEFAULT_SSH_PORT,
  DEFAULT_TIER_NAME,
  DEFAULT_WAVES,
  STEP_DEFAULTS,
  type StepDefaultsName,
} from './defaults.js';
import { parseDuration } from './duration.js';
import {
  KNOWN_PROVIDER_TYPES,
  type WrittenMetric,
  type WrittenRolloutSpec,
  type WrittenStep,
  type WrittenStrategy,
} from './schema.js';
import { parsePercent, parseSize } from './size.js';
import { parseThreshold } from './threshold.js';
import {
  SPEC_API_VERSION,
  SPEC_KIND,
  type AnalysisSpec,
  type InventorySource,
  type MetricSpec,
  type NoDataPolicy,
  type RolloutSpec,
  type HooksSpec,
  type StepOverrides,
  type SshSpec,
  type StepSpec,
  type StrategySpec,
  type TierSpec,
} from './types.js';
import { STEP_NAMES } from './steps.js';

/** Label (and env, header) values are written as strings, numbers or booleans; the program uses strings. */
export function normalizeLabels(labels: Record<string, string | number | boolean> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels ?? {})) out[key] = String(value);
  return out;
}

function normalizeInventory(inventory: WrittenRolloutSpec['inventory']): InventorySource {
  if (inventory.targets !== undefined) {
    return {
      kind: 'inline',
      targets: inventory.targets.map((t) => ({ id: t.id, address: t.address, labels: normalizeLabels(t.labels) })),
    };
  }
  if (inventory.file !== undefined) return { kind: 'file', path: inventory.file };
  if (inventory.discover !== undefined) {
    return {
      kind: 'discover',
      run: [...inventory.discover.run],
      timeoutMs: parseDuration(inventory.discover.timeout ?? DEFAULT_DISCOVER_TIMEOUT),
    };
  }
  throw new ConfigurationError('inventory needs one of targets, file or discover');
}

/**
 * Normalizes a strategy, filling defaults (canary and waves `auto`: seed 000;
 * observation window 15 min: seed 000; breaker 2 consecutive failures: seed 001).
 */
export function normalizeStrategy(strategy: WrittenStrategy | undefined): StrategySpec {
  const s = strategy ?? {};
  return {
    type: s.type ?? 'inPlace',
    maxSurge: parseSize(s.maxSurge ?? DEFAULT_MAX_SURGE, { minCount: 0, allowAuto: false }),
    ...(s.type === 'blueGreen' ? { keepOldPoolMs: parseDuration(s.keepOldPool ?? DEFAULT_KEEP_OLD_POOL) } : {}),
    // canary and waves: a size, or the targets listed (or a spread canary): explicit-targets.ts.
    ...normalizeChoiceSizes(s, DEFAULT_CANARY, DEFAULT_WAVES),
    maxUnavailable: parseSize(s.maxUnavailable ?? DEFAULT_MAX_UNAVAILABLE, { minCount: 0 }),
    ...(s.minAvailable !== undefined ? { minAvailable: parseSize(s.minAvailable, { minCount: 0 }) } : {}),
    observeMs: parseDuration(s.observe ?? DEFAULT_OBSERVE),
    observeIntervalMs: parseDuration(s.observeInterval ?? DEFAULT_OBSERVE_INTERVAL),
    circuitBreaker: {
      maxConsecutiveFailures: s.circuitBreaker?.maxConsecutiveFailures ?? DEFAULT_MAX_CONSECUTIVE_FAILURES,
    },
    failureTolerancePercent: parsePercent(s.failureTolerance ?? DEFAULT_FAILURE_TOLERANCE, 'tolerance'),
    quorum: s.quorum ?? false,
    leaderLabel: s.leaderLabel ?? DEFAULT_LEADER_LABEL,
    expectedTargetMs: parseDuration(s.expectedTargetDuration ?? DEFAULT_EXPECTED_TARGET_DURATION),
    ...(s.shards !== undefined && s.shards > 1 ? { shards: s.shards } : {}),
  };
}

function normalizeTiers(tiers: WrittenRolloutSpec['tiers']): TierSpec[] {
  if (tiers === undefined) return [{ name: DEFAULT_TIER_NAME, select: {}, strategy: normalizeStrategy(undefined) }];
  return tiers.map((tier) => {
    const selector = normalizeSelector(tier.select);
    const out: TierSpec = {
      name: tier.name,
      select: selector.matchLabels,
      ...(selector.matchExpressions.length > 0 ? { matchExpressions: selector.matchExpressions } : {}),
      strategy: normalizeStrategy(tier.strategy),
    };
    if (tier.steps !== undefined) out.steps = normalizeSteps(tier.steps);
    if (tier.hooks !== undefined) out.hooks = normalizeHooks(tier.hooks);
    if (tier.runsOn !== undefined) out.runsOn = typeof tier.runsOn === 'string' ? [tier.runsOn] : [...tier.runsOn];
    return out;
  });
}

/**
 * Normalizes one step with the defaults of its kind (see `STEP_DEFAULTS`):
 * durations to milliseconds, HTTP `expect` to a list (default 200-206),
 * method to `GET`, env and headers values to strings.
 */
export function normalizeStep(step: WrittenStep, defaults: StepDefaultsName): StepSpec {
  const d = STEP_DEFAULTS[defaults];
  const common = {
    timeoutMs: parseDuration(step.timeout ?? d.timeout),
    retries: step.retries ?? d.retries,
    intervalMs: parseDuration(step.interval ?? d.interval),
  };
  if (step.run !== undefined) {
    return {
      kind: 'run',
      run: [...step.run],
      env: normalizeLabels(step.env),
      ...(step.cwd !== undefined ? { cwd: step.cwd } : {}),
      ...(step.json !== undefined ? { json: step.json } : {}),
      ...common,
    };
  }
  if (step.ssh !== undefined) {
    return {
      kind: 'ssh',
      ssh: [...step.ssh],
      ...(step.json !== undefined ? { json: step.json } : {}),
      ...common,
    };
  }
  if (step.http !== undefined) {
    const http = step.http;
    const expect =
      http.expect === undefined
        ? [...DEFAULT_HTTP_EXPECT]
        : Array.isArray(http.expect)
          ? [...http.expect]
          : [http.expect];
    return {
      kind: 'http',
      method: http.method ?? DEFAULT_HTTP_METHOD,
      url: http.url,
      headers: normalizeLabels(http.headers),
      ...(http.body !== undefined ? { body: http.body } : {}),
      expect,
      ...(http.json !== undefined ? { json: http.json } : {}),
      ...common,
    };
  }
  throw new ConfigurationError('a step needs run (a command) or http (a request)');
}

function normalizeSteps(steps: WrittenRolloutSpec['steps']): StepOverrides {
  const out: StepOverrides = {};
  if (steps === undefined) return out;
  for (const name of STEP_NAMES) {
    const step = steps[name];
    if (step !== undefined) out[name] = normalizeStep(step, name);
  }
  for (const name of ['drain', 'undrain'] as const) {
    const written = steps[name];
    const step = out[name];
    if (written === undefined || step === undefined) continue;
    // `until` is polled like verify: its defaults are verify's unless it says otherwise.
    if (written.until !== undefined) step.until = normalizeStep(written.until, 'verify');
    if (written.grace !== undefined) step.graceMs = parseDuration(written.grace);
  }
  return out;
}

/** The `ssh:` section with its defaults: host `{{target.host}}`, port 22, strict host key checking, 10 s to connect. */
export function normalizeSsh(ssh: NonNullable<WrittenRolloutSpec['ssh']>): SshSpec {
  const out: SshSpec = {
    host: ssh.host ?? DEFAULT_SSH_HOST,
    port: String(ssh.port ?? DEFAULT_SSH_PORT),
    strictHostKeyChecking: ssh.strictHostKeyChecking ?? true,
    connectTimeoutMs: parseDuration(ssh.connectTimeout ?? DEFAULT_SSH_CONNECT_TIMEOUT),
  };
  if (ssh.user !== undefined) out.user = ssh.user;
  if (ssh.identity?.env !== undefined) out.identity = { kind: 'env', name: ssh.identity.env };
  else if (ssh.identity?.file !== undefined) out.identity = { kind: 'file', path: ssh.identity.file };
  if (ssh.knownHosts !== undefined) {
    const file = ssh.knownHosts.file;
    out.knownHosts = {
      files: file === undefined ? [] : Array.isArray(file) ? [...file] : [file],
      hosts: [...(ssh.knownHosts.hosts ?? [])],
      ...(ssh.knownHosts.label !== undefined ? { label: ssh.knownHosts.label } : {}),
    };
  }
  return out;
}

function normalizeHooks(hooks: WrittenRolloutSpec['hooks']): HooksSpec {
  return {
    ...(hooks?.before !== undefined ? { before: normalizeStep(hooks.before, 'hook') } : {}),
    ...(hooks?.after !== undefined ? { after: normalizeStep(hooks.after, 'hook') } : {}),
  };
}

function normalizeMetric(metric: WrittenMetric, noData: NoDataPolicy): MetricSpec {
  const out: MetricSpec = {
    name: metric.name,
    query: metric.query,
    severity: metric.severity ?? DEFAULT_SEVERITY,
    noData: metric.noData ?? noData,
    intervalMs: parseDuration(metric.interval ?? DEFAULT_METRIC_INTERVAL),
    count: metric.count ?? DEFAULT_METRIC_COUNT,
    failureLimit: metric.failureLimit ?? DEFAULT_FAILURE_LIMIT,
    inconclusiveLimit: metric.inconclusiveLimit ?? DEFAULT_INCONCLUSIVE_LIMIT,
  };
  if (metric.threshold !== undefined) out.threshold = parseThreshold(metric.threshold);
  if (metric.maxIncrease !== undefined) out.maxIncreasePercent = parsePercent(metric.maxIncrease, 'increase');
  if (metric.ignoreIncreaseBelow !== undefined) out.ignoreIncreaseBelow = metric.ignoreIncreaseBelow;
  if (metric.baseline !== undefined) out.baseline = { cohort: metric.baseline.cohort };
  if (metric.statistical !== undefined) {
    out.statistical = {
      passScore: metric.statistical.passScore ?? DEFAULT_PASS_SCORE,
      marginalScore: metric.statistical.marginalScore ?? DEFAULT_MARGINAL_SCORE,
    };
  }
  // Written only: the analysis applies the defaults (`detect`'s depends on maxIncrease).
  if (metric.confidence !== undefined) out.confidence = Number.parseFloat(metric.confidence) / 100;
  if (metric.detect !== undefined) out.detect = Number.parseFloat(metric.detect);
  if (metric.minSamples !== undefined) out.minSamples = metric.minSamples;
  if (metric.maxWait !== undefined) out.maxWaitMs = parseDuration(metric.maxWait);
  return out;
}

function normalizeAnalysis(analysis: NonNullable<WrittenRolloutSpec['analysis']>): AnalysisSpec {
  const type = KNOWN_PROVIDER_TYPES.find((t) => analysis.provider[t] !== undefined);
  if (type === undefined)
    throw new ConfigurationError(`analysis.provider needs one of ${KNOWN_PROVIDER_TYPES.join(', ')}`);
  const noData = analysis.noData ?? DEFAULT_NO_DATA;
  return {
    provider: { type, config: { ...analysis.provider[type] } },
    noData,
    metrics: analysis.metrics.map((m) => normalizeMetric(m, noData)),
    ...(analysis.minWindow !== undefined ? { minWindowMs: parseDuration(analysis.minWindow) } : {}),
    ...(analysis.stopEarly === false && { stopEarly: false }),
  };
}

/**
 * Turns a written spec into the normalized `RolloutSpec`: every default
 * applied (see `defaults.ts` for values and their sources), durations in
 * **milliseconds**, percents as **percent numbers** (20 = 20 %), sizes as
 * `Size`, `tiers` omitted → one tier `all` selecting every target.
 *
 * Pure: no I/O, no validation beyond what conversion needs. Call it on a value
 * `WrittenRolloutSpecSchema` accepted; cross-field rules are `checkSpecRules`.
 *
 * @param file - spec file path, recorded as `spec.file`.
 * @throws ConfigurationError when a value cannot be converted (only possible
 *   for input the schema would have rejected).
 */
export function normalizeSpec(written: WrittenRolloutSpec, file: string): RolloutSpec {
  return {
    apiVersion: SPEC_API_VERSION,
    kind: SPEC_KIND,
    name: written.name,
    component: written.component,
    version: written.version,
    inventory: normalizeInventory(written.inventory),
    tiers: normalizeTiers(written.tiers),
    steps: normalizeSteps(written.steps),
    hooks: normalizeHooks(written.hooks),
    ...(written.ssh !== undefined ? { ssh: normalizeSsh(written.ssh) } : {}),
    ...(written.analysis !== undefined ? { analysis: normalizeAnalysis(written.analysis) } : {}),
    ...(written.alerts !== undefined ? { alerts: normalizeAlerts(written.alerts) } : {}),
    ...(written.slo !== undefined ? { slo: normalizeSlo(written.slo) } : {}),
    ...(written.schedule !== undefined ? { schedule: normalizeSchedule(written.schedule) } : {}),
    ...(written.notify !== undefined ? { notify: normalizeNotify(written.notify) } : {}),
    ...(written.config !== undefined ? { config: normalizeConfig(written.config) } : {}),
    gates: {
      ...(written.gates?.canary !== undefined ? { canary: written.gates.canary } : {}),
      ...(written.gates?.promote !== undefined ? { promote: written.gates.promote } : {}),
    },
    versionPolicy: {
      allowDowngrade: written.versionPolicy?.allowDowngrade ?? false,
      ...(written.versionPolicy?.maxSkew !== undefined ? { maxSkew: written.versionPolicy.maxSkew } : {}),
      stepThrough: [...(written.versionPolicy?.stepThrough ?? [])],
      allowMixedVersions: written.versionPolicy?.allowMixedVersions ?? false,
    },
    rollback: {
      waves:
        written.rollback?.waves === undefined ? { ...DEFAULT_ROLLBACK_WAVES_SIZE } : parseSize(written.rollback.waves),
      ...(written.rollback?.maxUnavailable !== undefined
        ? { maxUnavailable: parseSize(written.rollback.maxUnavailable) }
        : {}),
    },
    exclude: [...new Set(written.exclude ?? [])],
    file,
  };
}
