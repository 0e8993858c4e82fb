/**
 * Big waves across runners in the reusable workflow (issue 12, item 18): a wave whose tier sets
 * `strategy.shards: N` leaves the sequential matrix and becomes one opening job, N legs side by
 * side (the matrix GitHub builds from the plan job's `shard-legs`), and one verdict job after
 * every leg, before finalize. The matrix `include:` is evaluated with GitHub's expression engine.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { data, Evaluator, Lexer, Parser } from '@actions/expressions';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { planWorkflowRun } from '../../src/github/workflow-plan.js';
import { planRollout } from '../../src/plan/plan.js';
import { fleet, size, spec as planSpec, tier } from '../plan/helpers.js';
import { ROOT } from './workflow-files.js';

type Step = { name?: string; uses?: string; with?: Record<string, unknown>; if?: string };
type Job = {
  needs?: string[];
  if?: string;
  strategy?: { 'max-parallel'?: number; 'fail-fast'?: boolean; matrix?: { include?: string } };
  steps?: Step[];
  outputs?: Record<string, string>;
};
const workflow = parse(readFileSync(join(ROOT, '.github/workflows/rollout.yml'), 'utf8')) as {
  jobs: Record<string, Job>;
};

function evaluate(value: string, contexts: Record<string, unknown>): unknown {
  const m = /^\$\{\{([\s\S]*)\}\}$/.exec(value.trim());
  if (!m) return value;
  const expr = new Parser(new Lexer(m[1]!).lex().tokens, Object.keys(contexts), []).parse();
  const ctx = JSON.parse(JSON.stringify(contexts), data.reviver) as data.Dictionary;
  return JSON.parse(JSON.stringify(new Evaluator(expr, ctx).evaluate(), data.replacer)) as unknown;
}

/** web: 40 targets in waves of 10 (canary 1); big: 3,000 in waves of 1,000, split over 4 legs. */
function bigRollout() {
  const targets = [...fleet('web', 40, { role: 'web' }), ...fleet('big', 3000, { role: 'big' })];
  const spec = planSpec(
    [
      tier('web', { role: 'web' }, { canary: size(1), waves: size(20), observeMs: 60_000 }),
      {
        ...tier(
          'big',
          { role: 'big' },
          { canary: size(0), waves: size(1000), maxUnavailable: size(40), observeMs: 60_000 },
        ),
        runsOn: ['self-hosted', 'dc-1'],
      },
    ].map((t) => (t.name === 'big' ? { ...t, strategy: { ...t.strategy, shards: 4 } } : t)),
    { name: 'fleet', version: '2.0.0' },
  );
  return { spec, plan: planRollout(spec, targets) };
}

describe('a big wave in the workflow plan', () => {
  it('ends the matrix before the first sharded wave and plans its legs (one run per big wave)', () => {
    const { spec, plan } = bigRollout();
    const r = planWorkflowRun(spec, plan, undefined, {});
    expect(r.waves.map((w) => w.wave)).toEqual(['web/1', 'web/2']);
    expect(r.sharded).toEqual({
      wave: 'big/1',
      shards: 4,
      wait: false,
      legs: ['1/4', '2/4', '3/4', '4/4'].map((shard) => ({ shard, 'runs-on': ['self-hosted', 'dc-1'] })),
      'runs-on': ['self-hosted', 'dc-1'],
    });
    expect(r.moreWaves).toBe(true);
    expect(r.finalizeRunsOn).toEqual(['self-hosted', 'dc-1']);
  });
});

describe('the reusable workflow runs a big wave as open → legs → verdict', () => {
  const jobs = workflow.jobs;

  it('opens the wave once, after the matrix of ordinary waves, with open-shards', () => {
    const open = jobs['shard-open']!;
    expect(open.needs).toEqual(expect.arrayContaining(['plan', 'waves']));
    expect(open.if).toContain("needs.plan.outputs.sharded-wave != ''");
    expect(open.if).toContain("needs.waves.result != 'failure'");
    const step = open.steps!.find((s) => s.uses?.includes('actions/wave'))!;
    expect(step.with).toMatchObject({ 'open-shards': '${{ needs.plan.outputs.shard-count }}' });
    expect(open.outputs?.reason).toBe('${{ steps.open.outputs.reason }}');
  });

  it('holds one leg per shard in its matrix, side by side, each with its shard', () => {
    const legs = jobs['shard-legs']!;
    const { plan, spec } = bigRollout();
    const outputs = { 'shard-legs': JSON.stringify(planWorkflowRun(spec, plan, undefined, {}).sharded!.legs) };
    const include = evaluate(legs.strategy!.matrix!.include!, { needs: { plan: { outputs } } });
    expect(include).toEqual(
      ['1/4', '2/4', '3/4', '4/4'].map((shard) => ({ shard, 'runs-on': ['self-hosted', 'dc-1'] })),
    );
    expect(legs.strategy!['max-parallel']).toBeUndefined();
    expect(legs.strategy!['fail-fast']).toBe(false);
    expect(legs.needs).toEqual(['plan', 'shard-open']);
    expect(legs.if).toContain("needs.shard-open.outputs.reason == 'WaveSharded'");
    const step = legs.steps!.find((s) => s.uses?.includes('actions/wave'))!;
    expect(step.with).toMatchObject({ shard: '${{ matrix.shard }}' });
    expect(step.with).not.toHaveProperty('open-shards');
  });

  it('takes the verdict after every leg (also a failed one) with neither shard nor open-shards, before finalize', () => {
    const verdict = jobs['shard-verdict']!;
    expect(verdict.needs).toEqual(expect.arrayContaining(['shard-open', 'shard-legs']));
    // Not `success()`: a failed leg still gets its verdict (the wave pauses or rolls back there).
    expect(verdict.if).toContain('!cancelled()');
    expect(verdict.if).not.toContain("shard-legs.result == 'success'");
    const step = verdict.steps!.find((s) => s.uses?.includes('actions/wave'))!;
    expect(step.with).not.toHaveProperty('shard');
    expect(step.with).not.toHaveProperty('open-shards');
    expect(jobs.finalize!.needs).toEqual(expect.arrayContaining(['shard-open', 'shard-legs', 'shard-verdict']));
  });

  it('exposes the plan outputs the big-wave jobs read', () => {
    const outputs = jobs.plan!.outputs!;
    for (const key of ['sharded-wave', 'shard-legs', 'shard-count', 'shard-wait', 'shard-runs-on'])
      expect(outputs[key]).toBe(`\${{ steps.plan.outputs.${key} }}`);
    const action = parse(readFileSync(join(ROOT, 'actions/plan/action.yml'), 'utf8')) as {
      outputs: Record<string, { value: string }>;
    };
    for (const key of ['sharded-wave', 'shard-legs', 'shard-count', 'shard-wait', 'shard-runs-on'])
      expect(action.outputs[key]?.value).toBe(`\${{ steps.plan.outputs.${key} }}`);
  });
});
