/**
 * Secrets reach the jobs (issue 12, item 1): the reusable workflow declares the secrets it
 * takes, every step that touches the fleet or a metric backend maps each of them through its
 * own `env:` (composite actions have no `secrets` context, and a caller's `env` does not reach a
 * called workflow), `secrets.` appears nowhere else (not in `with:`, `run:` or a job's `env`),
 * and the example caller passes them with `secrets: inherit`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from './workflow-files.js';

type Step = { uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, unknown> };
type Job = { uses?: string; secrets?: unknown; env?: unknown; steps?: Step[] };
type Workflow = {
  on: { workflow_call?: { secrets?: Record<string, { required?: boolean }> } };
  jobs: Record<string, Job>;
};

/** Our actions that probe targets, run steps on them or query metric backends. */
const FLEET_ACTIONS = /^fleetgate\/fleetgate\/actions\/(preflight|wave|analyze|rollback|decide)@/;

/**
 * A step that reaches targets or metric backends: a fleet action, or a plan with preflight (it
 * probes) — `true`, or an expression such as the PR example's `vars.FLEETGATE_PR_PREFLIGHT` switch.
 */
function touchesFleet(s: Step): boolean {
  if (!s.uses) return false;
  if (FLEET_ACTIONS.test(s.uses)) return true;
  return (
    /^fleetgate\/fleetgate\/actions\/plan@/.test(s.uses) &&
    s.with?.preflight !== undefined &&
    `${s.with.preflight as string | boolean}` !== 'false'
  );
}

function read(path: string): { text: string; doc: Workflow } {
  const text = readFileSync(join(ROOT, path), 'utf8');
  return { text, doc: parse(text) as Workflow };
}

/** Every `${{ secrets.X }}` in `text` with the line it is on. */
function secretReferences(text: string): { line: number; text: string }[] {
  return text
    .split('\n')
    .map((t, i) => ({ line: i + 1, text: t }))
    .filter((l) => /\bsecrets\./.test(l.text) && !/^\s*#/.test(l.text));
}

/** Steps of `doc` that use a fleet-touching action, and whether each maps every secret in `names`. */
function unmapped(doc: Workflow, names: string[]): { fleetJobs: string[]; missing: string[] } {
  const fleetJobs: string[] = [];
  const missing: string[] = [];
  for (const [jobName, job] of Object.entries(doc.jobs)) {
    const steps = (job.steps ?? []).filter((s) => touchesFleet(s));
    if (steps.length > 0) fleetJobs.push(jobName);
    for (const step of steps)
      for (const name of names)
        if (step.env?.[name] !== `\${{ secrets.${name} }}`)
          missing.push(`${jobName}: ${step.uses} does not map ${name}`);
  }
  return { fleetJobs, missing };
}

describe('secrets in the reusable workflow', () => {
  const { text, doc } = read('.github/workflows/rollout.yml');
  const declared = Object.keys(doc.on.workflow_call?.secrets ?? {});

  it('declares the named secrets and the JSON bundle, none of them required', () => {
    expect(declared).toEqual(
      expect.arrayContaining(['FLEETGATE_SECRETS', 'PROM_TOKEN', 'AGENT_ADMIN_TOKEN', 'SSH_PRIVATE_KEY']),
    );
    for (const name of declared) expect(doc.on.workflow_call?.secrets?.[name]?.required ?? false).toBe(false);
  });

  it('maps every declared secret into every fleet-touching step through env:', () => {
    const { fleetJobs, missing } = unmapped(doc, declared);
    expect(fleetJobs.sort()).toEqual([
      'analyze-canary',
      'canary',
      'finalize',
      'preflight',
      'promote',
      'shard-legs',
      'shard-open',
      'shard-verdict',
      'waves',
    ]);
    expect(missing).toEqual([]);
  });

  it('references secrets only as a step env value named like the secret', () => {
    const stray = secretReferences(text).filter(
      (l) => !/^\s+([A-Z_][A-Z0-9_]*): \$\{\{ secrets\.\1 \}\}\s*(#.*)?$/.test(l.text),
    );
    expect(stray).toEqual([]);
    // …and those lines sit in a step's env (indented under a step), not a job's.
    for (const job of Object.values(doc.jobs)) expect(JSON.stringify(job.env ?? {})).not.toMatch(/secrets\./);
    for (const job of Object.values(doc.jobs))
      for (const s of job.steps ?? []) {
        expect(JSON.stringify(s.with ?? {})).not.toMatch(/secrets\./);
        expect(s.run ?? '').not.toMatch(/secrets\./);
      }
  });
});

describe('secrets in the example workflows', () => {
  it('the rollout caller passes them with secrets: inherit', () => {
    const { doc } = read('examples/workflows/fleetgate-rollout.yml');
    const callers = Object.entries(doc.jobs).filter(([, j]) => j.uses?.includes('/.github/workflows/rollout.yml@'));
    expect(callers.map(([n]) => n)).toEqual(['rollout']);
    for (const [, job] of callers) expect(job.secrets).toBe('inherit');
  });

  it.each(['fleetgate-decide.yml', 'fleetgate-rollback.yml', 'fleetgate-pr.yml'])(
    '%s maps them into its fleet-touching steps through env:',
    (name) => {
      const { text, doc } = read(`examples/workflows/${name}`);
      const { fleetJobs, missing } = unmapped(doc, [
        'FLEETGATE_SECRETS',
        'PROM_TOKEN',
        'AGENT_ADMIN_TOKEN',
        'SSH_PRIVATE_KEY',
      ]);
      expect(fleetJobs.length).toBeGreaterThan(0);
      expect(missing).toEqual([]);
      expect(
        secretReferences(text).filter((l) => !/^\s+([A-Z_][A-Z0-9_]*): \$\{\{ secrets\.\1 \}\}\s*(#.*)?$/.test(l.text)),
      ).toEqual([]);
    },
  );
});
