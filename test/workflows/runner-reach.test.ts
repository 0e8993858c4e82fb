/**
 * Runner reach (issue 12, item 11): no workflow that touches the fleet hard-codes a runner.
 * Every job of the reusable workflow and of the example workflows takes its runner from an
 * input or a repository variable, and a tier's own runners (`tiers[].runsOn`, written by the
 * plan job per wave and per job) win over the workflow's for the jobs that touch that tier.
 * The `runs-on:` expressions are evaluated with GitHub's own expression engine
 * (`@actions/expressions`, which `@actions/workflow-parser` uses), so what a runner would be
 * asked for is checked, not only the text.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { data, Evaluator, Lexer, Parser } from '@actions/expressions';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from './workflow-files.js';

type Job = { 'runs-on'?: unknown; uses?: string; with?: Record<string, unknown>; steps?: { uses?: string }[] };
type Workflow = { jobs: Record<string, Job>; on?: { workflow_call?: { inputs?: Record<string, unknown> } } };

const read = (path: string) => parse(readFileSync(join(ROOT, path), 'utf8')) as Workflow;
const reusable = read('.github/workflows/rollout.yml');
const EXAMPLES = ['fleetgate-decide.yml', 'fleetgate-pr.yml', 'fleetgate-rollback.yml', 'fleetgate-rollout.yml'];

/** Evaluates `${{ … }}` (the whole value) with GitHub's expression engine over `contexts`. */
function evaluate(value: unknown, contexts: Record<string, unknown>): unknown {
  if (typeof value !== 'string') return value;
  const m = /^\$\{\{([\s\S]*)\}\}$/.exec(value.trim());
  if (!m) return value;
  const lexed = new Lexer(m[1]!).lex();
  const expr = new Parser(lexed.tokens, Object.keys(contexts), []).parse();
  const ctx = JSON.parse(JSON.stringify(contexts), data.reviver) as data.Dictionary;
  const result = new Evaluator(expr, ctx).evaluate();
  return JSON.parse(JSON.stringify(result, data.replacer)) as unknown;
}

const defaults = { needs: { plan: { outputs: {} } }, matrix: {}, vars: {}, github: {} };

describe('runner reach: the reusable workflow', () => {
  it('takes one runs-on input (a label or a JSON array of labels), defaulting to a hosted runner', () => {
    const input = reusable.on?.workflow_call?.inputs?.['runs-on'] as { type: string; default: string };
    expect(input).toMatchObject({ type: 'string', default: 'ubuntu-latest' });
  });

  it.each(Object.keys(reusable.jobs))('job %s runs where inputs.runs-on says when no tier names runners', (name) => {
    const runsOn = reusable.jobs[name]!['runs-on'];
    expect(typeof runsOn === 'string' && runsOn.includes('inputs.runs-on'), String(runsOn)).toBe(true);
    const ctx = (runs: string) => ({ ...defaults, inputs: { 'runs-on': runs } });
    expect(evaluate(runsOn, ctx('ubuntu-latest'))).toBe('ubuntu-latest');
    expect(evaluate(runsOn, ctx('fleet-runner'))).toBe('fleet-runner');
    expect(evaluate(runsOn, ctx('["self-hosted", "fleet"]'))).toEqual(['self-hosted', 'fleet']);
  });

  // Which plan output (or matrix key) holds the runners of the tier each job touches.
  const fromTier: Record<string, (labels: string[]) => Record<string, unknown>> = {
    canary: (l) => ({ needs: { plan: { outputs: { 'canary-runs-on': JSON.stringify(l) } } } }),
    'analyze-canary': (l) => ({ needs: { plan: { outputs: { 'analyze-runs-on': JSON.stringify(l) } } } }),
    promote: (l) => ({ needs: { plan: { outputs: { 'promote-runs-on': JSON.stringify(l) } } } }),
    waves: (l) => ({ matrix: { wave: 'eu/1', wait: false, 'runs-on': l } }),
    finalize: (l) => ({ needs: { plan: { outputs: { 'finalize-runs-on': JSON.stringify(l) } } } }),
  };

  it.each(Object.keys(fromTier))("job %s runs on its tier's runners when the tier names them", (name) => {
    const runsOn = reusable.jobs[name]!['runs-on'];
    const tier = fromTier[name]!(['self-hosted', 'eu-fleet']);
    for (const runs of ['ubuntu-latest', '["self-hosted","default"]']) {
      expect(evaluate(runsOn, { ...defaults, inputs: { 'runs-on': runs }, ...tier })).toEqual([
        'self-hosted',
        'eu-fleet',
      ]);
    }
  });

  it('the plan job exposes every per-tier output the jobs read', () => {
    const outputs = (reusable.jobs.plan as { outputs: Record<string, string> }).outputs;
    for (const key of ['canary-runs-on', 'analyze-runs-on', 'promote-runs-on', 'finalize-runs-on', 'waves']) {
      expect(outputs[key]).toBe(`\${{ steps.plan.outputs.${key} }}`);
    }
    const action = parse(readFileSync(join(ROOT, 'actions/plan/action.yml'), 'utf8')) as {
      outputs: Record<string, unknown>;
    };
    for (const key of ['canary-runs-on', 'analyze-runs-on', 'promote-runs-on', 'finalize-runs-on']) {
      expect(action.outputs[key], key).toBeDefined();
    }
  });
});

describe('runner reach: the example workflows', () => {
  it.each(EXAMPLES)('%s hard-codes no runner for any job', (file) => {
    const wf = read(`examples/workflows/${file}`);
    for (const [name, job] of Object.entries(wf.jobs)) {
      if (job.uses) continue; // a job calling the reusable workflow has no runs-on: it passes one
      expect(String(job['runs-on']), `${file} job ${name}`).toMatch(/\$\{\{.*vars\.FLEETGATE_(PR_)?RUNS_ON/);
    }
  });

  it.each(['fleetgate-decide.yml', 'fleetgate-rollback.yml'])(
    '%s (which touches the fleet) runs on FLEETGATE_RUNS_ON: a label, a JSON array, or hosted when unset',
    (file) => {
      const job = Object.values(read(`examples/workflows/${file}`).jobs)[0]!;
      const on = (v?: string) =>
        evaluate(job['runs-on'], { ...defaults, vars: v === undefined ? {} : { FLEETGATE_RUNS_ON: v } });
      expect(on()).toBe('ubuntu-latest');
      expect(on('fleet-runner')).toBe('fleet-runner');
      expect(on('["self-hosted","fleet"]')).toEqual(['self-hosted', 'fleet']);
    },
  );

  it('the rollout example passes FLEETGATE_RUNS_ON to the reusable workflow', () => {
    const wf = read('examples/workflows/fleetgate-rollout.yml');
    const caller = Object.values(wf.jobs).find((j) => j.uses?.includes('/.github/workflows/rollout.yml@'))!;
    expect(evaluate(caller.with?.['runs-on'], { ...defaults })).toBe('ubuntu-latest');
    expect(evaluate(caller.with?.['runs-on'], { ...defaults, vars: { FLEETGATE_RUNS_ON: '["a","b"]' } })).toBe(
      '["a","b"]',
    );
  });

  it('the PR plan runs on FLEETGATE_PR_RUNS_ON for its own branches, hosted for forks, and can skip the probe', () => {
    const wf = read('examples/workflows/fleetgate-pr.yml');
    const job = wf.jobs.plan!;
    const on = (head: string | null, v?: string) =>
      evaluate(job['runs-on'], {
        ...defaults,
        github: {
          repository: 'acme/fleet',
          event: { pull_request: { head: { repo: head === null ? null : { full_name: head } } } },
        },
        vars: v === undefined ? {} : { FLEETGATE_PR_RUNS_ON: v },
      });
    expect(on('acme/fleet')).toBe('ubuntu-latest');
    expect(on('acme/fleet', 'fleet-runner')).toBe('fleet-runner');
    expect(on('acme/fleet', '["self-hosted","fleet"]')).toEqual(['self-hosted', 'fleet']);
    expect(on('someone/fleet', 'fleet-runner')).toBe('ubuntu-latest');
    expect(on(null, 'fleet-runner')).toBe('ubuntu-latest'); // a deleted fork
    const plan = (job.steps ?? []).find((s) => s.uses?.startsWith('fleetgate/fleetgate/actions/plan@')) as {
      with: Record<string, unknown>;
    };
    expect(evaluate(plan.with.preflight, { ...defaults })).toBe(true);
    expect(evaluate(plan.with.preflight, { ...defaults, vars: { FLEETGATE_PR_PREFLIGHT: 'false' } })).toBe(false);
  });
});
