/**
 * The error-budget gate through real rollouts: the bundled CLI, real agent processes with
 * synthetic traffic (0.5% 5xx at baseline), and a real Prometheus (Debian package) scraping them.
 * Given an objective of 99% (a good fleet burns its budget at about 0.5×), when a version with
 * forty times the errors reaches the canary, then the rollout pauses `ErrorBudgetBurn` at the
 * end of the canary's window with the budget and the burn rates in the state, `status` and its
 * message; a good version goes through every check.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  locatePrometheus,
  startPrometheus,
  waitForSamples,
  type TestPrometheus,
} from '../analysis/helpers/prometheus.js';
import { RolloutRepo } from '../helpers/rollout-repo.js';

const binary = locatePrometheus();

let repo: RolloutRepo | undefined;
let prom: TestPrometheus | undefined;
afterEach(async () => {
  await repo?.close();
  repo = undefined;
  await prom?.stop();
  prom = undefined;
});

/**
 * The spec's analysis (a lenient metric: only the gate decides here) and its slo: 99% over 10
 * minutes, one fast/slow pair of 30 s and 5 s at 4× (windows a test can wait for; the long one
 * is shortened to the rollout's age, see docs/slo.md).
 */
function extra(url: string): string {
  return `analysis:
  provider: { prometheus: { address: "${url}", timeout: 5s, retries: 1, backoff: 200ms } }
  metrics:
    - name: error-rate
      query: sum(rate(http_requests_total{code=~"5..",instance=~"{{targets.regex}}"}[{{window}}])) / sum(rate(http_requests_total{instance=~"{{targets.regex}}"}[{{window}}]))
      threshold: '< 0.9'
slo:
  objective: 99%
  window: 10m
  bad: 'sum(increase(http_requests_total{code=~"5.."}[{{window}}]))'
  total: 'sum(increase(http_requests_total[{{window}}]))'
  burnRates:
    - { long: 30s, short: 5s, rate: 4 }
`;
}

async function given(version: string): Promise<RolloutRepo> {
  const r = await RolloutRepo.create({
    count: 4,
    version: '1.0.0',
    spec: { version: '1.0.0' },
    fleet: { trafficRps: 300, baseErrorRate: 0.005, seed: 11 },
  });
  prom = await startPrometheus(
    binary!,
    r.fleet.targets.map((t) => t.address),
  );
  // The 5 s window needs a few scrapes of every agent before the first check.
  await waitForSamples(
    prom,
    r.fleet.targets.map((t) => t.address),
    7,
  );
  r.propose({ version, canary: 2, waves: 2, maxUnavailable: 2, observe: '5s', extra: extra(prom.url) });
  return r;
}

describe.skipIf(binary === undefined)('the error-budget gate (real Prometheus)', () => {
  it('pauses ErrorBudgetBurn at the end of the canary’s window when the new version burns the budget', async () => {
    repo = await given('1.1.0-errors40');
    const r = await repo.cli('run', repo.specPath);
    expect(r.code, r.stderr).toBe(3);
    const s = repo.state();
    expect(s.phase).toBe('Paused');
    expect(s.condition?.reason).toBe('ErrorBudgetBurn');
    expect(s.condition?.message).toMatch(
      /error budget at the end of all\/canary's window \(objective 99% over 10m\): .*burn rate/,
    );
    const canary = s.waves.find((w) => w.id === 'all/canary')!;
    // Before the canary the fleet was inside its budget; at the end of its window it was not.
    expect(canary.slo?.before?.verdict).toBe('pass');
    const after = canary.slo!.after!;
    expect(after.verdict).toBe('fail');
    expect(after.burnRates[0]!.verdict).toBe('fail');
    expect(after.burnRates[0]!.short.burnRate).toBeGreaterThan(4);
    expect(after.budget.consumed).toBeGreaterThan(0);
    expect(after.budget.measure?.bad).toBeGreaterThan(0);
    expect(after.queries.bad).toContain('{{window}}');
    // The next wave never started.
    expect(s.waves.find((w) => w.id === 'all/1')?.phase ?? 'Pending').toBe('Pending');
    const status = await repo.cli('status', repo.specPath);
    expect(status.stdout).toMatch(/error budget after all\/canary: fail/);
    expect(status.stdout).toMatch(/budget consumed [\d.]+% \(limit 50%\)/);
    expect(status.stdout).toMatch(/burn 30s\/5s ×4 .*: fail/);
  });

  it('lets a good version through every check', async () => {
    repo = await given('1.1.0');
    const r = await repo.cli('run', repo.specPath);
    expect(r.code, r.stderr).toBe(0);
    const s = repo.state();
    expect(s.phase).toBe('Healthy');
    for (const w of s.waves) {
      expect(w.slo?.before?.verdict, w.id).toBe('pass');
      expect(w.slo?.after?.verdict, w.id).toBe('pass');
    }
    const last = s.waves.at(-1)!.slo!.after!;
    expect(last.budget.consumed).toBeLessThan(0.5);
    expect(last.burnRates[0]!.short.burnRate).toBeLessThan(4);
  });
});
