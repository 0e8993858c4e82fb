/**
 * Runner reach (issue 12, item 11): no workflow that touches the fleet hard-codes a runner.
 * Every job of the reusable workflow and of the example workflows takes its runner from an
 * input or a repository variable, and a tier's own runners (`tiers[].runsOn`, written by the
 * plan job per wave and per job) win over the workflow's for the jobs that touch that tier.
 * The `runs-on:` expressions are evaluated with GitHub's own expression engine
 * (`@actions/expressions`, which `@actions/workflow-parser` uses), so what a runner would be
 * asked for is checked, not only the text.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** `name<<delim … delim` and `name=value` lines of a GITHUB_OUTPUT file. */
function readOutputs(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([\w-]+)<<(.+)$/.exec(lines[i]!);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2]!, i + 1);
      out[heredoc[1]!] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (/^[\w-]+=/.test(lines[i]!)) {
      const [k, ...v] = lines[i]!.split('=');
      out[k!] = v.join('=');
    }
  }
  return out;
}

describe('runner reach: from the spec through the plan action to each job', () => {
  it("each job of the reusable workflow runs on its tier's runners, as the plan command outputs them", () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetgate-runs-on-'));
    mkdirSync(join(dir, 'rollouts'));
    const targets = ['eu-1', 'eu-2', 'eu-3', 'us-1', 'us-2', 'us-3']
      .map((id) => `    - { id: ${id}, address: 127.0.0.1:9, labels: { region: ${id.slice(0, 2)} } }`)
      .join('\n');
    writeFileSync(
      join(dir, 'rollouts/svc.yaml'),
      `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: svc
component: c
version: 1.1.0
inventory:
  targets:
${targets}
tiers:
  - { name: eu, select: { region: eu }, runsOn: [self-hosted, eu-fleet], strategy: { canary: 1, maxUnavailable: 1, observe: 0s } }
  - { name: us, select: { region: us }, runsOn: us-fleet, strategy: { maxUnavailable: 1, observe: 0s } }
steps:
  version: { http: { url: 'http://{{target.address}}/version', json: version } }
  upgrade: { http: { method: POST, url: 'http://{{target.address}}/upgrade' } }
  verify: { http: { url: 'http://{{target.address}}/healthz' } }
gates: { canary: svc-canary, promote: svc-production }
`,
    );
    const outFile = join(dir, 'out.txt');
    writeFileSync(outFile, '');
    const r = spawnSync(
      process.execPath,
      [join(ROOT, 'dist/cli.js'), 'github', 'plan', 'rollouts/svc.yaml', '--state-backend', 'local'],
      {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, GITHUB_OUTPUT: outFile, GITHUB_STEP_SUMMARY: join(dir, 's.md') },
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const outputs = readOutputs(outFile);
    const needs = { plan: { outputs } };
    const inputs = { 'runs-on': 'ubuntu-latest' };
    const on = (job: string, matrix: unknown = {}) =>
      evaluate(reusable.jobs[job]!['runs-on'], { ...defaults, inputs, needs, matrix });
    const EU = ['self-hosted', 'eu-fleet'];
    expect(on('plan')).toBe('ubuntu-latest');
    expect(on('preflight')).toBe('ubuntu-latest');
    expect(on('canary')).toEqual(EU);
    expect(on('analyze-canary')).toEqual(EU);
    expect(on('promote')).toEqual(EU); // the promote job runs eu/1
    const matrix = JSON.parse(outputs.waves!) as { wave: string }[];
    // eu/canary (canary job), eu/1 (promote job), then the us tier's canary and wave in the matrix.
    expect(matrix.map((m) => [m.wave, on('waves', m)])).toEqual([
      ['us/canary', ['us-fleet']],
      ['us/1', ['us-fleet']],
    ]);
    expect(on('finalize')).toEqual(['us-fleet']);
  });
});
