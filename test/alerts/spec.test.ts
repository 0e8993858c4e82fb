/** The spec's `alerts` section: defaults, and every mistake reported at its line and column. */
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

function errors(alerts: string): string[] {
  const r = parseSpec(HEAD + alerts, 'edge.yaml');
  return r.ok ? [] : r.errors.map(formatIssue);
}

describe('spec: alerts', () => {
  it('applies the defaults: pause, 10 s requests with 2 retries, silences of 30 minutes naming the instance', () => {
    const r = parseSpec(
      `${HEAD}alerts:
  alertmanager: {url: "\${AM_URL}", bearerTokenEnv: AM_TOKEN}
  select: 'severity="critical", instance="{{target.address}}"'
  silence: true
`,
      'edge.yaml',
    );
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    expect(r.spec.alerts).toEqual({
      alertmanager: {
        url: '${AM_URL}',
        bearerTokenEnv: 'AM_TOKEN',
        headers: {},
        timeoutMs: 10_000,
        retries: 2,
        backoffMs: 500,
      },
      select: 'severity="critical", instance="{{target.address}}"',
      action: 'pause',
      silence: { durationMs: 30 * 60_000, matchers: 'instance="{{target.address}}"' },
    });
  });

  it('takes fail and silence settings as written', () => {
    const r = parseSpec(
      `${HEAD}alerts:
  alertmanager: {url: "http://127.0.0.1:9093", timeout: 2s}
  select: '{service="edge"}'
  action: fail
  silence: {duration: 10m, comment: "CHG-1234", matchers: 'host="{{target.host}}"'}
`,
      'edge.yaml',
    );
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    expect(r.spec.alerts?.action).toBe('fail');
    expect(r.spec.alerts?.alertmanager.timeoutMs).toBe(2000);
    expect(r.spec.alerts?.silence).toEqual({
      durationMs: 600_000,
      comment: 'CHG-1234',
      matchers: 'host="{{target.host}}"',
    });
  });

  it('reports a typo, an unknown placeholder and a bad action at their lines and columns', () => {
    expect(
      errors(`alerts:
  alertmanager: {url: "http://127.0.0.1:9093", timeuot: 2s}
  select: 'severity="critical"'
  action: rollback
  silence: {duration: 10m, matchers: 'instance="{{target.adress}}"'}
`),
    ).toEqual([
      expect.stringMatching(
        /^edge\.yaml:13:48 alerts\.alertmanager\.timeuot: unknown alertmanager setting; did you mean "timeout"/,
      ),
      expect.stringMatching(/^edge\.yaml:15:11 alerts\.action: must be fail or pause/),
      expect.stringMatching(
        /^edge\.yaml:16:38 alerts\.silence\.matchers: unknown template placeholder \{\{target\.adress\}\}/,
      ),
    ] as string[]);
  });

  it('reports a selector that is not Alertmanager matcher syntax at its line and column, naming the character', () => {
    expect(
      errors(`alerts:
  alertmanager: {url: "http://127.0.0.1:9093"}
  select: 'severity="critical", service'
  silence: {matchers: 'instance=="x"'}
`),
    ).toEqual([
      'edge.yaml:14:11 alerts.select: "service" is not a matcher: it needs an operator (at character 22) (expected matchers like severity="critical", service=~"edge|core" (operators =, !=, =~, !~), got "severity=\\"critical\\", service")',
      expect.stringMatching(
        /^edge\.yaml:15:23 alerts\.silence\.matchers: instance has an operator Alertmanager does not know: ==/,
      ),
    ] as string[]);
  });

  it('refuses a label placeholder that a target of the inline inventory lacks', () => {
    const inline = HEAD.replace(
      'inventory:\n  file: inventory.yaml',
      'inventory:\n  targets:\n    - { id: a, address: "10.0.0.1:80", labels: { zone: x } }\n    - { id: b, address: "10.0.0.2:80" }',
    );
    const r = parseSpec(
      `${inline}alerts:\n  alertmanager: {url: "http://127.0.0.1:9093"}\n  select: 'zone="{{target.labels.zone}}"'\n`,
      'edge.yaml',
    );
    expect(r.ok ? [] : r.errors.map(formatIssue)).toEqual([
      expect.stringMatching(
        /^edge\.yaml:\d+:11 alerts\.select: uses \{\{target\.labels\.zone\}\}, but 1 target\(s\) have no label "zone" \(b\)/,
      ),
    ] as string[]);
  });

  it('needs the Alertmanager URL and a selector', () => {
    expect(errors('alerts:\n  silence: true\n')).toEqual([
      expect.stringMatching(/^edge\.yaml:12:1 alerts\.alertmanager: is required/),
      expect.stringMatching(/^edge\.yaml:12:1 alerts\.select: is required/),
    ] as string[]);
  });
});
