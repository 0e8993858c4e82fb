/**
 * Deploy windows and freezes, computed: whether a wave may start at a given
 * instant, when the schedule opens next, and when each wave of a plan would run
 * given its estimate. Pure: "now" is passed in as epoch milliseconds; the
 * calendar arithmetic (IANA zones, DST gaps and overlaps) is luxon's.
 *
 * A window of `days` and `hours` opens on each of its days at the local start
 * time and closes at the local end time, on the next day when the end is at or
 * before the start ("22:00-06:00"). On a spring-forward day a start inside the
 * gap moves to the first instant after it (luxon's rule); on a fall-back day a
 * repeated local time means its first occurrence.
 */
import { DateTime } from 'luxon';
import type { DeployWindowSpec, FreezeSpec, ScheduleSpec } from '../spec/schedule.js';
import type { RolloutPlan } from './types.js';

/** Reason codes of a closed schedule (the same strings as the engine's `Reasons`). */
export type ScheduleClosedReason = 'OutsideDeployWindow' | 'DeployFreeze';

/** Whether a wave may start now, and if not, why and when it may. */
export type ScheduleVerdict =
  | { open: true }
  | {
      open: false;
      reason: ScheduleClosedReason;
      /** When the schedule opens next (epoch ms); undefined when it does not within {@link SEARCH_HORIZON_DAYS}. */
      opensAtMs?: number;
      /** The freeze in force (reason `DeployFreeze`). */
      freeze?: FreezeSpec;
    };

/** How far ahead {@link nextOpening} looks before it gives up (days). */
export const SEARCH_HORIZON_DAYS = 800;

/** One opening of a window: `[startMs, endMs)`. */
interface Interval {
  startMs: number;
  endMs: number;
}

/** The openings of `w` whose start day is within `[fromDay - 1, fromDay + days]` (local days), in time order. */
function openings(w: DeployWindowSpec, atMs: number, days: number): Interval[] {
  const local = DateTime.fromMillis(atMs, { zone: w.timeZone }).startOf('day');
  const out: Interval[] = [];
  for (let d = -1; d <= days; d++) {
    const day = local.plus({ days: d });
    if (!w.days.includes(day.weekday)) continue;
    const start = day.set({ hour: Math.floor(w.startMinute / 60), minute: w.startMinute % 60 });
    const endDay = w.endMinute <= w.startMinute ? day.plus({ days: 1 }) : day;
    const end =
      w.endMinute === 1440
        ? endDay.plus({ days: 1 }).startOf('day')
        : endDay.set({ hour: Math.floor(w.endMinute / 60), minute: w.endMinute % 60 });
    out.push({ startMs: start.toMillis(), endMs: end.toMillis() });
  }
  return out;
}

function inWindow(schedule: ScheduleSpec, atMs: number): boolean {
  if (schedule.windows.length === 0) return true;
  return schedule.windows.some((w) => openings(w, atMs, 0).some((o) => o.startMs <= atMs && atMs < o.endMs));
}

/** The freeze in force at `atMs` that ends last (several may overlap). */
function freezeAt(schedule: ScheduleSpec, atMs: number): FreezeSpec | undefined {
  let found: FreezeSpec | undefined;
  for (const f of schedule.freezes)
    if (f.fromMs <= atMs && atMs < f.untilMs && (!found || f.untilMs > found.untilMs)) found = f;
  return found;
}

/** The first window opening strictly after `atMs` (within the next 8 local days of each window). */
function nextWindowStart(schedule: ScheduleSpec, atMs: number): number | undefined {
  let best: number | undefined;
  for (const w of schedule.windows)
    for (const o of openings(w, atMs, 8))
      if (o.startMs > atMs && (best === undefined || o.startMs < best)) best = o.startMs;
  return best;
}

/**
 * The earliest instant at or after `fromMs` at which the schedule is open (inside a window, or
 * any time without windows, and outside every freeze).
 * @param fromMs - epoch milliseconds
 * @returns epoch milliseconds, or undefined when nothing opens within {@link SEARCH_HORIZON_DAYS}
 */
export function nextOpening(schedule: ScheduleSpec, fromMs: number): number | undefined {
  const horizon = fromMs + SEARCH_HORIZON_DAYS * 86_400_000;
  let t = fromMs;
  while (t <= horizon) {
    const freeze = freezeAt(schedule, t);
    if (freeze) {
      t = freeze.untilMs;
      continue;
    }
    if (inWindow(schedule, t)) return t;
    const next = nextWindowStart(schedule, t);
    if (next === undefined) return undefined;
    t = next;
  }
  return undefined;
}

/**
 * Whether a wave may start at `nowMs`: a freeze wins over a window (`DeployFreeze`), then the
 * windows (`OutsideDeployWindow`); closed verdicts carry the next opening.
 * @param nowMs - epoch milliseconds
 */
export function assessSchedule(schedule: ScheduleSpec | undefined, nowMs: number): ScheduleVerdict {
  if (!schedule) return { open: true };
  const freeze = freezeAt(schedule, nowMs);
  if (!freeze && inWindow(schedule, nowMs)) return { open: true };
  const opensAtMs = nextOpening(schedule, nowMs);
  return freeze
    ? { open: false, reason: 'DeployFreeze', opensAtMs, freeze }
    : { open: false, reason: 'OutsideDeployWindow', opensAtMs };
}

/** When a planned wave would run: start and end in epoch ms (undefined start: not within the horizon). */
export interface ScheduledWave {
  wave: string;
  startMs?: number;
  endMs?: number;
  /** True when the wave waits for a window or the end of a freeze. */
  held: boolean;
}

/**
 * When each wave of `plan` would run if the rollout started at `nowMs` and every wave took its
 * estimate (`PlannedWave.estimatedMs`): a wave starts at the first opening at or after the end
 * of the one before it, and runs to its end even past its window (the engine stops only at wave
 * boundaries). Without a schedule, waves follow each other from `nowMs`.
 * @param nowMs - epoch milliseconds
 * @returns one entry per wave, in plan order; after a wave that cannot start, the rest have no times
 */
export function scheduleWaves(plan: RolloutPlan, schedule: ScheduleSpec | undefined, nowMs: number): ScheduledWave[] {
  let cursor: number | undefined = nowMs;
  return plan.waves.map((w) => {
    if (cursor === undefined) return { wave: w.id, held: true };
    const start: number | undefined = schedule ? nextOpening(schedule, cursor) : cursor;
    const held = start !== cursor;
    if (start === undefined) {
      cursor = undefined;
      return { wave: w.id, held: true };
    }
    cursor = start + (w.estimatedMs ?? w.observeMs);
    return { wave: w.id, startMs: start, endMs: cursor, held };
  });
}

/** An instant for people in a zone: `Mon 2026-12-07 09:00 Europe/Berlin`. */
export function formatInZone(ms: number, zone: string): string {
  return `${DateTime.fromMillis(ms, { zone }).toFormat('ccc yyyy-MM-dd HH:mm')} ${zone}`;
}

/**
 * The `schedule` part of `fleetgate plan --json`: when each wave would start and end
 * (ISO-8601 UTC) under the schedule, from `nowMs`. `{}` without a schedule, so it can be spread.
 */
export function scheduleJson(
  plan: RolloutPlan,
  schedule: ScheduleSpec | undefined,
  nowMs: number,
): {
  schedule?: {
    timeZone: string;
    from: string;
    waves: { wave: string; startsAt?: string; endsAt?: string; held: boolean }[];
  };
} {
  if (!schedule) return {};
  const at = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  return {
    schedule: {
      timeZone: schedule.timeZone,
      from: new Date(nowMs).toISOString(),
      waves: scheduleWaves(plan, schedule, nowMs).map((w) => ({
        wave: w.wave,
        startsAt: at(w.startMs),
        endsAt: at(w.endMs),
        held: w.held,
      })),
    },
  };
}
