/** The spec's `slo` section: normalized units and defaults, and every mistake at its line and column. */
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

const ANALYSIS = `analysis:
  provider: {prometheus: {address: "http://127.0.0.1:9090"}}
  metrics:
    - name: error-rate
      query: sum(rate(errors[{{window}}])) / sum(rate(requests[{{window}}]))
      threshold: "< 0.05"
`;

const BAD = `sum(increase(http_requests_total{code=~"5.."}[{{window}}]))`;
const TOTAL = `sum(increase(http_requests_total[{{window}}]))`;

function slo(body: string): string {
  return `slo:
  bad: '${BAD}'
  total: '${TOTAL}'
${body}`;
}

function issues(text: string): string[] {
  const r = parseSpec(HEAD + text, 'edge.yaml');
  return r.ok ? r.warnings.map(formatIssue) : r.errors.map(formatIssue);
}

describe('spec: slo', () => {
  it('keeps the objective and the budget as ratios, windows in ms, and fills in seed 004 and the workbook pairs', () => {
    const r = parseSpec(`${HEAD}${ANALYSIS}${slo('  objective: 99.9%\n  window: 30d\n')}`, 'edge.yaml');
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    expect(r.spec.slo).toEqual({
      objective: 0.999,
      windowMs: 30 * 86_400_000,
      bad: BAD,
      total: TOTAL,
      maxBudgetConsumed: 0.5,
      burnRates: [
        { longMs: 3_600_000, shortMs: 300_000, rate: 14.4 },
        { longMs: 6 * 3_600_000, shortMs: 1_800_000, rate: 6 },
      ],
    });
  });

  it('takes a ratio objective, a budget share and its own pairs as written ([] turns the burn rates off)', () => {
    const r = parseSpec(
      `${HEAD}${ANALYSIS}${slo('  objective: 0.995\n  window: 7d\n  maxBudgetConsumed: 25%\n  burnRates:\n    - {long: 30m, short: 1m, rate: 10}\n')}`,
      'edge.yaml',
    );
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    expect(r.spec.slo).toMatchObject({
      objective: 0.995,
      maxBudgetConsumed: 0.25,
      burnRates: [{ longMs: 1_800_000, shortMs: 60_000, rate: 10 }],
    });
    const off = parseSpec(`${HEAD}${ANALYSIS}${slo('  objective: 99%\n  window: 1h\n  burnRates: []\n')}`, 'edge.yaml');
    expect(off.ok && off.spec.slo?.burnRates).toEqual([]);
  });

  it('refuses an slo without a prometheus provider, at the slo key', () => {
    expect(issues(slo('  objective: 99.9%\n  window: 30d\n'))).toEqual([
      expect.stringMatching(/^edge\.yaml:12:1 slo: queries Prometheus, but the spec has no analysis/),
    ]);
    const scrape = ANALYSIS.replace('{prometheus: {address: "http://127.0.0.1:9090"}}', '{scrape: {}}');
    expect(issues(scrape + slo('  objective: 99.9%\n  window: 30d\n'))).toEqual([
      expect.stringMatching(/^edge\.yaml:18:1 slo: queries Prometheus, but analysis\.provider is scrape/),
    ]);
  });

  it('reports each mistake at its line and column', () => {
    const text = `${ANALYSIS}slo:
  objective: 99.9
  window: soon
  bad: 'sum(increase(errors[5m]))'
  total: 'sum(increase(requests[{{targets}}]))'
  maxBudgetConsumed: 150%
  burnRates:
    - {long: 5m, short: 1h, rate: 0}
  extra: true
`;
    const found = issues(text);
    const at = (re: RegExp) => found.find((m) => re.test(m));
    expect(at(/slo\.objective/)).toMatch(/^edge\.yaml:19:14 slo\.objective: must be an objective/);
    expect(at(/slo\.window/)).toMatch(/^edge\.yaml:20:11 slo\.window: must be a duration above zero/);
    expect(at(/slo\.total/)).toMatch(/^edge\.yaml:22:10 slo\.total: may use only the placeholder \{\{window\}\}/);
    expect(at(/slo\.maxBudgetConsumed/)).toMatch(
      /^edge\.yaml:23:22 slo\.maxBudgetConsumed: must be a share of the budget/,
    );
    expect(at(/rate/)).toMatch(/^edge\.yaml:25:35 slo\.burnRates\[0\]\.rate: must be a burn rate/);
    expect(at(/extra/)).toMatch(/^edge\.yaml:26:3 slo\.extra: unknown slo setting/);
  });

  it('asks for {{window}} in both queries, short below long, and warns of a long window past the objective’s', () => {
    const text = `${ANALYSIS}slo:
  objective: 99.9%
  window: 2h
  bad: 'sum(increase(errors[5m]))'
  total: '${TOTAL}'
  burnRates:
    - {long: 5m, short: 1h, rate: 14.4}
    - {long: 3h, short: 5m, rate: 6}
`;
    const found = issues(text);
    expect(found).toEqual([
      expect.stringMatching(/^edge\.yaml:21:8 slo\.bad: does not use \{\{window\}\}/),
      expect.stringMatching(/^edge\.yaml:24:25 slo\.burnRates\[0\]\.short: must be shorter than long \(5m\)/),
    ]);
    const warned = parseSpec(
      HEAD + text.replace("'sum(increase(errors[5m]))'", `'${BAD}'`).replace('short: 1h', 'short: 1m'),
      'edge.yaml',
    );
    expect(warned.ok && warned.warnings.map(formatIssue)).toEqual([
      expect.stringMatching(
        /^edge\.yaml:25:14 slo\.burnRates\[1\]\.long: warning: is longer than the objective's window \(2h\)/,
      ),
    ]);
  });
});
