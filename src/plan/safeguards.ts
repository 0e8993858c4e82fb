/**
 * What guards a planned rollout, for `fleetgate plan` (text and `--json`) and its readers: the
 * gates the spec declares (approvals, the alert gate, the error-budget gate, the schedule, the
 * circuit breakers), the analysis of each observation window (provider, metrics with their
 * thresholds and baselines, severities and what a failure does), and what a rollback would
 * restore (per tier, the version each target returns to, from the state). PURE: the state is
 * passed in as data (the fields read are {@link RecordedRollout}'s), nothing is read or fetched.
 * Units in the JSON: durations as written-style text (`15m`), ratios as percents (`"99.9%"`).
 */
import { formatDuration } from '../spec/duration.js';
import { formatSize } from '../spec/size.js';
import { formatThreshold } from '../spec/threshold.js';
import type { MetricSpec, RolloutSpec } from '../spec/types.js';
import { planRollback } from './rollback.js';
import type { RolloutPlan } from './types.js';

/** What this module reads of a rollout's state (`RolloutState` is structurally one). */
export interface RecordedRollout {
  phase?: string;
  toVersion?: string;
  lastKnownGood?: string;
  /** The configuration revision the last known good ran with (config rollouts). */
  lastKnownGoodConfig?: string;
  isRollback?: boolean;
  targets?: Readonly<Record<string, { phase: string; from?: string; version?: string }>>;
}

/** An approval gate and the wave it holds. */
interface PlannedApproval {
  /** The GitHub environment (or the CLI gate name: `--approve <gate>`). */
  gate: string;
  /** `canary`: before the first wave; `promote`: after the canary, before the first promoted wave. */
  kind: 'canary' | 'promote';
  /** Id of the wave that waits for it. */
  beforeWave: string;
}

/** The gates of a plan (`plan --json`'s `gates`). */
interface PlanGates {
  approvals: PlannedApproval[];
  /** Declared gates that hold no wave of this plan (e.g. `promote` with no canary wave). */
  unused: { gate: string; kind: 'canary' | 'promote'; why: string }[];
  alerts?: {
    alertmanager: string;
    select: string;
    /** What a firing alert does: `fail` (the wave fails, touched targets roll back) or `pause` (AlertFiring). */
    action: 'fail' | 'pause';
    silence?: { duration: string; matchers: string };
  };
  slo?: {
    objective: string;
    window: string;
    /** Pause (ErrorBudgetBurn) once the rollout consumed more than this share of the budget. */
    maxBudgetConsumed: string;
    burnRates: { long: string; short: string; rate: number }[];
  };
  schedule?: {
    timeZone: string;
    windows: { days: string[]; hours: string; timeZone: string }[];
    freezes: { from: string; until: string; reason: string }[];
  };
  /** Per tier: consecutive failed targets that trip the breaker (pause), failures a wave tolerates. */
  breakers: { tier: string; maxConsecutiveFailures: number; failureTolerance: string }[];
}

/** One metric as the plan shows it. */
interface PlannedMetric {
  name: string;
  severity: 'warning' | 'critical';
  /** What a failed verdict does: `pause` (warning) or `rollback` (critical). */
  onFailure: 'pause' | 'rollback';
  /** The pass condition in words, e.g. `< 0.01`, `at most +10% over the stable baseline`. */
  rule: string;
  threshold?: string;
  maxIncrease?: string;
  ignoreIncreaseBelow?: number;
  baseline?: 'stable' | 'before';
  statistical?: { passScore: number; marginalScore: number };
  interval: string;
  count: number;
  failureLimit: number;
  inconclusiveLimit: number;
  noData: string;
  confidence?: string;
  detect?: string;
  minSamples?: number;
  query: string;
}

/** The analysis of a plan (`plan --json`'s `analysis`). */
interface PlanAnalysis {
  provider: string;
  /** When it runs: after the canary and after each wave, over the tier's observation window. */
  when: string;
  stopEarly: boolean;
  minWindow?: string;
  metrics: PlannedMetric[];
}

/** The version a group of targets returns to, and where that comes from. */
interface RestoreGroup {
  /** Undefined when nothing is recorded (the rollout's preflight records it before any change). */
  version?: string;
  /**
   * `recorded`: the version the state recorded it reported before this rollout touched it;
   * `observed`: what the state last recorded it running; `lastKnownGood`: the rollout's; `unknown`.
   */
  source: 'recorded' | 'observed' | 'lastKnownGood' | 'unknown';
  targets: string[];
}

/** What a rollback would restore (`plan --json`'s `rollback`). */
interface PlanRestore {
  lastKnownGood?: string;
  /** The configuration revision a rollback restores with it, when the spec carries `config`. */
  lastKnownGoodConfig?: string;
  /** A rollback during this rollout: each touched target back to the version it ran before it, per tier. */
  tiers: { tier: string; groups: RestoreGroup[] }[];
  /** `fleetgate rollback` with no `--to`: the last known good on every target, or each back to its own previous version. */
  command: { to?: string; eachToPrevious: boolean };
  /** How many waves (`rollback/1`, …) a rollback of every planned target would run. */
  waves: number;
  /** The spec's `rollback.waves` as written (a count, a percent like `50%`, or `auto`). */
  waveSize: string;
  /** Targets in the largest of those waves. */
  largestWave: number;
}

/** Everything {@link planSafeguards} returns: the `gates`, `analysis` and `rollback` of `plan --json`. */
export interface PlanSafeguards {
  gates: PlanGates;
  analysis?: PlanAnalysis;
  rollback: PlanRestore;
}

const WEEKDAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const hhmm = (minute: number): string =>
  `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
/** A ratio as a percent with up to 4 decimals: 0.999 → `99.9%`. */
const percent = (ratio: number): string => `${Number((ratio * 100).toFixed(4))}%`;

/** Which approval holds which wave: the engine's rule (`gates.canary` before wave #0, `gates.promote` before the first non-canary wave after a canary). */
function approvals(spec: RolloutSpec, plan: RolloutPlan): Pick<PlanGates, 'approvals' | 'unused'> {
  const out: PlanGates = { approvals: [], unused: [], breakers: [] };
  const g = spec.gates;
  const first = plan.waves[0];
  if (g.canary !== undefined) {
    if (first) out.approvals.push({ gate: g.canary, kind: 'canary', beforeWave: first.id });
    else out.unused.push({ gate: g.canary, kind: 'canary', why: 'the plan has no wave' });
  }
  if (g.promote !== undefined) {
    const promoted = plan.waves.find((w) => w.index > 0 && w.kind !== 'canary');
    const canary = plan.waves.some((w) => w.kind === 'canary');
    if (promoted && canary) out.approvals.push({ gate: g.promote, kind: 'promote', beforeWave: promoted.id });
    else
      out.unused.push({
        gate: g.promote,
        kind: 'promote',
        why: canary ? 'no wave follows the canary' : 'the plan has no canary wave to promote from',
      });
  }
  return { approvals: out.approvals, unused: out.unused };
}

function metricRule(m: MetricSpec): string {
  const parts: string[] = [];
  if (m.threshold) parts.push(formatThreshold(m.threshold));
  const baseline =
    m.baseline?.cohort === 'before'
      ? 'the same targets before the wave'
      : 'the stable baseline (targets still on the old version)';
  if (m.maxIncreasePercent !== undefined)
    parts.push(
      `at most +${m.maxIncreasePercent}% over ${baseline}${m.ignoreIncreaseBelow !== undefined ? ` (an increase below ${m.ignoreIncreaseBelow} never fails)` : ''}`,
    );
  if (m.statistical)
    parts.push(
      `Mann-Whitney U against ${baseline}: pass at score ≥ ${m.statistical.passScore}, inconclusive ≥ ${m.statistical.marginalScore}`,
    );
  return parts.join(' and ');
}

function plannedMetric(m: MetricSpec): PlannedMetric {
  const out: PlannedMetric = {
    name: m.name,
    severity: m.severity,
    onFailure: m.severity === 'critical' ? 'rollback' : 'pause',
    rule: metricRule(m),
    interval: formatDuration(m.intervalMs),
    count: m.count,
    failureLimit: m.failureLimit,
    inconclusiveLimit: m.inconclusiveLimit,
    noData: m.noData,
    query: m.query,
  };
  if (m.threshold) out.threshold = formatThreshold(m.threshold);
  if (m.maxIncreasePercent !== undefined) out.maxIncrease = `${m.maxIncreasePercent}%`;
  if (m.ignoreIncreaseBelow !== undefined) out.ignoreIncreaseBelow = m.ignoreIncreaseBelow;
  if (m.baseline) out.baseline = m.baseline.cohort;
  if (m.statistical) out.statistical = { ...m.statistical };
  if (m.confidence !== undefined) out.confidence = percent(m.confidence);
  if (m.detect !== undefined) out.detect = `${m.detect}x`;
  if (m.minSamples !== undefined) out.minSamples = m.minSamples;
  return out;
}

/** Phases of a rollout still under way: its targets' `from` is what a rollback returns them to. */
const UNDER_WAY = new Set(['Progressing', 'Paused', 'RollingBack']);

/**
 * The version a target returns to: for the rollout under way to `version`, the one the state
 * recorded before it touched the target; for a new rollout, the one it was last recorded running.
 */
function restoreOf(id: string, version: string, state: RecordedRollout | undefined): Omit<RestoreGroup, 'targets'> {
  const t = state?.targets?.[id];
  const underWay = UNDER_WAY.has(state?.phase ?? '') && state?.toVersion === version;
  if (t?.from !== undefined && underWay) return { version: t.from, source: 'recorded' };
  if (t?.version !== undefined) return { version: t.version, source: 'observed' };
  if (state?.lastKnownGood !== undefined) return { version: state.lastKnownGood, source: 'lastKnownGood' };
  return { source: 'unknown' };
}

function restore(spec: RolloutSpec, plan: RolloutPlan, state: RecordedRollout | undefined): PlanRestore {
  const tiers = plan.tiers.map((tier) => {
    const groups = new Map<string, RestoreGroup>();
    const excluded = new Set(tier.excluded ?? []);
    for (const id of tier.targets) {
      if (excluded.has(id)) continue;
      const r = restoreOf(id, plan.version, state);
      const key = `${r.version ?? ''}\u0000${r.source}`;
      const group = groups.get(key) ?? { ...r, targets: [] };
      group.targets.push(id);
      groups.set(key, group);
    }
    return { tier: tier.name, groups: [...groups.values()] };
  });
  const order = [...plan.waves].reverse().flatMap((w) => w.targets);
  const waves = planRollback(spec, plan, order);
  const out: PlanRestore = {
    tiers,
    command:
      state?.lastKnownGood !== undefined
        ? { to: state.lastKnownGood, eachToPrevious: false }
        : { eachToPrevious: true },
    waves: waves.length,
    waveSize: formatSize(spec.rollback.waves),
    largestWave: Math.max(0, ...waves.map((w) => w.targets.length)),
  };
  if (state?.lastKnownGood !== undefined) out.lastKnownGood = state.lastKnownGood;
  if (spec.config && state?.lastKnownGoodConfig !== undefined) out.lastKnownGoodConfig = state.lastKnownGoodConfig;
  return out;
}

/**
 * The gates, the analysis and the rollback of a plan, as data (see {@link describeSafeguards}).
 *
 * - approvals follow the engine's rule: `gates.canary` before the plan's first wave,
 *   `gates.promote` before the first wave after the canary (only when there is a canary wave);
 * - the alert gate, the error-budget gate and the schedule as the spec declares them (each
 *   checked before every wave starts; alerts and error budget also at the end of its window);
 * - per tier, the circuit breaker and failure tolerance;
 * - each metric's pass condition, baseline, severity and what a failure does (critical: roll
 *   back; warning: pause), its measurement cadence and limits;
 * - per tier, the version each target would be returned to: for the rollout under way to this
 *   plan's version (Progressing, Paused, RollingBack), the one the state recorded before it touched
 *   the target (`from`); otherwise the one the state last recorded it running (`version`); else the
 *   last known good; else unknown (the preflight records it); and what `fleetgate rollback`
 *   restores: the last known good on every target, or each to its previous version.
 *
 * @param state - the rollout's state as read (undefined: none yet)
 */
export function planSafeguards(
  spec: RolloutSpec,
  plan: RolloutPlan,
  state: RecordedRollout | undefined,
): PlanSafeguards {
  const gates: PlanGates = {
    ...approvals(spec, plan),
    breakers: spec.tiers.map((t) => ({
      tier: t.name,
      maxConsecutiveFailures: t.strategy.circuitBreaker.maxConsecutiveFailures,
      failureTolerance: `${t.strategy.failureTolerancePercent}%`,
    })),
  };
  if (spec.alerts) {
    gates.alerts = {
      alertmanager: spec.alerts.alertmanager.url,
      select: spec.alerts.select,
      action: spec.alerts.action,
    };
    if (spec.alerts.silence)
      gates.alerts.silence = {
        duration: formatDuration(spec.alerts.silence.durationMs),
        matchers: spec.alerts.silence.matchers,
      };
  }
  if (spec.slo)
    gates.slo = {
      objective: percent(spec.slo.objective),
      window: formatDuration(spec.slo.windowMs),
      maxBudgetConsumed: percent(spec.slo.maxBudgetConsumed),
      burnRates: spec.slo.burnRates.map((p) => ({
        long: formatDuration(p.longMs),
        short: formatDuration(p.shortMs),
        rate: p.rate,
      })),
    };
  if (spec.schedule)
    gates.schedule = {
      timeZone: spec.schedule.timeZone,
      windows: spec.schedule.windows.map((w) => ({
        days: w.days.map((d) => WEEKDAY_NAMES[d - 1]!),
        hours: `${hhmm(w.startMinute)}-${hhmm(w.endMinute)}`,
        timeZone: w.timeZone,
      })),
      freezes: spec.schedule.freezes.map((f) => ({ from: f.from, until: f.until, reason: f.reason })),
    };
  const out: PlanSafeguards = { gates, rollback: restore(spec, plan, state) };
  const a = spec.analysis;
  if (a)
    out.analysis = {
      provider: a.provider.type,
      when: 'after the canary and after each wave, over the tier’s observation window',
      stopEarly: a.stopEarly !== false,
      ...(a.minWindowMs !== undefined ? { minWindow: formatDuration(a.minWindowMs) } : {}),
      metrics: a.metrics.map(plannedMetric),
    };
  return out;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** At most four ids, then "and N more". */
function someIds(ids: readonly string[]): string {
  return ids.length <= 4 ? ids.join(', ') : `${ids.slice(0, 3).join(', ')} and ${ids.length - 3} more`;
}

const SOURCE_WORDS: Record<RestoreGroup['source'], string> = {
  recorded: 'recorded before this rollout touched them',
  observed: 'what the state last recorded them running',
  lastKnownGood: 'the last known good',
  unknown: 'nothing recorded yet: the preflight reads and records it before any change',
};

/**
 * {@link PlanSafeguards} as text, three sections (no trailing newline):
 *
 * ```text
 * Gates:
 *   approval "edge-canary" before edge/canary (canary)
 *   approval "edge-production" before edge/1 (promotion after the canary)
 *   alerts: Alertmanager ${AM_URL}, alerts matching severity="critical" before each wave and at the end of its window; firing fails the wave (touched targets roll back)
 *   circuit breaker: edge after 2 consecutive failed targets (tolerance 0%)
 *
 * Analysis (prometheus) after the canary and after each wave, over the tier's observation window:
 *   error-rate   critical, fails → roll back  < 0.01  every 1m × 3; failureLimit 0, inconclusiveLimit 0; no data: pause
 *
 * Rollback would restore (last known good 1.0.0):
 *   edge: 1.0.0 on 10 targets (edge-1, edge-2, edge-3 and 7 more) — what the state last recorded them running
 *   `fleetgate rollback` restores 1.0.0 (the last known good) on every target, in 2 waves of up to 10 (rollback.waves 50%)
 * ```
 */
export function describeSafeguards(s: PlanSafeguards): string {
  const lines: string[] = ['Gates:'];
  const g = s.gates;
  for (const a of g.approvals)
    lines.push(
      `  approval "${a.gate}" before ${a.beforeWave} (${a.kind === 'canary' ? 'canary' : 'promotion after the canary'}; a GitHub environment, or on the CLI a prompt, --approve ${a.gate} or --yes)`,
    );
  for (const u of g.unused) lines.push(`  approval "${u.gate}" (${u.kind}) holds no wave: ${u.why}`);
  if (g.alerts) {
    const silence = g.alerts.silence
      ? `; each target's alerts silenced while it is drained and upgraded (at most ${g.alerts.silence.duration}, ${g.alerts.silence.matchers})`
      : '';
    lines.push(
      `  alerts: Alertmanager ${g.alerts.alertmanager}, alerts matching ${g.alerts.select} checked before each wave and at the end of its window; a firing one ${g.alerts.action === 'fail' ? 'fails the wave (touched targets roll back)' : 'pauses the rollout (AlertFiring)'}${silence}`,
    );
  }
  if (g.slo) {
    const pairs = g.slo.burnRates.map((p) => `${p.long} and ${p.short} both above ${p.rate}×`).join(', or ');
    lines.push(
      `  error budget: objective ${g.slo.objective} over ${g.slo.window}, checked before each wave and at the end of its window; pauses (ErrorBudgetBurn) when the rollout has consumed more than ${g.slo.maxBudgetConsumed} of the budget${pairs ? `, or burns ${pairs}` : ''}`,
    );
  }
  if (g.schedule) {
    const windows = g.schedule.windows.map((w) => `${w.days.join(',')} ${w.hours}`).join('; ');
    const freezes = g.schedule.freezes.map((f) => `${f.from} → ${f.until} (${f.reason})`).join('; ');
    lines.push(
      `  schedule (${g.schedule.timeZone}): waves start ${windows ? `only within ${windows}` : 'at any time'}${freezes ? `, never in the freezes ${freezes}` : ''}`,
    );
  }
  // Tiers with the same breaker share a line.
  const breakers = new Map<string, string[]>();
  for (const b of g.breakers) {
    const key = `${plural(b.maxConsecutiveFailures, 'consecutive failed target')} (a wave tolerates ${b.failureTolerance} failed)`;
    breakers.set(key, [...(breakers.get(key) ?? []), b.tier]);
  }
  for (const [rule, tiers] of breakers)
    lines.push(`  circuit breaker: ${tiers.join(', ')} ${tiers.length === 1 ? 'pauses' : 'pause'} after ${rule}`);

  const a = s.analysis;
  lines.push('');
  if (!a) lines.push('Analysis: none (the spec has no analysis section: waves are judged by health checks only)');
  else {
    const window = a.stopEarly
      ? `; a window ends early once every metric is decided${a.minWindow ? `, not before ${a.minWindow}` : ''}`
      : '; every window runs its full length';
    lines.push(`Analysis (${a.provider}) ${a.when}${window}:`);
    const nameWidth = Math.max(...a.metrics.map((m) => m.name.length));
    for (const m of a.metrics) {
      const extra = [
        m.confidence !== undefined ? `confidence ${m.confidence}` : '',
        m.detect !== undefined ? `detect ${m.detect}` : '',
        m.minSamples !== undefined ? `minSamples ${m.minSamples}` : '',
      ].filter(Boolean);
      lines.push(
        `  ${m.name.padEnd(nameWidth)}  ${m.severity}, fails → ${m.onFailure === 'rollback' ? 'roll back' : 'pause'}  ${m.rule}  every ${m.interval} × ${m.count}; failureLimit ${m.failureLimit}, inconclusiveLimit ${m.inconclusiveLimit}; no data: ${m.noData}${extra.length > 0 ? `; ${extra.join(', ')}` : ''}`,
      );
    }
  }

  const r = s.rollback;
  const known = r.lastKnownGood
    ? ` (last known good ${r.lastKnownGood}${r.lastKnownGoodConfig ? `, config ${r.lastKnownGoodConfig}` : ''})`
    : '';
  lines.push('', `Rollback would restore${known}:`);
  for (const t of r.tiers) {
    if (t.groups.length === 0) lines.push(`  ${t.tier}: no targets`);
    for (const gr of t.groups)
      lines.push(
        gr.version === undefined
          ? `  ${t.tier}: ${plural(gr.targets.length, 'target')} (${someIds(gr.targets)}) each to the version it runs when the rollout starts — ${SOURCE_WORDS[gr.source]}`
          : `  ${t.tier}: ${gr.version} on ${plural(gr.targets.length, 'target')} (${someIds(gr.targets)}) — ${SOURCE_WORDS[gr.source]}`,
      );
  }
  const to = r.command.to
    ? `${r.command.to} (the last known good) on every target`
    : 'each target to the version it ran before';
  lines.push(
    `  \`fleetgate rollback\` restores ${to}, in ${plural(r.waves, 'wave')} of up to ${r.largestWave} (rollback.waves ${r.waveSize})`,
  );
  return lines.join('\n');
}
