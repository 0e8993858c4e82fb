/** The alert gate's decisions, pure: which alerts count, what the verdict is, what the rollout does next. */
import { describe, expect, it } from 'vitest';
import { alertKey, assessAlerts, type AlertsCheckInput } from '../../src/analysis/alerts/assess.js';
import { acceptedAlerts, decideOnAlerts } from '../../src/engine/alerts.js';
import { parseMatchers, renderMatchers, type Matcher } from '../../src/spec/matchers.js';
import type { WaveState } from '../../src/state/types.js';

function m(text: string): Matcher[] {
  const r = parseMatchers(text);
  if (!r.ok) throw new Error(r.problem.message);
  return r.matchers;
}

const AT = '2026-12-03T06:00:00.000Z';
const edgeDown = {
  labels: { alertname: 'EdgeDown', severity: 'critical', instance: '10.0.0.1:80' },
  startsAt: AT,
  fingerprint: 'f1',
};
const coreDown = {
  labels: { alertname: 'CoreDown', severity: 'critical', instance: '10.0.0.9:80' },
  startsAt: AT,
  fingerprint: 'f2',
};

function input(over: Partial<AlertsCheckInput>): AlertsCheckInput {
  return {
    when: 'before',
    wave: 'edge/canary',
    action: 'pause',
    selector: 'severity="critical"',
    filter: ['severity="critical"'],
    rendered: [{ matchers: m('severity="critical"') }],
    answer: { ok: true, alerts: [] },
    where: 'http://127.0.0.1:9093/',
    at: AT,
    ...over,
  };
}

describe('assessAlerts', () => {
  it('passes when nothing fires, and fails naming each matching alert, oldest first', () => {
    expect(assessAlerts(input({})).verdict).toBe('pass');
    const late = { ...coreDown, startsAt: '2026-12-03T07:00:00.000Z' };
    const check = assessAlerts(input({ answer: { ok: true, alerts: [late, edgeDown] } }));
    expect(check).toMatchObject({ verdict: 'fail', firing: 2 });
    expect(check.alerts.map((a) => a.name)).toEqual(['EdgeDown', 'CoreDown']);
    expect(check.message).toMatch(
      /^2 firing alert\(s\) match \{severity="critical"\} before edge\/canary starts: EdgeDown\{severity="critical",instance="10.0.0.1:80"\} since 2026-12-03T06:00:00.000Z; CoreDown/,
    );
  });

  it('with a per-target selector, counts an alert only for a target it covers and says which', () => {
    const selector = m('severity="critical", instance="{{target.address}}"');
    const rendered = [
      { target: 'edge-1', matchers: renderMatchers(selector, () => '10.0.0.1:80') },
      { target: 'edge-2', matchers: renderMatchers(selector, () => '10.0.0.2:80') },
    ];
    const check = assessAlerts(input({ rendered, answer: { ok: true, alerts: [edgeDown, coreDown] } }));
    expect(check.firing).toBe(1);
    expect(check.alerts[0]).toMatchObject({ name: 'EdgeDown', targets: ['edge-1'] });
    expect(check.targets).toBe(2);
  });

  it('never passes without an answer', () => {
    const check = assessAlerts(input({ answer: { ok: false, message: 'connection refused (ECONNREFUSED)' } }));
    expect(check.verdict).toBe('inconclusive');
    expect(check.message).toMatch(/did not answer before edge\/canary starts: connection refused/);
  });

  it('does not count alerts a continue accepted, but counts the same alert firing anew', () => {
    const accepted = new Set([alertKey(edgeDown)]);
    expect(assessAlerts(input({ accepted, answer: { ok: true, alerts: [edgeDown] } })).verdict).toBe('pass');
    const again = { ...edgeDown, startsAt: '2026-12-03T08:00:00.000Z' };
    expect(assessAlerts(input({ accepted, answer: { ok: true, alerts: [again] } })).verdict).toBe('fail');
  });

  it('records at most 20 alerts and counts them all', () => {
    const many = Array.from({ length: 25 }, (_, i) => ({
      ...edgeDown,
      fingerprint: `f${i}`,
      labels: { ...edgeDown.labels, n: String(i) },
    }));
    const check = assessAlerts(input({ answer: { ok: true, alerts: many } }));
    expect(check.firing).toBe(25);
    expect(check.alerts).toHaveLength(20);
    expect(check.message).toMatch(/; and 22 more$/);
  });
});

describe('decideOnAlerts', () => {
  const fail = assessAlerts(input({ answer: { ok: true, alerts: [edgeDown] } }));

  it('pass → go on; no answer → pause AlertmanagerUnreachable', () => {
    expect(decideOnAlerts(assessAlerts(input({})), true)).toBeUndefined();
    expect(decideOnAlerts(assessAlerts(input({ answer: { ok: false, message: 'x' } })), true)).toMatchObject({
      kind: 'pause',
      reason: 'AlertmanagerUnreachable',
    });
  });

  it('pause → pause AlertFiring; fail → roll back what was touched, or pause when nothing was', () => {
    expect(decideOnAlerts(fail, true)).toMatchObject({ kind: 'pause', reason: 'AlertFiring' });
    const failing = { ...fail, action: 'fail' as const };
    expect(decideOnAlerts(failing, true)).toMatchObject({ kind: 'rollback', reason: 'AlertFiring' });
    const untouched = decideOnAlerts(failing, false);
    expect(untouched).toMatchObject({ kind: 'pause', reason: 'AlertFiring' });
    expect(untouched?.message).toMatch(/nothing to roll back/);
  });
});

describe('acceptedAlerts', () => {
  const check = assessAlerts(input({ answer: { ok: true, alerts: [edgeDown] } }));
  const wave: WaveState = { id: 'edge/canary', phase: 'Pending', targets: [], alerts: { before: check } };

  it('are the alerts of a failed check followed by a continue at its wave', () => {
    expect(acceptedAlerts([wave], [])).toEqual(new Set());
    expect(acceptedAlerts([wave], [{ decision: 'continue', wave: 'edge/1', at: '2026-12-03T06:01:00.000Z' }])).toEqual(
      new Set(),
    );
    expect(
      acceptedAlerts([wave], [{ decision: 'continue', wave: 'edge/canary', at: '2026-12-03T05:59:00.000Z' }]),
    ).toEqual(new Set());
    expect(
      acceptedAlerts([wave], [{ decision: 'continue', wave: 'edge/canary', at: '2026-12-03T06:01:00.000Z' }]),
    ).toEqual(new Set([alertKey(edgeDown)]));
    expect(acceptedAlerts([{ ...wave, alerts: { accepted: ['k@t'] } }], [])).toEqual(new Set(['k@t']));
  });
});
