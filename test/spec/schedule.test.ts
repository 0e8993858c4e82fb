/** The spec's `schedule` section: normalized form, and every mistake at its line and column. */
import { describe, expect, it } from 'vitest';
import { formatIssue } from '../../src/spec/issue.js';
import { parseSpec } from '../../src/spec/parse.js';

const HEAD = `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: edge
component: agent
version: 1.0.0
inventory:
  file: inventory.yaml
steps:
  version: {run: [agent, --version]}
  upgrade: {run: [agent-update, "{{version}}"]}
  verify: {http: {url: "http://{{target.address}}/healthz"}}
`;

function issues(text: string): string[] {
  const r = parseSpec(HEAD + text, 'edge.yaml');
  return r.ok ? r.warnings.map(formatIssue) : r.errors.map(formatIssue);
}

describe('spec schedule', () => {
  it('normalizes days to ISO weekdays, hours to minutes and freezes to instants in their zone', () => {
    const r = parseSpec(
      `${HEAD}schedule:
  timeZone: Europe/Berlin
  windows:
    - {days: [mon, fri], hours: "22:00-06:00"}
    - {hours: "09:00-17:00", timeZone: UTC}
  freezes:
    - {from: 2026-12-21, until: 2027-01-01, reason: end-of-year freeze}
`,
      'edge.yaml',
    );
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    expect(r.spec.schedule).toEqual({
      timeZone: 'Europe/Berlin',
      windows: [
        { days: [1, 5], startMinute: 22 * 60, endMinute: 6 * 60, timeZone: 'Europe/Berlin' },
        { days: [1, 2, 3, 4, 5, 6, 7], startMinute: 9 * 60, endMinute: 17 * 60, timeZone: 'UTC' },
      ],
      freezes: [
        {
          fromMs: Date.parse('2026-12-20T23:00:00Z'),
          untilMs: Date.parse('2027-01-01T23:00:00Z'),
          reason: 'end-of-year freeze',
          from: '2026-12-21',
          until: '2027-01-01',
          timeZone: 'Europe/Berlin',
        },
      ],
    });
  });

  it('reports each mistake of form at its line and column', () => {
    const out = issues(`schedule:
  timeZone: Europe/Berlin
  windows:
    - {days: [monday], hours: "9-17"}
    - {hours: "10:00-10:00", when: always}
  freezes:
    - {from: 2026-12-21, until: 2026-12-01, reason: x}
    - {from: 2026-02-30, until: 2026-03-01}
`);
    expect(out).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^edge\.yaml:15:15 schedule\.windows\[0\]\.days\[0\]: must be a day/),
        expect.stringMatching(/^edge\.yaml:15:31 schedule\.windows\[0\]\.hours: must be a range of hours/),
        expect.stringMatching(/^edge\.yaml:16:30 schedule\.windows\[1\]\.when: unknown window setting/),
        expect.stringMatching(/^edge\.yaml:19:7 schedule\.freezes\[1\]\.reason: is required/),
      ]),
    );
  });

  it('refuses an unknown time zone, a window that opens and closes at once, and a freeze that ends before it begins', () => {
    const out = issues(`schedule:
  windows:
    - {hours: "10:00-10:00", timeZone: Mars/Olympus}
  freezes:
    - {from: 2026-12-21, until: 2026-12-20T12:00, reason: x}
    - {from: 2026-02-30, until: 2026-03-01, reason: y}
`);
    expect(out).toEqual([
      expect.stringMatching(/^edge\.yaml:14:15 schedule\.windows\[0\]\.hours: opens and closes at the same time/),
      expect.stringMatching(/^edge\.yaml:14:40 schedule\.windows\[0\]\.timeZone: is not a time zone luxon knows/),
      expect.stringMatching(/^edge\.yaml:16:33 schedule\.freezes\[0\]\.until: must be after from \(2026-12-21\)/),
      expect.stringMatching(/^edge\.yaml:17:14 schedule\.freezes\[1\]\.from: is not a date that exists/),
    ]);
  });
});
