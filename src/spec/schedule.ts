/**
 * The spec's `schedule` section: deploy windows (days and hours in a time zone)
 * and freezes (dated periods with a reason). Here: the written form (zod, so the
 * JSON Schema and `validate` know every field), its normalization (weekday
 * numbers, minutes of the day, freezes as epoch milliseconds) and the rules the
 * schema cannot express (an IANA time zone that exists, a freeze that ends after
 * it begins), reported with the field's path so `parse.ts` locates them.
 * Time-zone arithmetic is luxon's (IANA zones, DST), never our own.
 * See docs/schedule-and-notifications.md.
 */
import { DateTime, IANAZone } from 'luxon';
import { z } from 'zod';
import { e, settings } from './explain.js';
import type { SpecProblem } from './problem.js';

/** Day names in the order of ISO weekdays (luxon's `weekday`: 1 = Monday … 7 = Sunday). */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** Time zone of windows and freezes when `schedule.timeZone` is omitted. */
export const DEFAULT_SCHEDULE_TIME_ZONE = 'UTC';

/** `"09:00-17:00"`; an end at or before the start crosses midnight (`"22:00-06:00"`). `24:00` ends at midnight. */
const HOURS_PATTERN = String.raw`^([01]\d|2[0-3]):([0-5]\d)-(([01]\d|2[0-3]):([0-5]\d)|24:00)$`;
/** `2026-12-20` (a whole day) or `2026-12-20T18:00` / `…T18:00:00` with an optional offset or `Z`. */
const WHEN_PATTERN = String.raw`^\d{4}-\d{2}-\d{2}(T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?(Z|[+-]\d{2}:\d{2})?)?$`;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

const HOURS_FORMS = 'a range of local times like "09:00-17:00", or "22:00-06:00" across midnight';
const WHEN_FORMS = 'a date like 2026-12-20 or a local time like 2026-12-20T18:00 (quote it in YAML if you like)';
const ZONE_FORMS = 'an IANA time zone like "Europe/Berlin", "America/New_York" or "UTC"';

const TimeZone = z
  .string(e('must be a time zone', ZONE_FORMS))
  .min(1, e('must be a time zone', ZONE_FORMS))
  .describe('IANA time zone (e.g. "Europe/Berlin"); daylight saving time is followed.');

const Day = z.enum(WEEKDAYS, e('must be a day', WEEKDAYS.join(', ')));

const Window = settings('window', {
  days: z
    .array(Day, e('must be a list of days', `a list like [mon, tue, wed, thu]`))
    .min(1, e('must list at least one day', 'days like [mon, tue]'))
    .optional()
    .describe(
      'Days the window opens on (mon … sun; default every day). A window across midnight closes the day after.',
    ),
  hours: z
    .string(e('must be a range of hours', HOURS_FORMS))
    .regex(new RegExp(HOURS_PATTERN), e('must be a range of hours', HOURS_FORMS))
    .describe('Local hours "HH:MM-HH:MM"; an end at or before the start crosses midnight.'),
  timeZone: TimeZone.optional().describe("This window's time zone (default: the schedule's)."),
}).meta({ id: 'DeployWindow' });

const When = z
  .string(e('must be a date or a date and time', WHEN_FORMS))
  .regex(new RegExp(WHEN_PATTERN), e('must be a date or a date and time', WHEN_FORMS));

const Freeze = settings('freeze', {
  from: When.describe('Start of the freeze: a date (from its midnight) or a local date and time.'),
  until: When.describe('End of the freeze: a date (through the end of that day) or a local date and time (exclusive).'),
  reason: z
    .string(e('must say why', 'a reason like "end-of-year freeze"'))
    .min(1, e('must not be empty', 'a reason like "end-of-year freeze"'))
    .describe('Why nothing rolls out then; shown when a run stops.'),
  timeZone: TimeZone.optional().describe("This freeze's time zone (default: the schedule's)."),
}).meta({ id: 'DeployFreeze' });

/** Zod schema of the written `schedule` section. */
export const ScheduleSchema = settings('schedule', {
  timeZone: TimeZone.optional().describe(`Time zone of windows and freezes (default "${DEFAULT_SCHEDULE_TIME_ZONE}").`),
  windows: z
    .array(Window, e('must be a list of windows', 'a list of {days, hours}'))
    .min(
      1,
      e(
        'must list at least one window',
        'a window like {days: [mon, tue], hours: "09:00-17:00"}, or leave windows out',
      ),
    )
    .optional()
    .describe('When waves may start (omitted: any time outside freezes). A wave that started runs to its end.'),
  freezes: z
    .array(Freeze, e('must be a list of freezes', 'a list of {from, until, reason}'))
    .optional()
    .describe('Dated periods in which no wave starts, whatever the windows say.'),
})
  .meta({ id: 'Schedule' })
  .describe(
    'Deploy windows and freezes: outside a window, or inside a freeze, a run stops at the next wave boundary (exit 6). Rollbacks are never held.',
  );

/** The `schedule` section as written. */
export type WrittenSchedule = z.input<typeof ScheduleSchema>;

/** A deploy window, normalized. */
export interface DeployWindowSpec {
  /** ISO weekdays the window opens on: 1 = Monday … 7 = Sunday. */
  days: number[];
  /** Opening, in minutes after local midnight (0 … 1439). */
  startMinute: number;
  /** Closing, in minutes after local midnight (1 … 1440); at or before `startMinute`: on the next day. */
  endMinute: number;
  /** IANA time zone. */
  timeZone: string;
}

/** A freeze, normalized: `[fromMs, untilMs)` in epoch milliseconds. */
export interface FreezeSpec {
  fromMs: number;
  untilMs: number;
  reason: string;
  /** As written, for messages. */
  from: string;
  until: string;
  timeZone: string;
}

/** The `schedule` section, normalized. Empty `windows`: always open outside freezes. */
export interface ScheduleSpec {
  timeZone: string;
  windows: DeployWindowSpec[];
  freezes: FreezeSpec[];
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

/**
 * A freeze bound in epoch milliseconds: a date is its local midnight (`until`: the next one, so
 * the day is frozen through its end); a date and time is local unless it carries an offset.
 * @returns NaN when luxon cannot place it (an impossible date like 2026-02-30)
 */
export function freezeBoundMs(written: string, zone: string, bound: 'from' | 'until'): number {
  const dt = DateTime.fromISO(written, { zone, setZone: false });
  if (!dt.isValid) return Number.NaN;
  const start = DATE_ONLY.test(written) ? dt.startOf('day') : dt;
  return (DATE_ONLY.test(written) && bound === 'until' ? start.plus({ days: 1 }) : start).toMillis();
}

/**
 * Applies the defaults of the `schedule` section (UTC, every day) and turns days into ISO
 * weekdays, hours into minutes of the day and freezes into epoch milliseconds.
 * Assumes {@link checkScheduleRules} found no error (an unknown zone gives NaN bounds).
 */
export function normalizeSchedule(written: WrittenSchedule): ScheduleSpec {
  const timeZone = written.timeZone ?? DEFAULT_SCHEDULE_TIME_ZONE;
  return {
    timeZone,
    windows: (written.windows ?? []).map((w) => {
      const [start, end] = w.hours.split('-') as [string, string];
      return {
        days: (w.days ?? WEEKDAYS).map((d) => WEEKDAYS.indexOf(d) + 1),
        startMinute: minutesOf(start),
        endMinute: minutesOf(end),
        timeZone: w.timeZone ?? timeZone,
      };
    }),
    freezes: (written.freezes ?? []).map((f) => {
      const zone = f.timeZone ?? timeZone;
      return {
        fromMs: freezeBoundMs(f.from, zone, 'from'),
        untilMs: freezeBoundMs(f.until, zone, 'until'),
        reason: f.reason,
        from: f.from,
        until: f.until,
        timeZone: zone,
      };
    }),
  };
}

/**
 * The rules of the `schedule` section the schema cannot express: every time zone is one luxon
 * knows (IANA); a window does not open and close at the same minute (error: it would be open
 * all day or never, say which with "00:00-24:00"); a freeze's dates exist and it ends after it
 * begins (error).
 * @returns problems with field paths; `parse.ts` locates them
 */
export function checkScheduleRules(written: WrittenSchedule | undefined): SpecProblem[] {
  if (written === undefined || typeof written !== 'object' || written === null) return [];
  const out: SpecProblem[] = [];
  const zoneOk = (zone: unknown, path: (string | number)[]): boolean => {
    if (typeof zone !== 'string' || zone === '') return false;
    if (IANAZone.isValidZone(zone)) return true;
    out.push({
      path,
      message: 'is not a time zone luxon knows',
      expected: ZONE_FORMS,
      showGot: true,
      severity: 'error',
    });
    return false;
  };
  const scheduleZone = written.timeZone ?? DEFAULT_SCHEDULE_TIME_ZONE;
  const baseOk = written.timeZone === undefined || zoneOk(written.timeZone, ['schedule', 'timeZone']);
  (Array.isArray(written.windows) ? written.windows : []).forEach((w, i) => {
    if (w?.timeZone !== undefined) zoneOk(w.timeZone, ['schedule', 'windows', i, 'timeZone']);
    if (typeof w?.hours === 'string' && new RegExp(HOURS_PATTERN).test(w.hours)) {
      const [start, end] = w.hours.split('-') as [string, string];
      if (minutesOf(start) === minutesOf(end))
        out.push({
          path: ['schedule', 'windows', i, 'hours'],
          message: 'opens and closes at the same time',
          expected: '"00:00-24:00" for a whole day, or a range like "09:00-17:00"',
          showGot: true,
          severity: 'error',
        });
    }
  });
  (Array.isArray(written.freezes) ? written.freezes : []).forEach((f, i) => {
    const ownOk = f?.timeZone === undefined ? baseOk : zoneOk(f.timeZone, ['schedule', 'freezes', i, 'timeZone']);
    if (!ownOk || typeof f?.from !== 'string' || typeof f?.until !== 'string') return;
    if (!new RegExp(WHEN_PATTERN).test(f.from) || !new RegExp(WHEN_PATTERN).test(f.until)) return;
    const zone = f.timeZone ?? scheduleZone;
    const from = freezeBoundMs(f.from, zone, 'from');
    const until = freezeBoundMs(f.until, zone, 'until');
    for (const [key, ms] of [
      ['from', from],
      ['until', until],
    ] as const) {
      if (Number.isNaN(ms))
        out.push({
          path: ['schedule', 'freezes', i, key],
          message: 'is not a date that exists',
          expected: WHEN_FORMS,
          showGot: true,
          severity: 'error',
        });
    }
    if (!Number.isNaN(from) && !Number.isNaN(until) && !(until > from))
      out.push({
        path: ['schedule', 'freezes', i, 'until'],
        message: `must be after from (${f.from})`,
        expected: 'an end after the start; a date alone freezes through the end of that day',
        showGot: true,
        severity: 'error',
      });
  });
  return out;
}
