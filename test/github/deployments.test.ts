/**
 * One deployment per rollout and environment (issue 12, item 14), against the fake GitHub
 * (every request checked against GitHub's OpenAPI description): the first job creates it,
 * later jobs of the same rollout find it and add their status, a new rollout (or a
 * `fleetgate rollback`) gets its own, and each outcome maps to GitHub's deployment states.
 * And the reusable workflow records it from every job that changes the fleet, with the
 * permission to.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { deploymentState, recordDeployment, type DeploymentReport } from '../../src/github/deployments.js';
import { createEmptyState, type RolloutState } from '../../src/state/types.js';
import { FakeGitHub } from './fake-github.js';
import { ROOT } from '../workflows/workflow-files.js';

let fake: FakeGitHub | undefined;
afterEach(async () => {
  fake?.assertClean();
  await fake?.close();
  fake = undefined;
});

function state(startedAt: string, change: Partial<RolloutState> = {}): RolloutState {
  return { ...createEmptyState('edge'), phase: 'Progressing', toVersion: '1.2.0', startedAt, ...change };
}

function report(s: RolloutState, outcome: DeploymentReport['outcome'], stage = 'wave'): DeploymentReport {
  return { rollout: 'edge', environment: 'fleetgate-edge', sha: 'main', outcome, stage, state: s, runUrl: 'https://x' };
}

describe('the rollout deployment', () => {
  it('is created once per rollout and gets a status per job; a new rollout gets a new one', async () => {
    fake = await FakeGitHub.start({ files: { 'rollouts/edge.yaml': 'spec\n' } });
    const scm = fake.scm();
    const first = state('2026-12-03T07:00:00.000Z', { currentWave: 'edge/canary' });
    const a = await recordDeployment(scm, report(first, 'Progressing', 'wave'));
    expect(a).toMatchObject({ created: true, state: 'in_progress' });
    const b = await recordDeployment(scm, report({ ...first, currentWave: 'edge/1' }, 'Progressing'));
    const c = await recordDeployment(scm, report({ ...first, phase: 'Healthy' }, 'Healthy', 'analyze'));
    expect([b.id, c.id]).toEqual([a.id, a.id]);
    expect(b.created || c.created).toBe(false);
    expect(fake.deployments).toHaveLength(1);
    expect(fake.deployments[0]).toMatchObject({ environment: 'fleetgate-edge', task: 'deploy:edge' });
    expect(fake.deployments[0]!.statuses.map((s) => s.state)).toEqual(['in_progress', 'in_progress', 'success']);
    expect(fake.deployments[0]!.statuses[1]!.description).toBe('wave: Progressing at edge/1');
    expect(fake.deployments[0]!.statuses[2]!.description).toBe('analyze: Healthy at edge/canary');

    const next = await recordDeployment(scm, report(state('2026-12-04T07:00:00.000Z'), 'RolledBack'));
    expect(next.created).toBe(true);
    expect(fake.deployments).toHaveLength(2);
    expect(fake.deployments[1]!.statuses.map((s) => s.state)).toEqual(['inactive']);
  });

  it('maps outcomes: a rollout rolled back goes inactive, a `fleetgate rollback` that restored the fleet succeeded', () => {
    const s = state('t');
    expect(deploymentState('Paused', s)).toBe('in_progress');
    expect(deploymentState('Degraded', s)).toBe('failure');
    expect(deploymentState('Error', s)).toBe('failure');
    expect(deploymentState('RolledBack', s)).toBe('inactive');
    expect(deploymentState('RolledBack', { ...s, isRollback: true })).toBe('success');
  });
});

describe('the reusable workflow records it', () => {
  type Step = { uses?: string; with?: Record<string, unknown> };
  type Job = { permissions?: Record<string, string>; steps?: Step[]; needs?: string | string[] };
  const doc = parse(readFileSync(join(ROOT, '.github/workflows/rollout.yml'), 'utf8')) as {
    jobs: Record<string, Job>;
  };
  const changing = /^fleetgate\/fleetgate\/actions\/(wave|analyze)@/;

  it('from every job that changes the fleet or its verdict, with deployments: write', () => {
    const jobs = Object.entries(doc.jobs).filter(([, j]) => j.steps?.some((s) => changing.test(s.uses ?? '')));
    expect(jobs.map(([name]) => name).sort()).toEqual([
      'analyze-canary',
      'canary',
      'finalize',
      'promote',
      'shard-legs',
      'shard-open',
      'shard-verdict',
      'waves',
    ]);
    for (const [name, job] of jobs) {
      expect(job.permissions?.deployments, name).toBe('write');
      for (const step of job.steps!.filter((s) => changing.test(s.uses ?? '')))
        expect(String(step.with?.['deployment-environment']), name).toContain('needs.plan.outputs.rollout');
    }
  });
});
