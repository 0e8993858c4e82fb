/**
 * Two and five runs of one rollout started at the same moment: exactly one
 * proceeds, the others stop before touching anything and say why, and no
 * state write of the one that proceeds is lost (its last revision is the
 * file's, every write is there). The lease of a run killed with SIGKILL is
 * taken over by exactly one of the next five.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll.js';
import { RolloutRepo } from '../helpers/rollout-repo.js';
import { agentReports, agentStats, delta, faultSpecText, killGroup, proposeText, startDetached } from './helpers.js';

let repo: RolloutRepo | undefined;
afterEach(async () => {
  await repo?.close();
  repo = undefined;
});

interface ResultFile {
  outcome: string;
  revision: number;
  phase: string;
}

async function given(): Promise<RolloutRepo> {
  const r = await RolloutRepo.create({ count: 6, version: '1.0.0', upgradeMs: 100, spec: { version: '1.0.0' } });
  proposeText(
    r,
    faultSpecText('svc', {
      version: '1.1.0',
      canary: 1,
      waves: 2,
      maxUnavailable: 1,
      stepTimeout: '5s',
      verifyTimeout: '10s',
    }),
  );
  return r;
}

async function raceRuns(r: RolloutRepo, n: number) {
  const runs = Array.from({ length: n }, (_, i) =>
    startDetached(r, 'run', r.specPath, '--result-file', `.fleetgate-result-${i}.json`),
  );
  const results = await Promise.all(runs.map((c) => c.result));
  return results.map((res, i) => {
    let file: ResultFile | undefined;
    try {
      file = JSON.parse(readFileSync(join(r.dir, `.fleetgate-result-${i}.json`), 'utf8')) as ResultFile;
    } catch {
      file = undefined;
    }
    return { ...res, file };
  });
}

describe('concurrent runs of one rollout', () => {
  for (const n of [2, 5]) {
    it(`${n} runs started together: exactly one proceeds, the others touch nothing, no state write is lost`, async () => {
      repo = await given();
      const r = repo;
      const before = await agentStats(r);
      const results = await raceRuns(r, n);

      const winners = results.filter((x) => x.code === 0);
      const losers = results.filter((x) => x.code !== 0);
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(n - 1);
      for (const l of losers) {
        expect(l.code).toBe(1);
        expect(l.stderr).toMatch(/another run of this rollout is in progress \(fleetgate .*pid \d+/);
        expect(l.stderr).toMatch(/not proceeding/);
        expect(l.file).toBeUndefined();
      }
      // The one that proceeded: its last revision is the file's, and the file holds every write.
      const state = r.state();
      expect(winners[0]!.file).toMatchObject({ outcome: 'Healthy', phase: 'Healthy', revision: state.revision });
      expect(state.phase).toBe('Healthy');
      expect(Object.values(state.targets).every((t) => t.phase === 'Succeeded' && t.version === '1.1.0')).toBe(true);
      expect(state.waves.every((w) => w.phase === 'Completed')).toBe(true);
      const messages = r.git('log', '--format=%s', '--', 'rollouts/svc.state.yaml').trim().split('\n');
      expect(messages[0]).toMatch(/^fleetgate: svc healthy at 1\.1\.0/);
      expect(messages.filter((m) => m.startsWith('fleetgate: svc started'))).toHaveLength(1);
      expect(r.git('status', '--porcelain', '--', 'rollouts')).toBe('');
      // Every target was upgraded once, by one run.
      const after = await agentStats(r);
      const reports = await agentReports(r);
      for (const t of r.fleet.targets) {
        expect(delta(after, before, t.id, '/upgrade')).toBe(1);
        expect(reports.get(t.id)).toMatchObject({ version: '1.1.0', upgrades: 1, drained: false });
      }
    });
  }

  it('a run killed with SIGKILL leaves a lease that exactly one of the next five takes over', async () => {
    repo = await given();
    const r = repo;
    const first = startDetached(r, 'run', r.specPath);
    await pollUntil(
      'condition not reached',
      20_000,
      () => Object.values(r.state().targets).some((t) => t.phase === 'Succeeded'),
      { intervalMs: 2 },
    );
    killGroup(first.pid!);
    await first.result;
    const results = await raceRuns(r, 5);
    const winners = results.filter((x) => x.code === 0);
    expect(winners).toHaveLength(1);
    for (const l of results.filter((x) => x.code !== 0)) {
      expect(l.stderr).toMatch(/another run of this rollout is in progress|could not take .*lock/);
    }
    expect(r.state().phase).toBe('Healthy');
    const reports = await agentReports(r);
    for (const t of r.fleet.targets) expect(reports.get(t.id)).toMatchObject({ version: '1.1.0', upgrades: 1 });
  });
});
