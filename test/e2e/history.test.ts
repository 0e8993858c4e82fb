/**
 * Learning from history through the bundled CLI on real agents (issue 13, part 5): after real
 * rollouts, `plan` estimates from the median of the spec's own past rollouts (and names them)
 * instead of the spec's estimate, suggests smaller waves after two rollouts that failed in a
 * wave (without applying it), and `history` lists every rollout with its durations, outcome,
 * approvals and decisions, as text and as JSON.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RolloutRepo, type SpecOptions } from '../helpers/rollout-repo.js';
import type { HistoryRow } from '../../src/cli/history-command.js';
import { formatDurationMs } from '../../src/plan/describe.js';

let repo: RolloutRepo | undefined;
afterEach(async () => {
  await repo?.close();
  repo = undefined;
});

/** 7 targets, no canary, waves of 3 one by one ahead of a gate on the first wave; 300 ms observation. */
const shape = (version: string): SpecOptions => ({
  version,
  canary: 0,
  waves: 3,
  maxUnavailable: 2,
  observe: '300ms',
  verifyTimeout: '600ms',
  extra: 'gates:\n  canary: lab-first-wave\n',
});

interface PlanJson {
  estimatedDurationMs: number;
  waves: { id: string; estimatedMs: number }[];
  estimate: {
    source: string;
    specDurationMs?: number;
    rollouts?: { to: string; startedAt: string }[];
    waves?: { id: string; source: string; samples: number }[];
  };
  waveSizeSuggestions: { tier: string; current: number; suggested: number; message: string }[];
}

describe('fleetgate plan and history learn from past rollouts', () => {
  it('estimates from the median of past rollouts, suggests smaller waves after failures, and lists them', async () => {
    repo = await RolloutRepo.create({ count: 7, version: '1.0.0', spec: shape('1.1.0') });

    // Given no history: the spec's estimate, and the plan says so.
    const before = await repo.cli('plan', repo.specPath);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toMatch(/Estimate: .*, from the spec .*no completed rollout of this spec recorded/);

    // When: two real rollouts complete, the gate approved on the command line.
    expect((await repo.cli('run', repo.specPath, '--approve', 'lab-first-wave')).code).toBe(0);
    repo.propose(shape('1.2.0'));
    expect((await repo.cli('run', repo.specPath, '--approve', 'lab-first-wave')).code).toBe(0);

    // Then: plan estimates from them, names them, and the number is the history's.
    const state = repo.state();
    const [second, first] = state.history;
    expect(second!.waves!.map((w) => [w.id, w.size, w.phase])).toEqual([
      ['all/1', 3, 'Completed'],
      ['all/2', 3, 'Completed'],
      ['all/3', 1, 'Completed'],
    ]);
    expect(second!.waves![0]!.steps!.upgrade!.count).toBe(3);
    const text = await repo.cli('plan', repo.specPath);
    expect(text.code, text.stderr).toBe(0);
    const iso = (s: string | undefined) => s!.replace(/\.\d+Z$/, 'Z');
    expect(text.stdout).toContain(
      `from the median of 2 past rollouts (1.1.0 → 1.2.0 on ${iso(second!.startedAt)}, 1.0.0 → 1.1.0 on ${iso(first!.startedAt)}):`,
    );
    expect(text.stdout).toMatch(/3 of 3 waves from their past durations; the spec's own estimate is 5m 1s/);
    const json = JSON.parse((await repo.cli('plan', repo.specPath, '--json')).stdout) as PlanJson;
    expect(json.estimate.source).toBe('history');
    expect(json.estimate.rollouts!.map((r) => r.to)).toEqual(['1.2.0', '1.1.0']);
    expect(json.estimate.waves!.map((w) => [w.id, w.source, w.samples])).toEqual([
      ['all/1', 'history', 2],
      ['all/2', 'history', 2],
      ['all/3', 'history', 2],
    ]);
    // Real waves of this fleet take about a second; the spec's default assumes a minute per target.
    expect(json.estimatedDurationMs).toBeLessThan(60_000);
    expect(json.estimatedDurationMs).toBeGreaterThanOrEqual(3 * 300);
    expect(json.estimate.specDurationMs).toBe((2 + 2 + 1) * 60_000 + 3 * 300); // ceil(3/2) + ceil(3/2) + 1 minutes
    const median = (a: number, b: number) => Math.round((a + b) / 2);
    expect(json.waves[0]!.estimatedMs).toBe(median(first!.waves![0]!.durationMs!, second!.waves![0]!.durationMs!));
    // The headline's duration is the history's, not the spec's.
    expect(text.stdout).toContain(`7 targets; estimated duration ${formatDurationMs(json.estimatedDurationMs)}\n`);
    expect(json.waveSizeSuggestions).toEqual([]);

    // When: two broken versions fail in the first wave and are rolled back by a decision.
    for (const broken of ['1.3.0-broken', '1.4.0-broken']) {
      repo.propose(shape(broken));
      const run = await repo.cli('run', repo.specPath, '--approve', 'lab-first-wave');
      expect(run.code, run.stderr).toBe(3);
      const back = await repo.cli('resume', repo.specPath, '--decision', 'rollback', '--reason', `${broken} is bad`);
      expect(back.code, back.stderr).toBe(4);
    }

    // Then: plan suggests waves of 2 (half of 3, rounded up), explains it, and does not apply it.
    repo.propose(shape('1.5.0'));
    const after = await repo.cli('plan', repo.specPath);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toContain('Wave size from history (a suggestion, not applied):');
    expect(after.stdout).toMatch(
      /2 of the last 4 rollouts stopped in a wave of tier all \(all\/1 of 1\.4\.0-broken on \d{4}-\d\d-\d\d: \w+; all\/1 of 1\.3\.0-broken on \d{4}-\d\d-\d\d: \w+\); the smallest had 3 targets → suggest waves of 2 \(tiers\[0\]\.strategy\.waves: 2\); not applied: this plan keeps waves of 3/,
    );
    expect(after.stdout).toMatch(/all\/1 +wave +3 targets/);
    // The estimate still comes from the two rollouts that completed.
    expect(after.stdout).toContain('from the median of 2 past rollouts (1.1.0 → 1.2.0');
    const afterJson = JSON.parse((await repo.cli('plan', repo.specPath, '--json')).stdout) as PlanJson;
    expect(afterJson.waveSizeSuggestions).toMatchObject([{ tier: 'all', current: 3, suggested: 2 }]);

    // And: history lists the four rollouts, newest first, with durations, outcomes, approvals and decisions.
    const hist = await repo.cli('history', repo.specPath);
    expect(hist.code, hist.stderr).toBe(0);
    const lines = hist.stdout.split('\n');
    expect(lines[0]).toBe('svc: 4 past rollouts, newest first');
    const heads = lines.filter((l) => l.startsWith('#'));
    expect(heads.map((l) => l.split('  ').slice(0, 2).join('  '))).toEqual([
      '#1 1.2.0 → 1.4.0-broken  RolledBack (RolledBack)',
      '#2 1.2.0 → 1.3.0-broken  RolledBack (RolledBack)',
      '#3 1.1.0 → 1.2.0  Healthy (RolloutCompleted)',
      '#4 1.0.0 → 1.1.0  Healthy (RolloutCompleted)',
    ]);
    // Wall time for each; the waves' own time for those whose waves completed (a failed wave has no end).
    for (const h of heads.slice(2)) expect(h).toMatch(/started \d{4}-\d\d-\d\dT[\d:.]+Z {2}wall \d+m?s, waves \d+m?s$/);
    for (const h of heads.slice(0, 2)) expect(h).toMatch(/started \d{4}-\d\d-\d\dT[\d:.]+Z {2}wall \d+m?s$/);
    expect(hist.stdout).toMatch(/ {5}all\/1, 3 targets, \d+(ms|s), Completed, per target median \d+ms, max \d+ms/);
    expect(hist.stdout).toMatch(
      / {5}all\/1, 3 targets, not finished, RolledBack, 2 failed, paused: CircuitBreakerTripped, decision rollback/,
    );
    expect(hist.stdout).toMatch(/ {5}gate lab-first-wave approved by .+ \(--approve lab-first-wave\) at /);
    expect(hist.stdout).toMatch(/ {5}decision rollback by .+ at .+ in all\/1: 1\.4\.0-broken is bad/);

    const histJson = JSON.parse((await repo.cli('history', repo.specPath, '--json')).stdout) as {
      rollout: string;
      rollouts: HistoryRow[];
    };
    expect(histJson.rollout).toBe('svc');
    expect(histJson.rollouts.map((r) => [r.number, r.to, r.phase])).toEqual([
      [1, '1.4.0-broken', 'RolledBack'],
      [2, '1.3.0-broken', 'RolledBack'],
      [3, '1.2.0', 'Healthy'],
      [4, '1.1.0', 'Healthy'],
    ]);
    for (const r of histJson.rollouts) {
      expect(r.wallMs).toBeGreaterThan(0);
      if (r.phase === 'Healthy') expect(r.wavesMs).toBeGreaterThan(3 * 300);
      expect(r.approvals!.map((a) => a.gate)).toEqual(['lab-first-wave']);
    }
    expect(histJson.rollouts[0]!.decisions).toMatchObject([
      { decision: 'rollback', reason: '1.4.0-broken is bad', wave: 'all/1' },
    ]);
    expect(histJson.rollouts[0]!.waves![0]).toMatchObject({ id: 'all/1', size: 3, failed: 2, decision: 'rollback' });
  });
});
