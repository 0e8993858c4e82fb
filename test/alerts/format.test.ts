/** How the alert gate's evidence reads in `status` and in the job summary. */
import picocolors from 'picocolors';
import { describe, expect, it } from 'vitest';
import { formatFiringAlert } from '../../src/analysis/alerts/format.js';
import type { AlertsCheck } from '../../src/analysis/alerts/types.js';
import type { LoadedRollout } from '../../src/app/session.js';
import { formatStatus } from '../../src/cli/status.js';
import { alertsVerdict, renderAlerts } from '../../src/github/markdown.js';
import { createEmptyState, type RolloutState } from '../../src/state/types.js';

const check: AlertsCheck = {
  at: '2026-12-03T06:00:04.000Z',
  when: 'before',
  verdict: 'fail',
  action: 'pause',
  selector: 'severity="critical", instance="{{target.address}}"',
  filter: ['severity="critical"'],
  targets: 2,
  message: '1 firing alert(s) match severity="critical", instance="{{target.address}}" before edge/1 starts: …',
  firing: 1,
  alerts: [
    {
      name: 'EdgeDown',
      labels: { alertname: 'EdgeDown', severity: 'critical', instance: '10.0.0.1:80' },
      startsAt: '2026-12-03T05:58:00.000Z',
      fingerprint: 'f1',
      targets: ['edge-1'],
    },
  ],
};

function state(): RolloutState {
  const s = createEmptyState('edge');
  s.phase = 'Paused';
  s.waves.push({ id: 'edge/1', phase: 'Pending', targets: ['edge-1', 'edge-2'], alerts: { before: check } });
  s.silences = [
    { id: 's-1', target: 'edge-3', wave: 'edge/canary', createdAt: check.at, endsAt: '2026-12-03T06:30:04.000Z' },
  ];
  return s;
}

describe('alert evidence for people', () => {
  it('names an alert with its sorted labels, since when, and the targets it matched', () => {
    expect(formatFiringAlert(check.alerts[0]!)).toBe(
      'EdgeDown{instance="10.0.0.1:80",severity="critical"} since 2026-12-03T05:58:00.000Z (edge-1)',
    );
  });

  it('status lists each check with its alerts, and the silences not expired yet', () => {
    const loaded = { spec: { name: 'edge', component: 'agent', version: '1.1.0' } } as unknown as LoadedRollout;
    const text = formatStatus(loaded, state(), picocolors.createColors(false));
    expect(text).toContain('alerts before edge/1: fail — 1 firing alert(s) match');
    expect(text).toContain(
      '    EdgeDown{instance="10.0.0.1:80",severity="critical"} since 2026-12-03T05:58:00.000Z (edge-1)',
    );
    expect(text).toContain('silences not expired yet: s-1 (edge-3, until 2026-12-03T06:30:04.000Z)');
  });

  it('the job summary has an Alerts table', () => {
    const md = renderAlerts(state())!;
    expect(md.split('\n').slice(0, 5)).toEqual([
      '### Alerts',
      '',
      '| wave | when | verdict | alerts |',
      '|---|---|---|---|',
      expect.stringMatching(/^\| `edge\/1` \| before \| \*\*fail\*\* \| 1 firing alert/) as string,
    ]);
    expect(md).toMatch(
      /EdgeDown\{instance="10\.0\.0\.1:80",severity="critical"\} since 2026-12-03T05:58:00\.000Z \(edge-1\)/,
    );
    expect(renderAlerts(createEmptyState('edge'))).toBeUndefined();
  });
});

describe('alerts in the pull request plan', () => {
  it('says none fire, which fire, or that Alertmanager did not answer', () => {
    expect(alertsVerdict({ ...check, verdict: 'pass', firing: 0, alerts: [] })).toBe(
      '✅ none firing (`severity="critical", instance="{{target.address}}"`)',
    );
    expect(alertsVerdict(check)).toBe('❌ 1 firing (`EdgeDown`): a run now would pause before its first wave');
    expect(alertsVerdict({ ...check, verdict: 'inconclusive', message: 'Alertmanager at x did not answer' })).toBe(
      '⚠️ Alertmanager at x did not answer',
    );
  });
});
