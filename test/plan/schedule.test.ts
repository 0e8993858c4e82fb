/**
 * Deploy windows and freezes, computed (src/plan/schedule.ts) on normalized specs: DST edges in
 * Europe/Berlin and America/New_York, a window across midnight, freezes (a whole-day freeze
 * through its end, a freeze that wins over an open window), and when each wave of a plan would run.
 */
import { describe, expect, it } from 'vitest';
import { assessSchedule, nextOpening, scheduleJson, scheduleWaves } from '../../src/plan/schedule.js';
import { describeSchedule } from '../../src/plan/describe.js';
import { planRollout } from '../../src/plan/plan.js';
import { normalizeSchedule, type WrittenSchedule } from '../../src/spec/schedule.js';
import { fleet, size, spec, tier } from './helpers.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());
const sched = (w: WrittenSchedule) => normalizeSchedule(w);

describe('deploy windows', () => {
  const office = sched({
    timeZone: 'Europe/Berlin',
    windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: '09:00-17:00' }],
  });

  it('is open inside the hours of a listed day and closed outside, with the next opening', () => {
    expect(assessSchedule(office, at('2026-12-07T08:00:00Z'))).toEqual({ open: true }); // Mon 09:00 CET
    expect(assessSchedule(office, at('2026-12-07T15:59:59Z'))).toEqual({ open: true });
    const evening = assessSchedule(office, at('2026-12-07T16:00:00Z')); // Mon 17:00: closed (end exclusive)
    expect(evening).toMatchObject({ open: false, reason: 'OutsideDeployWindow' });
    expect(iso(evening.open ? undefined : evening.opensAtMs)).toBe('2026-12-08T08:00:00.000Z');
    const friday = assessSchedule(office, at('2026-12-11T17:00:00Z'));
    expect(iso(friday.open ? undefined : friday.opensAtMs)).toBe('2026-12-14T08:00:00.000Z'); // the Monday after
  });

  it('follows daylight saving time: 09:00 local is 08:00Z in winter and 07:00Z in summer', () => {
    expect(iso(nextOpening(office, at('2026-03-27T17:00:00Z')))).toBe('2026-03-30T07:00:00.000Z'); // across spring-forward
    expect(iso(nextOpening(office, at('2026-10-23T17:00:00Z')))).toBe('2026-10-26T08:00:00.000Z'); // across fall-back
  });

  it('moves an opening inside the spring-forward gap to the first instant after it', () => {
    const night = sched({ timeZone: 'Europe/Berlin', windows: [{ hours: '02:30-04:00' }] });
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist; the window opens at 03:30 CEST.
    const opens = nextOpening(night, at('2026-03-28T12:00:00Z'));
    expect(iso(opens)).toBe('2026-03-29T01:30:00.000Z');
    expect(assessSchedule(night, at('2026-03-29T01:45:00Z'))).toEqual({ open: true }); // 03:45 CEST
    expect(assessSchedule(night, at('2026-03-29T02:00:00Z')).open).toBe(false); // 04:00 CEST
  });

  it('keeps a window over the fall-back hour one real hour longer (01:00-03:00 New York lasts 3 h)', () => {
    const ny = sched({ timeZone: 'America/New_York', windows: [{ days: ['sun'], hours: '01:00-03:00' }] });
    // 2026-11-01: 02:00 EDT falls back to 01:00 EST. 01:00 EDT = 05:00Z, 03:00 EST = 08:00Z.
    expect(iso(nextOpening(ny, at('2026-10-31T12:00:00Z')))).toBe('2026-11-01T05:00:00.000Z');
    expect(assessSchedule(ny, at('2026-11-01T07:30:00Z'))).toEqual({ open: true });
    expect(assessSchedule(ny, at('2026-11-01T08:00:00Z')).open).toBe(false);
  });

  it('runs a window across midnight into the next day, named by the day it opens', () => {
    const night = sched({ windows: [{ days: ['fri'], hours: '22:00-06:00' }] }); // UTC
    expect(assessSchedule(night, at('2026-12-11T21:59:00Z')).open).toBe(false); // Fri 21:59
    expect(assessSchedule(night, at('2026-12-11T22:00:00Z'))).toEqual({ open: true });
    expect(assessSchedule(night, at('2026-12-12T05:59:00Z'))).toEqual({ open: true }); // Sat 05:59
    const sat = assessSchedule(night, at('2026-12-12T06:00:00Z'));
    expect(sat).toMatchObject({ open: false, reason: 'OutsideDeployWindow' });
    expect(iso(sat.open ? undefined : sat.opensAtMs)).toBe('2026-12-18T22:00:00.000Z');
  });

  it('takes a window in its own time zone, and "00:00-24:00" for a whole day', () => {
    const s = sched({
      timeZone: 'UTC',
      windows: [
        { days: ['sun'], hours: '00:00-24:00' },
        { days: ['mon'], hours: '09:00-10:00', timeZone: 'Asia/Tokyo' },
      ],
    });
    expect(assessSchedule(s, at('2026-12-13T23:59:00Z'))).toEqual({ open: true }); // Sun 23:59 UTC
    expect(assessSchedule(s, at('2026-12-14T00:30:00Z'))).toEqual({ open: true }); // Mon 09:30 JST
    // Mon 10:00 JST: closed until Sunday 00:00 UTC.
    expect(iso(nextOpening(s, at('2026-12-14T01:00:00Z')))).toBe('2026-12-20T00:00:00.000Z');
  });
});

describe('freezes', () => {
  const s = sched({
    timeZone: 'Europe/Berlin',
    windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: '09:00-17:00' }],
    freezes: [{ from: '2026-12-21', until: '2027-01-01', reason: 'end-of-year freeze' }],
  });

  it('wins over an open window and says until when, then opens at the first window after it', () => {
    const v = assessSchedule(s, at('2026-12-21T10:00:00Z')); // Mon 11:00, in a window
    expect(v).toMatchObject({ open: false, reason: 'DeployFreeze', freeze: { reason: 'end-of-year freeze' } });
    if (v.open) throw new Error('expected closed');
    expect(iso(v.freeze!.untilMs)).toBe('2027-01-01T23:00:00.000Z'); // through the end of 2027-01-01 (CET)
    expect(iso(v.opensAtMs)).toBe('2027-01-04T08:00:00.000Z'); // Monday 09:00: 1 Jan is a Friday, frozen
  });

  it('starts at local midnight of its first day', () => {
    expect(assessSchedule(s, at('2026-12-20T22:59:00Z')).open).toBe(false); // Sun 23:59: no window either
    expect(assessSchedule(s, at('2026-12-18T10:00:00Z'))).toEqual({ open: true }); // the Friday before
  });

  it('with a local time and no windows: closed only inside it', () => {
    const only = sched({ freezes: [{ from: '2026-12-24T18:00', until: '2026-12-26T06:00', reason: 'holiday' }] });
    expect(assessSchedule(only, at('2026-12-24T17:59:00Z'))).toEqual({ open: true });
    const v = assessSchedule(only, at('2026-12-25T12:00:00Z'));
    expect(v).toMatchObject({ open: false, reason: 'DeployFreeze' });
    expect(iso(v.open ? undefined : v.opensAtMs)).toBe('2026-12-26T06:00:00.000Z');
  });

  it('follows overlapping freezes to the end of the last one', () => {
    const two = sched({
      freezes: [
        { from: '2026-12-01', until: '2026-12-10', reason: 'a' },
        { from: '2026-12-08', until: '2026-12-20', reason: 'b' },
      ],
    });
    expect(iso(nextOpening(two, at('2026-12-02T00:00:00Z')))).toBe('2026-12-21T00:00:00.000Z');
  });
});

describe('when each wave would run (scheduleWaves)', () => {
  const MIN = 60_000;
  const plan = planRollout(
    spec([
      tier(
        'edge',
        {},
        { canary: size(1), waves: size(2), maxUnavailable: size(2), observeMs: 30 * MIN, expectedTargetMs: 30 * MIN },
      ),
    ]),
    fleet('edge', 5),
  );

  it('follows the waves back to back without a schedule', () => {
    const t0 = at('2026-12-07T08:00:00Z');
    const out = scheduleWaves(plan, undefined, t0);
    expect(out.map((w) => [w.wave, iso(w.startMs), w.held])).toEqual([
      ['edge/canary', '2026-12-07T08:00:00.000Z', false],
      ['edge/1', '2026-12-07T09:00:00.000Z', false],
      ['edge/2', '2026-12-07T10:00:00.000Z', false],
    ]);
  });

  it('holds a wave whose predecessor ends after the window closes until the next opening; a started wave runs on', () => {
    const window = sched({ windows: [{ hours: '08:00-09:30' }] }); // UTC, every day
    const out = scheduleWaves(plan, window, at('2026-12-07T07:00:00Z'));
    expect(out.map((w) => [w.wave, iso(w.startMs), iso(w.endMs), w.held])).toEqual([
      ['edge/canary', '2026-12-07T08:00:00.000Z', '2026-12-07T09:00:00.000Z', true],
      ['edge/1', '2026-12-07T09:00:00.000Z', '2026-12-07T10:00:00.000Z', false],
      ['edge/2', '2026-12-08T08:00:00.000Z', '2026-12-08T09:00:00.000Z', true],
    ]);
  });
});

describe('the schedule in plan output (describeSchedule, scheduleJson)', () => {
  const MIN = 60_000;
  const plan = planRollout(
    spec([
      tier(
        'edge',
        {},
        { canary: size(1), waves: size(2), maxUnavailable: size(2), observeMs: 30 * MIN, expectedTargetMs: 30 * MIN },
      ),
    ]),
    fleet('edge', 5),
  );
  const berlin = sched({
    timeZone: 'Europe/Berlin',
    windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: '09:00-10:30' }],
  });

  it('shows when each wave would run in the schedule’s zone, and which ones wait', () => {
    expect(describeSchedule(plan, berlin, at('2026-12-07T07:00:00Z'))).toBe(
      [
        'Schedule (times in Europe/Berlin, from Mon 2026-12-07 08:00 Europe/Berlin):',
        '  edge/canary  Mon 2026-12-07 09:00 → 10:00  held by the schedule',
        '  edge/1       Mon 2026-12-07 10:00 → 11:00',
        '  edge/2       Tue 2026-12-08 09:00 → 10:00  held by the schedule',
      ].join('\n'),
    );
    expect(describeSchedule(plan, undefined, 0)).toBe('');
  });

  it('gives the same times as ISO-8601 for --json', () => {
    const out = scheduleJson(plan, berlin, at('2026-12-07T07:00:00Z'));
    expect(out.schedule?.waves[2]).toEqual({
      wave: 'edge/2',
      startsAt: '2026-12-08T08:00:00.000Z',
      endsAt: '2026-12-08T09:00:00.000Z',
      held: true,
    });
    expect(scheduleJson(plan, undefined, 0)).toEqual({});
  });
});
