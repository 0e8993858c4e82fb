/**
 * The schedule gate (spec `schedule`) on the in-memory kit with the fake clock: a run stops at
 * the wave boundary once the deploy window closes (`Progressing`, `OutsideDeployWindow`, the next
 * opening in the message and the state) and a later run inside the next window finishes; a run
 * started outside a window or inside a freeze touches nothing; a rollback is never held.
 */
import { describe, expect, it } from 'vitest';
import { Reasons } from '../../src/engine/reasons.js';
import { normalizeSchedule, type WrittenSchedule } from '../../src/spec/schedule.js';
import { T0 } from './kit/clock.js';
import { engineSpec, fleet, httpStep, scenario, size, tier } from './kit/engine.js';

const MIN = 60_000;

/** Three edge targets (canary 1, waves of 1, 10-minute windows) under `schedule`; the clock starts at T0 (Thu 12:00 UTC). */
function given(schedule: WrittenSchedule) {
  const spec = engineSpec([tier('edge', {}, { canary: size(1), waves: size(1), observeMs: 10 * MIN })], {
    schedule: normalizeSchedule(schedule),
  });
  return scenario({ spec, targets: fleet('edge', 3) });
}

const upgraded = (s: ReturnType<typeof given>) =>
  [...s.fleet.targets.values()].filter((t) => t.version === '1.1.0').length;

describe('the schedule gate (engine)', () => {
  it('stops at the wave boundary when the window closes, and resumes inside the next window', async () => {
    // Every day 12:00-12:15 UTC: the canary (12:00) and edge/1 (~12:10) start in it, edge/2 (~12:20) does not.
    const s = given({ windows: [{ hours: '12:00-12:15' }] });
    const r = await s.engine().run();
    expect(r.outcome).toBe('Progressing');
    expect(r.reason).toBe(Reasons.OutsideDeployWindow);
    expect(r.message).toContain('2026-01-02T12:00:00.000Z');
    expect(upgraded(s)).toBe(2);
    const state = s.state();
    expect(state.phase).toBe('Progressing');
    expect(state.waves.map((w) => w.phase)).toEqual(['Completed', 'Completed', 'Pending']);
    expect(state.condition).toMatchObject({ reason: Reasons.OutsideDeployWindow, opensAt: '2026-01-02T12:00:00.000Z' });
    expect(s.events.find((e) => e.event === 'schedule_held')).toMatchObject({
      wave: 'edge/2',
      reason: 'OutsideDeployWindow',
    });

    // A run before the window opens changes nothing; one inside it finishes the rollout.
    s.clock.jump(Date.parse('2026-01-02T11:00:00Z') - s.clock.nowMs());
    expect((await s.engine().run()).reason).toBe(Reasons.OutsideDeployWindow);
    expect(upgraded(s)).toBe(2);
    s.clock.jump(Date.parse('2026-01-02T12:00:00Z') - s.clock.nowMs());
    const done = await s.engine().run();
    expect(done.outcome).toBe('Healthy');
    expect(upgraded(s)).toBe(3);
    expect(s.state().condition?.reason).not.toBe(Reasons.OutsideDeployWindow);
  });

  it('touches nothing when started outside every window (no step, no hook), and says when the window opens', async () => {
    const s = given({ timeZone: 'Europe/Berlin', windows: [{ days: ['mon'], hours: '09:00-17:00' }] });
    s.spec.hooks = { ...s.spec.hooks, before: httpStep('backup') };
    const r = await s.engine().run();
    expect(r).toMatchObject({ outcome: 'Progressing', reason: Reasons.OutsideDeployWindow });
    // T0 is Thursday 2026-01-01; the next Monday 09:00 in Berlin (CET) is 08:00 UTC.
    expect(s.state().condition?.opensAt).toBe('2026-01-05T08:00:00.000Z');
    expect(r.message).toContain('Mon 2026-01-05 09:00 Europe/Berlin');
    expect(upgraded(s)).toBe(0);
    expect(s.eventNames()).not.toContain('target_started');
    expect(s.eventNames()).not.toContain('hook_started');
    expect(s.state().waves.every((w) => w.phase === 'Pending')).toBe(true);
  });

  it('holds a rollout inside a freeze with its reason, whatever the windows say', async () => {
    const s = given({
      windows: [{ hours: '00:00-24:00' }],
      freezes: [{ from: '2025-12-20', until: '2026-01-01T18:00', reason: 'end-of-year freeze' }],
    });
    const r = await s.engine().run();
    expect(r).toMatchObject({ outcome: 'Progressing', reason: Reasons.DeployFreeze });
    expect(r.message).toContain('end-of-year freeze');
    expect(s.state().condition?.opensAt).toBe('2026-01-01T18:00:00.000Z');
    expect(upgraded(s)).toBe(0);
    s.clock.jump(6 * 60 * MIN);
    expect((await s.engine().run()).outcome).toBe('Healthy');
  });

  it('holds a rollout that waited at a gate, and asks the gate again inside the next window', async () => {
    const s = given({ windows: [{ hours: '12:00-12:15' }] });
    s.spec.gates = { canary: 'approve-canary' };
    s.gates = () => Promise.resolve({ approved: false, by: '' });
    expect((await s.engine().run()).reason).toBe(Reasons.GatePending);
    s.clock.jump(Date.parse('2026-01-01T13:00:00Z') - s.clock.nowMs());
    const held = await s.engine().run();
    expect(held).toMatchObject({ outcome: 'Progressing', reason: Reasons.OutsideDeployWindow });
    expect(s.state().phase).toBe('Progressing');
    expect(s.gateLog.asked).toHaveLength(1); // not asked outside the window
    s.clock.jump(Date.parse('2026-01-02T12:00:00Z') - s.clock.nowMs());
    s.gates = () => Promise.resolve({ approved: true, by: 'approver' });
    const r = await s.engine().run();
    expect(s.gateLog.asked).toHaveLength(2);
    expect(r.reason).toBe(Reasons.OutsideDeployWindow); // canary and edge/1 in the window, edge/2 after it
    expect(upgraded(s)).toBe(2);
  });

  it('never holds a rollback', async () => {
    const s = given({ windows: [{ hours: '12:00-12:15' }] });
    await s.engine().run(); // two waves done, held before edge/2
    s.clock.jump(Date.parse('2026-01-01T20:00:00Z') - s.clock.nowMs()); // outside the window
    const r = await s.engine().resume('rollback', 'bad version');
    expect(r.outcome).toBe('RolledBack');
    expect(upgraded(s)).toBe(0);
    expect(T0).toBeLessThan(s.clock.nowMs());
  });
});
