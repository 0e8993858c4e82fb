/**
 * The plan as text for people: `fleetgate plan` prints it and pull-request
 * comments quote it. Pure and deterministic (same plan → same text).
 */
import type { ScheduleSpec } from '../spec/schedule.js';
import { formatInZone, scheduleWaves } from './schedule.js';
import type { PlannedTier, PlannedWave, RolloutPlan } from './types.js';

/** Lists of more target ids than this are abbreviated to the first and last few. */
export const DESCRIBE_ID_LIMIT = 6;
const HEAD = 3;
const TAIL = 2;

/**
 * Formats a duration in milliseconds for people: `250ms`, `45s`, `2m 30s`,
 * `15m`, `1h`, `1h 5m`, `1d 3h 20m`. Below an hour it keeps seconds; from an
 * hour up it rounds to the minute. Zero parts are left out; 0 is `0s`.
 * @param ms - duration in milliseconds (negative values are treated as 0).
 */
export function formatDurationMs(ms: number): string {
  const value = Math.max(0, ms);
  if (value === 0) return '0s';
  if (value < 1000) return `${Math.round(value)}ms`;
  const seconds = Math.round(value / 1000);
  if (seconds < 3600) {
    const parts = [
      Math.floor(seconds / 60) > 0 ? `${Math.floor(seconds / 60)}m` : '',
      seconds % 60 > 0 ? `${seconds % 60}s` : '',
    ];
    return parts.filter(Boolean).join(' ');
  }
  const minutes = Math.round(value / 60_000);
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  return [d > 0 ? `${d}d` : '', h > 0 ? `${h}h` : '', m > 0 ? `${m}m` : ''].filter(Boolean).join(' ');
}

/**
 * Joins target ids, abbreviating long lists to the first three and last two:
 * `edge-3, edge-4, edge-5, …, edge-28, edge-29` (the wave line shows the count).
 */
export function abbreviateIds(ids: readonly string[]): string {
  if (ids.length <= DESCRIBE_ID_LIMIT) return ids.join(', ');
  return [...ids.slice(0, HEAD), '…', ...ids.slice(ids.length - TAIL)].join(', ');
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function tierHeadline(tier: PlannedTier, position: number, count: number): string {
  const head = `Tier ${position}/${count} ${tier.name}`;
  if (tier.targets.length === 0) return `${head}: no targets`;
  if (tier.quorum) {
    const leader = tier.leaderStep
      ? `leader found by the leader step before each wave, last${tier.leader === undefined ? '' : ` (labelled now: ${tier.leader})`}`
      : tier.leader === undefined
        ? 'no leader labelled'
        : `leader ${tier.leader} last`;
    return `${head}: quorum of ${tier.targets.length}, canary ${tier.canarySize}, waves of ${tier.waveSize}, maxUnavailable ${tier.maxUnavailable}; ${leader}`;
  }
  const choice = tier.canaryChoice;
  const how =
    choice?.kind === 'listed'
      ? ' (listed)'
      : choice?.kind === 'spread'
        ? ` (one per ${choice.label}: ${choice.values.join(', ')})`
        : '';
  const canary = tier.canarySize === 0 ? 'no canary' : `canary ${tier.canarySize}${how}`;
  const waves = tier.wavesListed ? `waves as listed (largest ${tier.waveSize})` : `waves of ${tier.waveSize}`;
  if (tier.strategy === 'blueGreen')
    return `${head}: ${plural(tier.targets.length, 'target')}, blue-green: a new pool of ${tier.targets.length} provisioned and observed, then traffic switched (the old pool kept, then retired)`;
  const replace =
    tier.strategy === 'replace'
      ? `; replaced (provision, observe, in service, retire): maxSurge ${tier.maxSurge ?? 0}`
      : '';
  return `${head}: ${plural(tier.targets.length, 'target')}, ${canary}, ${waves}, maxUnavailable ${tier.maxUnavailable}${replace}`;
}

/**
 * Renders a plan as multi-line text (no trailing newline):
 *
 * ```text
 * Rollout edge-nginx: nginx → 1.26.0
 * 2 tiers, 6 waves, 23 targets; estimated duration 1h 5m
 *
 * Tier 1/2 edge: 20 targets, canary 1, waves of 5, maxUnavailable 2
 *   #0  edge/canary  canary  1 target   maxUnavailable 1  observe 15m  edge-1
 *   #1  edge/1       wave    5 targets  maxUnavailable 2  observe 15m  edge-2, edge-3, edge-4, edge-5, edge-6
 * …
 * Warnings:
 *   - 1 target matches no tier and will not be upgraded: lab-1
 * ```
 *
 * Every wave shows its id, kind, size, maxUnavailable, observation window and
 * targets (lists longer than six abbreviated, see {@link abbreviateIds}).
 * Durations use {@link formatDurationMs}. Deterministic.
 */
export function describePlan(plan: RolloutPlan): string {
  const lines: string[] = [];
  const targetCount = plan.tiers.reduce((sum, t) => sum + t.targets.length, 0);
  lines.push(`Rollout ${plan.rollout}: ${plan.component} → ${plan.version}`);
  lines.push(
    `${plural(plan.tiers.length, 'tier')}, ${plural(plan.waves.length, 'wave')}, ${plural(targetCount, 'target')}; estimated duration ${formatDurationMs(plan.estimatedDurationMs)}`,
  );
  if (plan.waves.length === 0) lines.push('', 'Nothing to upgrade: no tier selects any target.');

  const indexWidth = String(Math.max(0, plan.waves.length - 1)).length + 1;
  const idWidth = Math.max(0, ...plan.waves.map((w) => w.id.length));
  const countWidth = Math.max(0, ...plan.waves.map((w) => plural(w.targets.length, 'target').length));
  const observeWidth = Math.max(0, ...plan.waves.map((w) => formatDurationMs(w.observeMs).length));
  const muWidth = Math.max(0, ...plan.waves.map((w) => String(w.maxUnavailable).length));
  const waveLine = (w: PlannedWave): string =>
    [
      `  ${`#${w.index}`.padEnd(indexWidth)}`,
      w.id.padEnd(idWidth),
      w.kind.padEnd(6),
      plural(w.targets.length, 'target').padEnd(countWidth),
      `maxUnavailable ${String(w.maxUnavailable).padEnd(muWidth)}`,
      `observe ${formatDurationMs(w.observeMs).padEnd(observeWidth)}`,
      abbreviateIds(w.targets),
    ].join('  ');

  // A wave belongs to the tier holding its targets (each target is in one tier),
  // which stays right even if two tiers share a name.
  const tierOfTarget = new Map<string, number>();
  plan.tiers.forEach((tier, i) => tier.targets.forEach((id) => tierOfTarget.set(id, i)));
  plan.tiers.forEach((tier, i) => {
    lines.push('', tierHeadline(tier, i + 1, plan.tiers.length));
    for (const w of plan.waves) {
      const first = w.targets[0];
      if (first !== undefined && tierOfTarget.get(first) === i) lines.push(waveLine(w));
    }
  });

  if (plan.warnings.length > 0) {
    lines.push('', 'Warnings:');
    for (const w of plan.warnings) lines.push(`  - ${w}`);
  }
  return lines.join('\n');
}

/**
 * When each wave would start and end under the spec's `schedule` if the rollout started at
 * `nowMs` and each wave took its estimate (see `scheduleWaves`), as text (no trailing newline):
 *
 * ```text
 * Schedule (times in Europe/Berlin, from Thu 2026-12-03 08:40 Europe/Berlin):
 *   edge/canary  Thu 2026-12-03 09:00 → 09:16  held by the schedule
 *   edge/1       Thu 2026-12-03 09:16 → 09:36
 * ```
 *
 * Pure: "now" is passed in (epoch milliseconds); the caller reads the clock.
 * @returns an empty string without a schedule
 */
export function describeSchedule(plan: RolloutPlan, schedule: ScheduleSpec | undefined, nowMs: number): string {
  if (!schedule || plan.waves.length === 0) return '';
  const zone = schedule.timeZone;
  const idWidth = Math.max(...plan.waves.map((w) => w.id.length));
  const lines = [`Schedule (times in ${zone}, from ${formatInZone(nowMs, zone)}):`];
  for (const w of scheduleWaves(plan, schedule, nowMs)) {
    if (w.startMs === undefined) {
      lines.push(`  ${w.wave.padEnd(idWidth)}  no opening within the search horizon`);
      continue;
    }
    const start = formatInZone(w.startMs, zone).slice(0, -(zone.length + 1));
    const end = formatInZone(w.endMs!, zone).slice(0, -(zone.length + 1));
    const sameDay = start.slice(0, 14) === end.slice(0, 14);
    const line = `  ${w.wave.padEnd(idWidth)}  ${start} → ${sameDay ? end.slice(15) : end}`;
    lines.push(w.held ? `${line}  held by the schedule` : line);
  }
  return lines.join('\n');
}
